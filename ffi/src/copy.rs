//! The hot path: copies between a mapping and a caller's buffer.
//!
//! A random copy costs a cache miss, and the CPU overlaps the next call's
//! miss with this one only if the instructions between them fit in its
//! reorder window. So each copy does the fewest checks that keep every
//! guarantee: the id, the two numbers, the range, then the copy, with the
//! truncation check on either side of it. Rare cases branch off; nothing may
//! add a call or a branch to the common case (compare the instruction count
//! of the release build's `mmap_read` before and after a change).
//!
//! A copy of up to 64 bytes on a thread with a mark (`marks.rs`) is a leaf
//! function: the mark (a plain store, no locked instruction), the checks, the
//! bytes moved in line, the mark cleared. Larger copies take the same path
//! with `memmove` (`read_large`, `write_large`); threads without a mark take
//! the counted pin.
//!
//! Where in a call the miss starts matters as much: the load that misses
//! holds up every instruction after it, so the next miss must be issued
//! within a reorder window of it. TypeScript therefore calls
//! `mmap_prefetch` before its own checks and before Deno converts the
//! buffer argument; the copy's load then finds its line already on the way.
//! A write needs no hint: a store that misses retires into the store buffer
//! and holds nothing up.

use crate::abi::{check_range, to_usize, whole_pages};
use crate::error::{record, status_of, Failure, Status};
use crate::marks;
use crate::os;
use crate::registry::{
    self, Entry, Release, FLAG_ANONYMOUS, FLAG_PRIVATE, FLAG_SHARED_MEMORY, FLAG_WRITABLE,
};

/// Writes of at least this many bytes may go through the file rather than
/// the mapping (`write_through`). Below it a write is a plain copy: even
/// where the file is faster, the saving is smaller than the residency check
/// it costs. The seed's example writes 65,000-byte chunks.
pub const WRITE_THROUGH_BYTES: usize = 32 * 1024;

/// `value` as a count of bytes when it is a whole number from 0 up; larger
/// than any mapping (and so refused by the caller's range check, which must
/// follow) when it is negative or ±2^63; `None` for fractions, NaN and
/// infinities. One conversion each way and one compare: together with the
/// range check against a mapping's length (below 2^53), this accepts exactly
/// what `abi::to_u64` does, and the cold path says why anything else failed.
#[inline(always)]
fn index(value: f64) -> Option<usize> {
    let whole = truncate(value);
    if whole as f64 != value {
        return None;
    }
    usize::try_from(whole as u64).ok()
}

/// `value` rounded toward zero, as an i64. On x86_64 one `cvttsd2si`,
/// which gives i64::MIN for NaN and out-of-range values (Rust's `as`
/// saturates instead, with four more instructions); elsewhere `as`, whose
/// saturated results (NaN to 0, the extremes) do not convert back to the
/// value either, except ±2^63, which the range check refuses.
#[inline(always)]
fn truncate(value: f64) -> i64 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_cvttsd_si64, _mm_set_sd};
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_cvttsd_si64(_mm_set_sd(value)) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        value as i64
    }
}

/// Asks the CPU to start loading byte `offset` of mapping `id`, ahead of a
/// read from it: TypeScript calls this first on every small read
/// (`Mmap.readSync`, and `Mmap.read` below 64 MiB), so that the line's
/// cache miss overlaps everything between here and the copy (the argument
/// checks on both sides, Deno's handling of the buffer argument) instead
/// of starting at its end. Random 64 B reads of a 1 GiB file measured
/// 0.98–1.90× the raw FFI copy without it (1.44× or more in a quarter of
/// the figures), and 0.63–1.07× with it.
///
/// A hint only, so it checks nothing it cannot cheaply: an id that is not
/// live, an offset that is not a whole number or lies outside the mapping
/// do nothing, and the copy that follows does every check. It pins nothing:
/// a close on another thread may unmap the line meanwhile, and a prefetch
/// of an unmapped address loads nothing and never faults.
#[no_mangle]
pub extern "C" fn mmap_prefetch(id: u32, offset: f64) {
    if let Some(offset) = index(offset) {
        if let Some(at) = registry::hint_address(id, offset) {
            prefetch(at);
        }
    }
}

