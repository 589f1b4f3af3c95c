//! The hot path: copies between a mapping and a caller's buffer.
//!
//! A random copy costs a cache miss, and the CPU overlaps the next call's
//! miss with this one only if the instructions between them fit in its
//! reorder window. So each copy does the fewest checks that keep every
//! guarantee: the id, the two numbers, the range, then the copy, with the
//! truncation check on either side of it. Rare cases branch off; nothing may
//! add a call or a branch to the common case (compare the instruction count
//! of the release build's `mmap_read` before and after a change).

use crate::abi::{check_range, to_usize};
use crate::error::{status_of, Failure, Status};
use crate::registry::{self, FLAG_WRITABLE};

/// Copies `len` bytes at `offset` of mapping `id` into `dst`. All or nothing:
/// a range past the end copies nothing and returns `OutOfRange`. A range that
/// reaches pages lost to a truncation of the file returns `Truncated` (what
/// `dst` then holds is unspecified); any copy on a mapping that lost a page
/// for want of space fails with the out-of-space error
/// (`Failure::out_of_space`).
///
/// # Safety
/// `dst` must point to `len` writable bytes (it may be null when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn mmap_read(id: u32, offset: f64, dst: *mut u8, len: f64) -> i32 {
    const CALL: &str = "read";
    status_of((|| {
        let entry = registry::enter(id, CALL)?;
        let offset = to_usize(offset, "offset", CALL)?;
        let len = to_usize(len, "length", CALL)?;
        check_range(offset, len, entry.len(), CALL)?;
        if len == 0 {
            return Ok(());
        }
        if dst.is_null() {
            return Err(Failure::new(
                Status::InvalidArgument,
                CALL,
                "the destination buffer is missing",
            ));
        }
        if !entry.intact(offset, len) {
            return Err(entry.fault(CALL));
        }
        // SAFETY: the range was checked against the live mapping, which cannot
        // be unmapped while `entry` exists; `dst` is valid per the contract.
        // `copy` (memmove) because `dst` may itself be a view of the mapping.
        // A page lost to truncation faults once and reads as zeros
        // (os/unix/fault.rs).
        std::ptr::copy((entry.base() + offset) as *const u8, dst, len);
        // Checked again after the copy: the copy itself may have faulted.
        if !entry.intact(offset, len) {
            return Err(entry.fault(CALL));
        }
        Ok(())
    })())
}

/// Copies `len` bytes from `src` into mapping `id` at `offset`. All or
/// nothing, as for `mmap_read`; `Truncated` when the range reaches pages lost
/// to a truncation of the file (those bytes never reach it). A page the file
/// covers but the filesystem cannot allocate (full) loses only that page's
/// bytes; the rest are written, and the call fails out of space.
///
/// # Safety
/// `src` must point to `len` readable bytes (it may be null when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn mmap_write(id: u32, offset: f64, src: *const u8, len: f64) -> i32 {
    const CALL: &str = "write";
    status_of((|| {
        let entry = registry::enter(id, CALL)?;
        let offset = to_usize(offset, "offset", CALL)?;
        let len = to_usize(len, "length", CALL)?;
        if entry.flags() & FLAG_WRITABLE == 0 {
            return Err(Failure::new(
                Status::ReadOnly,
                CALL,
                "the mapping is read-only",
            ));
        }
        check_range(offset, len, entry.len(), CALL)?;
        if len == 0 {
            return Ok(());
        }
        if src.is_null() {
            return Err(Failure::new(
                Status::InvalidArgument,
                CALL,
                "the source buffer is missing",
            ));
        }
        if !entry.intact(offset, len) {
            return Err(entry.fault(CALL));
        }
        // SAFETY: as in `mmap_read`; the mapping is writable.
        std::ptr::copy(src, (entry.base() + offset) as *mut u8, len);
        if !entry.intact(offset, len) {
            return Err(entry.fault(CALL));
        }
        Ok(())
    })())
}

#[cfg(test)]
mod tests {
    use crate::test_util::*;
    use crate::*;

