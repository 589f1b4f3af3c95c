//! Changing the protection of a live mapping in place: read-only after it
//! was filled, read-write again (memmap2's `make_read_only` / `make_mut`).

use crate::abi::PROTECT_READ_WRITE;
use crate::error::{status_of, Failure, Status};
use crate::os;
use crate::registry::{self, FLAG_PRIVATE, FLAG_PROTECTED, FLAG_WRITABLE};

/// Makes mapping `id` read-only (`PROTECT_READ`) or writable again
/// (`PROTECT_READ_WRITE`), in place: the pages, their contents and views of
/// them stay where they are. Only a mapping opened writable (read-write,
/// copy-on-write, anonymous or shared memory) can be protected; a read-only
/// one is refused with `ReadOnly`. While it is read-only, `mmap_write`
/// refuses with `ReadOnly` and resize with `InvalidArgument`; a store
/// through a view raises SIGSEGV (an access violation on Windows), which
/// ends the process. Waits for calls in progress on other threads (an async
/// copy) to finish first, so none of them faults.
#[no_mangle]
pub extern "C" fn mmap_protect(id: u32, protection: u32) -> i32 {
    const CALL: &str = "protect";
    status_of((|| {
        if protection > PROTECT_READ_WRITE {
            return Err(Failure::new(
                Status::InvalidArgument,
                CALL,
                format!("unknown protection {}", protection),
            ));
        }
        let mut held = registry::exclusive(id, CALL)?;
        let flags = held.flags();
        if flags & (FLAG_WRITABLE | FLAG_PROTECTED) == 0 {
            return Err(Failure::new(
                Status::ReadOnly,
                CALL,
                "the mapping is read-only: only a writable mapping can change its protection",
            ));
        }
        let write = protection == PROTECT_READ_WRITE;
        if write == (flags & FLAG_WRITABLE != 0) {
            return Ok(());
        }
        let (base, len) = (held.map_base(), held.map_len());
        if len > 0 {
            // SAFETY: the whole OS mapping, made by `os::map`, idle and ours.
            unsafe { os::protect(base, len, write, flags & FLAG_PRIVATE != 0)? };
        }
        held.set_flags(if write {
            (flags | FLAG_WRITABLE) & !FLAG_PROTECTED
        } else {
            (flags | FLAG_PROTECTED) & !FLAG_WRITABLE
        });
        Ok(())
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::PROTECT_READ;
    use crate::test_util::*;
    use crate::*;

    #[test]
    fn protect_refuses_writes_until_writable_again() {
        let file = TempFile::new("protect", b"abcdef");
        let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        assert_eq!(mmap_protect(id, PROTECT_READ), 0);
        assert_eq!(mmap_protect(id, PROTECT_READ), 0);
        // SAFETY: live buffers of the lengths passed.
        assert_eq!(
            unsafe { mmap_write(id, 0.0, b"X".as_ptr(), 1.0) },
            Status::ReadOnly as i32
        );
        assert_eq!(read_at(id, 0, 6), (0, b"abcdef".to_vec()));
        // SAFETY: `out` holds two u64s.
        let resized = unsafe { mmap_resize(id, 10.0, [0u64; 2].as_mut_ptr()) };
        assert_eq!(resized, Status::InvalidArgument as i32);
        // SAFETY: `out` holds two u64s.
        let remapped = unsafe { mmap_remap(id, 0.0, 0, [0u64; 2].as_mut_ptr()) };
        assert_eq!(remapped, Status::InvalidArgument as i32);
        assert_eq!(mmap_protect(id, PROTECT_READ_WRITE), 0);
        // SAFETY: live buffers of the lengths passed.
        assert_eq!(unsafe { mmap_write(id, 0.0, b"X".as_ptr(), 1.0) }, 0);
        assert_eq!(mmap_protect(id, 2), Status::InvalidArgument as i32);
        assert_eq!(mmap_close(id), 0);
        assert_eq!(file.contents(), b"Xbcdef");
        assert_eq!(mmap_protect(id, PROTECT_READ), Status::BadHandle as i32);
    }

    #[test]
    fn read_only_mappings_cannot_be_protected() {
        let file = TempFile::new("protect_ro", b"abc");
        let (status, out) = map(file.path(), 0, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        assert_eq!(mmap_protect(id, PROTECT_READ), Status::ReadOnly as i32);
        assert_eq!(
            mmap_protect(id, PROTECT_READ_WRITE),
            Status::ReadOnly as i32
        );
        assert_eq!(mmap_close(id), 0);
    }

    #[test]
    fn private_and_anonymous_mappings_can_be_protected() {
        let file = TempFile::new("protect_private", b"abc");
        let (status, out) = map(file.path(), MAP_PRIVATE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        // SAFETY: live buffers of the lengths passed.
        assert_eq!(unsafe { mmap_write(id, 0.0, b"X".as_ptr(), 1.0) }, 0);
        assert_eq!(mmap_protect(id, PROTECT_READ), 0);
        assert_eq!(read_at(id, 0, 3), (0, b"Xbc".to_vec()));
        assert_eq!(mmap_protect(id, PROTECT_READ_WRITE), 0);
        // SAFETY: live buffers of the lengths passed.
        assert_eq!(unsafe { mmap_write(id, 1.0, b"Y".as_ptr(), 1.0) }, 0);
        assert_eq!(read_at(id, 0, 3), (0, b"XYc".to_vec()));
        assert_eq!(mmap_close(id), 0);
        assert_eq!(file.contents(), b"abc");

        let mut out = [0u64; 3];
        // SAFETY: `out` holds three u64s.
        assert_eq!(unsafe { mmap_anonymous(8192.0, out.as_mut_ptr()) }, 0);
        let id = out[0] as u32;
        assert_eq!(mmap_protect(id, PROTECT_READ), 0);
        assert_eq!(mmap_protect(id, PROTECT_READ_WRITE), 0);
        // SAFETY: live buffers of the lengths passed.
        assert_eq!(unsafe { mmap_write(id, 8191.0, b"Z".as_ptr(), 1.0) }, 0);
        assert_eq!(mmap_close(id), 0);
    }
}