/// Hints the CPU to start loading the cache line at `addr`. Never faults
/// (an address that is not mapped, or a page lost to truncation, is simply
/// not loaded), so it may run ahead of the checks of its record.
#[inline(always)]
pub(crate) fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it never faults and changes no state
    // the program can see. SSE is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(addr as *const i8);
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: PRFM is a hint: it never faults and touches no register or
    // memory the program can see.
    unsafe {
        std::arch::asm!("prfm pldl1keep, [{0}]", in(reg) addr, options(nostack, readonly, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = addr;
}

/// The common case of a copy, shared by both directions: a live id, two
/// whole numbers, a non-empty range inside the mapping, a buffer. Returns
/// the pinned entry and the start of the range in the mapping, or `None`
/// for the cold path, which repeats every check to say what failed.
#[inline(always)]
fn fast<R: Release>(
    pin: Option<Entry<R>>,
    offset: f64,
    buffer: usize,
    len: f64,
) -> Option<(Entry<R>, usize, usize)> {
    let entry = pin?;
    let (offset, len) = match (index(offset), index(len)) {
        (Some(offset), Some(len)) => (offset, len),
        _ => return None,
    };
    let size = entry.len();
    // `len <= size` first, so that `size - len` cannot wrap.
    if len <= size && offset <= size - len && len != 0 && buffer != 0 {
        let at = entry.base() + offset;
        return Some((entry, at, len));
    }
    None
}

/// The largest copy done in line (`copy_small`) rather than by `memmove`.
const SMALL_COPY: usize = 64;

/// Copies `n` bytes (1 to `SMALL_COPY`) from `src` to `dst`, which may
/// overlap: every byte is loaded before any is stored. In line, so that a
/// small copy's call stays a leaf function: no call to `memmove`, no
/// registers saved around it, and fewer instructions between one call's
/// cache miss and the next (see the module's notes). Two loads from each end
/// of the range, of the widest size that fits, as `memmove` itself does.
///
/// # Safety
/// `src` must be readable and `dst` writable for `n` bytes, `1 <= n <= 64`.
#[inline(always)]
unsafe fn copy_small(src: *const u8, dst: *mut u8, n: usize) {
    use std::ptr::{read_unaligned as load, write_unaligned as store};
    if n >= 32 {
        let a = load(src as *const u128);
        let b = load(src.add(16) as *const u128);
        let c = load(src.add(n - 32) as *const u128);
        let d = load(src.add(n - 16) as *const u128);
        store(dst as *mut u128, a);
        store(dst.add(16) as *mut u128, b);
        store(dst.add(n - 32) as *mut u128, c);
        store(dst.add(n - 16) as *mut u128, d);
    } else if n >= 16 {
        let head = load(src as *const u128);
        let tail = load(src.add(n - 16) as *const u128);
        store(dst as *mut u128, head);
        store(dst.add(n - 16) as *mut u128, tail);
    } else if n >= 8 {
        let head = load(src as *const u64);
        let tail = load(src.add(n - 8) as *const u64);
        store(dst as *mut u64, head);
        store(dst.add(n - 8) as *mut u64, tail);
    } else if n >= 4 {
        let head = load(src as *const u32);
        let tail = load(src.add(n - 4) as *const u32);
        store(dst as *mut u32, head);
        store(dst.add(n - 4) as *mut u32, tail);
    } else {
        // 1 to 3 bytes: the first, the middle and the last (some the same).
        let first = *src;
        let middle = *src.add(n / 2);
        let last = *src.add(n - 1);
        *dst = first;
        *dst.add(n / 2) = middle;
        *dst.add(n - 1) = last;
    }
}

/// Copies `len` bytes at `offset` of mapping `id` into `dst`. All or nothing:
/// a range past the end copies nothing and returns `OutOfRange`. A range that
/// reaches pages lost to a truncation of the file returns `Truncated` (what
/// `dst` then holds is unspecified); any copy on a mapping that lost a page
/// for want of space fails with the out-of-space error
/// (`Failure::out_of_space`).
///
/// The common case is straight-line code around the copy: the pin, the
/// checks of `fast`, the copy, one load of the mapping's loss word, the
/// unpin. Everything else (errors, a mapping the fault guard touched, empty
/// copies) is in `read_cold`.
///
/// # Safety
/// `dst` must point to `len` writable bytes (it may be null when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn mmap_read(id: u32, offset: f64, dst: *mut u8, len: f64) -> i32 {
    let mark = match marks::mine() {
        Some(mark) => mark,
        None => return read_unmarked(id, offset, dst, len),
    };
    if let Some((entry, at, count)) =
        fast(registry::pin_marked(mark, id), offset, dst as usize, len)
    {
        if count <= SMALL_COPY {
            // SAFETY: the range was checked against the live mapping, which
            // cannot be unmapped while `entry` exists; `dst` is valid per the
            // contract. A move (overlap allowed) because `dst` may itself be a
            // view of the mapping. A page lost to truncation faults once and
            // reads as zeros (os/unix/fault.rs); the check after the copy
            // sees it.
            copy_small(at as *const u8, dst, count);
            if entry.untouched() {
                return Status::Ok as i32;
            }
            drop(entry);
            return check_after(id, offset, len, "read");
        }
    }
    read_large(id, offset, dst, len)
}

/// `mmap_read` on a thread without a mark: claims one and starts again, or
/// (marks off here, or this thread's taken) copies with a counted pin.
#[cold]
#[inline(never)]
unsafe fn read_unmarked(id: u32, offset: f64, dst: *mut u8, len: f64) -> i32 {
    if marks::claim().is_some() {
        return mmap_read(id, offset, dst, len);
    }
    read_large(id, offset, dst, len)
}

/// `mmap_read` for copies of more than `SMALL_COPY` bytes: the same path
/// with `memmove`, apart so that the small path makes no call (a copy this
/// large makes the second pin's cost small).
#[inline(never)]
unsafe fn read_large(id: u32, offset: f64, dst: *mut u8, len: f64) -> i32 {
    if let Some((entry, at, count)) = fast(registry::pin(id), offset, dst as usize, len) {
        // SAFETY: as in `mmap_read`.
        std::ptr::copy(at as *const u8, dst, count);
        if entry.untouched() {
            return Status::Ok as i32;
        }
        return after_copy(&entry, at, count, "read");
    }
    read_cold(id, offset, dst, len)
}

/// Copies `len` bytes from `src` into mapping `id` at `offset`. All or
/// nothing, as for `mmap_read`; `Truncated` when the range reaches pages lost
/// to a truncation of the file (those bytes never reach it). A page the file
/// covers but the filesystem cannot allocate (full) loses only that page's
/// bytes; the rest are written, and the call fails out of space.
///
/// Large writes into a file's pages that are not in memory go through the
/// file (`write_through`); the common case is the plain copy, as in
/// `mmap_read`.
///
/// # Safety
/// `src` must point to `len` readable bytes (it may be null when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn mmap_write(id: u32, offset: f64, src: *const u8, len: f64) -> i32 {
    let mark = match marks::mine() {
        Some(mark) => mark,
        None => return write_unmarked(id, offset, src, len),
    };
    if let Some((entry, at, count)) =
        fast(registry::pin_marked(mark, id), offset, src as usize, len)
    {
        if entry.flags() & FLAG_WRITABLE != 0 && count <= SMALL_COPY {
            // SAFETY: as in `mmap_read`; the mapping is writable.
            copy_small(src, at as *mut u8, count);
            if entry.untouched() {
                return Status::Ok as i32;
            }
            drop(entry);
            return check_after(id, offset, len, "write");
        }
    }
    write_large(id, offset, src, len)
}