    #[test]
    fn read_write_round_trip() {
        let file = TempFile::new("round_trip", b"hello world");
        let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        assert_eq!(out[2], 11);
        let mut buf = [0u8; 5];
        // SAFETY: the buffer is live and at least as long as the length passed.
        assert_eq!(unsafe { mmap_read(id, 6.0, buf.as_mut_ptr(), 5.0) }, 0);
        assert_eq!(&buf, b"world");
        // SAFETY: the buffer is live and at least as long as the length passed.
        assert_eq!(unsafe { mmap_write(id, 0.0, b"HELLO".as_ptr(), 5.0) }, 0);
        assert_eq!(mmap_flush(id, 1.0, 3.0, FLUSH_DURABLE), 0);
        assert_eq!(mmap_close(id), 0);
        assert_eq!(file.contents(), b"HELLO world");
        assert_eq!(mmap_close(id), Status::BadHandle as i32);
    }

    #[test]
    fn out_of_range_copies_nothing() {
        let file = TempFile::new("range", b"0123456789");
        let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        let mut buf = [7u8; 4];
        assert_eq!(
            // SAFETY: the buffer is live and at least as long as the length passed.
            unsafe { mmap_read(id, 8.0, buf.as_mut_ptr(), 4.0) },
            Status::OutOfRange as i32
        );
        assert_eq!(buf, [7u8; 4]);
        assert_eq!(
            // SAFETY: the buffer is live and at least as long as the length passed.
            unsafe { mmap_write(id, 7.0, b"abcd".as_ptr(), 4.0) },
            Status::OutOfRange as i32
        );
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(
                // SAFETY: the buffer is live and at least as long as the length passed.
                unsafe { mmap_read(id, bad, buf.as_mut_ptr(), 1.0) },
                Status::InvalidArgument as i32,
                "offset {}",
                bad
            );
        }
        assert_eq!(mmap_close(id), 0);
        assert_eq!(file.contents(), b"0123456789");
    }

    #[test]
    fn offsets_stop_at_max_safe_integer() {
        // The boundary TypeScript uses: 2^53 - 1 is a valid (if out of range)
        // offset, 2^53 is not a valid number at all.
        let file = TempFile::new("max_index", b"0123456789");
        let (status, out) = map(file.path(), 0, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        let mut buf = [0u8; 1];
        assert_eq!(
            // SAFETY: the buffer is live and at least as long as the length passed.
            unsafe { mmap_read(id, MAX_INDEX as f64, buf.as_mut_ptr(), 1.0) },
            Status::OutOfRange as i32
        );
        assert_eq!(
            // SAFETY: the buffer is live and at least as long as the length passed.
            unsafe { mmap_read(id, 9_007_199_254_740_992.0, buf.as_mut_ptr(), 1.0) },
            Status::InvalidArgument as i32
        );
        assert_eq!(mmap_close(id), 0);
    }

    #[test]
    fn read_only_mapping_refuses_writes() {
        let file = TempFile::new("read_only", b"abc");
        let (status, out) = map(file.path(), 0, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        assert_eq!(
            // SAFETY: the buffer is live and at least as long as the length passed.
            unsafe { mmap_write(id, 0.0, b"x".as_ptr(), 1.0) },
            Status::ReadOnly as i32
        );
        assert_eq!(mmap_close(id), 0);
    }

    #[test]
    fn private_writes_never_reach_the_file() {
        let file = TempFile::new("private", b"original");
        let (status, out) = map(file.path(), MAP_PRIVATE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        // SAFETY: the buffer is live and at least as long as the length passed.
        assert_eq!(unsafe { mmap_write(id, 0.0, b"CHANGED!".as_ptr(), 8.0) }, 0);
        let mut buf = [0u8; 8];
        // SAFETY: the buffer is live and at least as long as the length passed.
        assert_eq!(unsafe { mmap_read(id, 0.0, buf.as_mut_ptr(), 8.0) }, 0);
        assert_eq!(&buf, b"CHANGED!");
        assert_eq!(mmap_flush(id, 0.0, 8.0, FLUSH_DURABLE), 0);
        assert_eq!(mmap_close(id), 0);
        assert_eq!(file.contents(), b"original");
    }
}