/// `mmap_write` on a thread without a mark, as `read_unmarked`.
#[cold]
#[inline(never)]
unsafe fn write_unmarked(id: u32, offset: f64, src: *const u8, len: f64) -> i32 {
    if marks::claim().is_some() {
        return mmap_write(id, offset, src, len);
    }
    write_large(id, offset, src, len)
}

/// `mmap_write` for copies of more than `SMALL_COPY` bytes, as `read_large`.
#[inline(never)]
unsafe fn write_large(id: u32, offset: f64, src: *const u8, len: f64) -> i32 {
    if let Some((entry, at, count)) = fast(registry::pin(id), offset, src as usize, len) {
        if entry.flags() & FLAG_WRITABLE != 0 && count < WRITE_THROUGH_BYTES {
            // SAFETY: as in `mmap_read`; the mapping is writable.
            std::ptr::copy(src, at as *mut u8, count);
            if entry.untouched() {
                return Status::Ok as i32;
            }
            return after_copy(&entry, at, count, "write");
        }
    }
    write_cold(id, offset, src, len)
}

/// `after_copy` for the small copies, which hold nothing across the copy
/// but registers: pins the mapping again (its loss word only grows until
/// close) and checks the same range; a handle closed in between is reported
/// as closed. Taking the entry by reference would keep it in memory on the
/// common path too.
#[cold]
#[inline(never)]
fn check_after(id: u32, offset: f64, len: f64, call: &'static str) -> i32 {
    status_of((|| {
        let entry = registry::enter(id, call)?;
        let offset = to_usize(offset, "offset", call)?;
        let len = to_usize(len, "length", call)?;
        if entry.intact(offset, len) {
            return Ok(());
        }
        Err(entry.fault(call))
    })())
}

/// The status of a copy that found the fault guard's mark on its mapping
/// afterwards: success when the range itself is intact and no page was lost
/// for want of space.
#[cold]
#[inline(never)]
fn after_copy(entry: &Entry, at: usize, len: usize, call: &'static str) -> i32 {
    if entry.intact(at - entry.base(), len) {
        return Status::Ok as i32;
    }
    record(entry.fault(call))
}

/// `mmap_read` for everything but the common case: each check in turn, so
/// that the first one that fails is the one reported.
#[cold]
#[inline(never)]
unsafe fn read_cold(id: u32, offset: f64, dst: *mut u8, len: f64) -> i32 {
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
        // SAFETY: as in `mmap_read`.
        std::ptr::copy((entry.base() + offset) as *const u8, dst, len);
        // Checked again after the copy: the copy itself may have faulted.
        if !entry.intact(offset, len) {
            return Err(entry.fault(CALL));
        }
        Ok(())
    })())
}

/// `mmap_write` for everything but the common case: failures, and large
/// writes, which may go through the file.
#[cold]
#[inline(never)]
unsafe fn write_cold(id: u32, offset: f64, src: *const u8, len: f64) -> i32 {
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
        let through = if len >= WRITE_THROUGH_BYTES {
            write_through(&entry, offset, src, len)
        } else {
            0
        };
        // SAFETY: as in `mmap_read`; the mapping is writable. What the file
        // did not take is copied through the mapping.
        std::ptr::copy(
            src.add(through),
            (entry.base() + offset + through) as *mut u8,
            len - through,
        );
        if !entry.intact(offset, len) {
            return Err(entry.fault(CALL));
        }
        Ok(())
    })())
}

/// Writes what it can of `[offset, offset + len)` through the mapped file
/// instead of the mapping, and returns how many bytes (from the start) it
/// wrote; the caller copies the rest.
///
/// Why: a page of a file that is not in memory (a new file's pages, a hole,
/// an evicted page) costs a fault on first touch through a mapping, and the
/// kernel fills it first: with zeros for a hole (Linux: `filemap_fault`,
/// readahead, `zero_user_segments`; 41% of the time of a 1 GiB
/// memcpy into a new file here), from the disk otherwise, only for the copy
/// to overwrite it. A positional write into the same page cache fills the
/// page from the caller's bytes at once: measured here 2.5–5× faster for a
/// new file, and as fast as `Deno.FsFile.writeSync` by construction.
///
/// When: only for shared mappings of a file (the file and the mapping show
/// one page cache on Linux, macOS and Windows local files, so views, other
/// processes and a durable flush see the bytes alike; never for
/// copy-on-write, anonymous or shared memory), only when some page of the
/// range is not in memory (resident pages, say a rewrite of a file in the
/// page cache, are faster to copy into), and only within the file's current
/// size: a positional write past the end would grow a file that was
/// truncated under the mapping, where the copy reports `Truncated`. Any
/// failure (a full disk, a source buffer that faults) ends the write here;
/// the copy through the mapping then does the rest and reports as it
/// always did.
unsafe fn write_through(entry: &Entry, offset: usize, src: *const u8, len: usize) -> usize {
    if entry.flags() & (FLAG_PRIVATE | FLAG_ANONYMOUS | FLAG_SHARED_MEMORY) != 0
        || !entry.untouched()
    {
        return 0;
    }
    let file = match entry.owned().and_then(|owned| owned.file) {
        Some(file) => file,
        None => return 0,
    };
    let (start, span) = whole_pages(entry.base() + offset, len);
    // SAFETY: the span lies within the live, pinned mapping.
    match os::resident(start, span) {
        Ok(pages) if pages * os::page_size() < span => {}
        _ => return 0,
    }
    let position = entry.file_position(offset);
    // SAFETY: `src` points to `len` readable bytes (the caller's contract).
    let bytes = std::slice::from_raw_parts(src, len);
    let written = os::write_within(&file, position, bytes);
    // Each time a write completes a `WRITEBACK_STEP` block of the file, start
    // writing that block to the disk: a file written front to back is then
    // partly on the disk when the flush comes, which otherwise waits for all
    // of it (the seed's example: write a new file, then flush).
    let end = position + written as u64;
    if end / WRITEBACK_STEP > position / WRITEBACK_STEP {
        let block = end / WRITEBACK_STEP * WRITEBACK_STEP - WRITEBACK_STEP;
        os::start_writeback(&file, block, WRITEBACK_STEP);
    }
    written
}

/// Writes through the file start the disk writes of each completed block
/// of this many bytes (see `write_through`).
const WRITEBACK_STEP: u64 = 8 * 1024 * 1024;

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
    fn the_prefetch_hint_takes_any_id_and_offset() {
        let file = TempFile::new("prefetch", b"0123456789");
        let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        let offsets = [
            0.0,
            9.0,
            10.0,
            4096.0,
            -1.0,
            0.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            9_007_199_254_740_991.0,
            1e300,
        ];
        for &offset in &offsets {
            for &who in &[id, 0, u32::MAX, id ^ (1 << 14), id + 1] {
                mmap_prefetch(who, offset);
            }
        }
        // The file shrinks under the mapping: a hint at its lost page must
        // not fault (a load there would raise SIGBUS). Unix only: Windows
        // refuses to truncate a mapped file.
        #[cfg(unix)]
        {
            std::fs::OpenOptions::new()
                .write(true)
                .open(file.path())
                .unwrap()
                .set_len(0)
                .unwrap();
            mmap_prefetch(id, 5.0);
            std::fs::write(file.path(), b"0123456789").unwrap();
        }
        assert_eq!(read_at(id, 0, 10), (0, b"0123456789".to_vec()));
        assert_eq!(mmap_close(id), 0);
        for &offset in &offsets {
            mmap_prefetch(id, offset);
        }
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
    fn small_copies_move_every_length_and_overlap_like_memmove() {
        // Every length the in-line copy takes, from every shift of -70..70
        // within one buffer (overlapping both ways), against ptr::copy.
        let start: Vec<u8> = (0..256u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 1..=super::SMALL_COPY {
            for shift in -70i32..=70 {
                let src = 80usize;
                let dst = (80 + shift) as usize;
                let mut ours = start.clone();
                let mut model = start.clone();
                // SAFETY: both ranges lie inside the 256-byte buffers.
                unsafe {
                    super::copy_small(ours.as_ptr().add(src), ours.as_mut_ptr().add(dst), n);
                    std::ptr::copy(model.as_ptr().add(src), model.as_mut_ptr().add(dst), n);
                }
                assert_eq!(ours, model, "n {} shift {}", n, shift);
            }
        }
    }

    #[test]
    fn the_fast_index_rule_is_the_slow_one() {
        use crate::abi::{to_u64, MAX_INDEX};
        for value in [
            0.0,
            -0.0,
            1.0,
            4096.0,
            MAX_INDEX as f64,
            9_007_199_254_740_992.0,
            18_446_744_073_709_551_616.0,
            -1.0,
            0.5,
            5e-324,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -9_223_372_036_854_775_808.0,
            9_223_372_036_854_775_808.0,
            -1e300,
        ] {
            let slow = to_u64(value, "offset", "read").ok();
            // What the fast rule lets through a range check against any
            // mapping (whose length is at most `MAX_INDEX`).
            let fast = super::index(value)
                .map(|v| v as u64)
                .filter(|&v| v <= MAX_INDEX);
            assert_eq!(fast, slow, "value {}", value);
        }
    }

    #[test]
    fn large_writes_into_pages_not_in_memory_reach_the_file_and_the_mapping() {
        // A sparse file: none of its pages is in memory before the writes.
        let file = TempFile::new("write_through", b"");
        let size = 1 << 20;
        std::fs::OpenOptions::new()
            .write(true)
            .open(file.path())
            .unwrap()
            .set_len(size as u64)
            .unwrap();
        let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        let chunk: Vec<u8> = (0..65_000u32).map(|i| (i % 251) as u8).collect();
        let mut model = vec![0u8; size];
        let mut at = 100;
        while at + chunk.len() <= size {
            // SAFETY: the buffer is live and at least as long as the length passed.
            let status = unsafe { mmap_write(id, at as f64, chunk.as_ptr(), chunk.len() as f64) };
            assert_eq!(status, 0);
            model[at..at + chunk.len()].copy_from_slice(&chunk);
            at += chunk.len();
        }
        // The mapping shows the bytes at once, before any flush.
        let (status, back) = read_at(id, 0, size);
        assert_eq!(status, 0);
        assert!(back == model, "the mapping differs from the model");
        assert_eq!(mmap_flush(id, 0.0, size as f64, FLUSH_DURABLE), 0);
        assert_eq!(mmap_close(id), 0);
        assert!(file.contents() == model, "the file differs from the model");
    }

    #[test]
    fn large_private_writes_never_reach_the_file() {
        let file = TempFile::new("private_large", b"");
        std::fs::OpenOptions::new()
            .write(true)
            .open(file.path())
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        let (status, out) = map(file.path(), MAP_PRIVATE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        let chunk = vec![7u8; 256 * 1024];
        // SAFETY: the buffer is live and at least as long as the length passed.
        let status = unsafe { mmap_write(id, 4096.0, chunk.as_ptr(), chunk.len() as f64) };
        assert_eq!(status, 0);
        let (status, back) = read_at(id, 4096, chunk.len());
        assert_eq!(status, 0);
        assert!(back == chunk);
        assert_eq!(mmap_close(id), 0);
        assert!(file.contents().iter().all(|&b| b == 0));
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
