//! Operations on the pages of a mapping rather than its bytes: flush to the
//! file, advice to the kernel, residency, and locking in memory. Each one
//! widens its range to whole pages (`abi::page_span`, `abi::whole_pages`).

use crate::abi::{
    check_range, page_span, to_usize, whole_pages, ADVICE, FLUSH_ASYNC, FLUSH_DURABLE,
};
use crate::error::{status_of, Failure, Status};
use crate::os;
use crate::registry::{self, FLAG_ANONYMOUS, FLAG_PRIVATE};

/// Writes modified pages in `[offset, offset + len)` of mapping `id` back to
/// its file. `mode` is `FLUSH_SYNC` (msync MS_SYNC / FlushViewOfFile),
/// `FLUSH_ASYNC` (schedule only) or `FLUSH_DURABLE` (sync, then flush the file
/// to the device: fsync, F_FULLFSYNC on macOS, FlushFileBuffers on Windows).
/// Unaligned ranges are widened to whole pages. A range that reaches pages
/// lost to a truncation of the file returns `Truncated` after flushing the
/// rest: what was written there (through a view) never reaches the file. A
/// mapping that lost a page for want of space (`Failure::out_of_space`)
/// fails so after flushing, whatever the range.
#[no_mangle]
pub extern "C" fn mmap_flush(id: u32, offset: f64, len: f64, mode: u32) -> i32 {
    const CALL: &str = "flush";
    status_of((|| {
        let entry = registry::enter(id, CALL)?;
        let offset = to_usize(offset, "offset", CALL)?;
        let len = to_usize(len, "length", CALL)?;
        if mode > FLUSH_DURABLE {
            return Err(Failure::new(
                Status::InvalidArgument,
                CALL,
                format!("unknown flush mode {}", mode),
            ));
        }
        check_range(offset, len, entry.len(), CALL)?;
        // Private mappings never write to their file, and an empty range has
        // nothing to write (and an empty mapping no address at all).
        if len > 0 && entry.flags() & FLAG_PRIVATE == 0 {
            let (start, bytes) = whole_pages(entry.base() + offset, len);
            // SAFETY: the page-aligned range lies within the live mapping,
            // because the mapping itself starts on a page boundary.
            unsafe { os::flush(start, bytes, mode != FLUSH_ASYNC)? };
        }
        if mode == FLUSH_DURABLE {
            if let Some(owned) = entry.owned() {
                if let Some(file) = owned.file {
                    // Which mappings have anything to sync is an OS rule.
                    os::sync(&file, owned.access)?;
                }
            }
        }
        if !entry.intact(offset, len) {
            return Err(entry.fault(CALL));
        }
        Ok(())
    })())
}

/// Tells the kernel how `[offset, offset + len)` of mapping `id` will be
/// used: `advice` indexes `ADVICE` (normal, sequential, random, willneed,
/// dontneed, hugepage, nohugepage). "dontneed" on anonymous or copy-on-write
/// memory would discard its contents, so there it is accepted and ignored.
/// The huge-page advice is the OS's to honour (`os::advise`).
#[no_mangle]
pub extern "C" fn mmap_advise(id: u32, offset: f64, len: f64, advice: u32) -> i32 {
    const CALL: &str = "advise";
    status_of((|| {
        let entry = registry::enter(id, CALL)?;
        entry.check_space(CALL)?;
        let (_, advice) = *ADVICE.get(advice as usize).ok_or_else(|| {
            Failure::new(
                Status::InvalidArgument,
                CALL,
                format!("unknown advice {}", advice),
            )
        })?;
        let span = page_span(entry.base(), entry.len(), offset, len, CALL)?;
        let discards = entry.flags() & (FLAG_ANONYMOUS | FLAG_PRIVATE) != 0;
        match span {
            // madvise(2): after MADV_DONTNEED, accesses "will result in either
            // repopulating the memory contents from the up-to-date contents of
            // the underlying mapped file ... or zero-fill-on-demand pages for
            // anonymous private mappings": a private copy's changes are gone.
            Some(_) if advice == os::Advice::DontNeed && discards => Ok(()),
            // SAFETY: the span lies within the live, pinned mapping.
            Some((start, bytes)) => unsafe { os::advise(start, bytes, advice) },
            None => Ok(()),
        }
    })())
}

/// Counts the bytes of `[offset, offset + len)` of mapping `id` that are in
/// memory (whole pages, clipped to the range) and writes it to `out`.
///
/// # Safety
/// `out` must point to one writable `f64`.
#[no_mangle]
pub unsafe extern "C" fn mmap_resident(id: u32, offset: f64, len: f64, out: *mut f64) -> i32 {
    const CALL: &str = "residency";
    status_of((|| {
        let entry = registry::enter(id, CALL)?;
        entry.check_space(CALL)?;
        let span = page_span(entry.base(), entry.len(), offset, len, CALL)?;
        let bytes = match span {
            Some((start, span_len)) => {
                // SAFETY: the span lies within the live, pinned mapping.
                let pages = os::resident(start, span_len)?;
                (pages * os::page_size()).min(to_usize(len, "length", CALL)?)
            }
            None => 0,
        };
        if out.is_null() {
            return Err(Failure::new(
                Status::InvalidArgument,
                CALL,
                "the result buffer is missing",
            ));
        }
        // SAFETY: per this function's contract.
        out.write(bytes as f64);
        Ok(())
    })())
}

/// Pins (`lock != 0`) or releases the pages of `[offset, offset + len)` of
/// mapping `id` in memory.
#[no_mangle]
pub extern "C" fn mmap_lock(id: u32, offset: f64, len: f64, lock: u32) -> i32 {
    let call = if lock != 0 { "lock" } else { "unlock" };
    status_of((|| {
        let entry = registry::enter(id, call)?;
        entry.check_space(call)?;
        match page_span(entry.base(), entry.len(), offset, len, call)? {
            // SAFETY: the span lies within the live, pinned mapping.
            Some((start, bytes)) if lock != 0 => unsafe { os::lock(start, bytes) },
            // SAFETY: as above.
            Some((start, bytes)) => unsafe { os::unlock(start, bytes) },
            None => Ok(()),
        }
    })())
}

#[cfg(test)]
mod tests {
    use crate::test_util::*;
    use crate::*;

    #[test]
    fn advise_resident_and_lock() {
        let contents = vec![7u8; 64 * 1024];
        let file = TempFile::new("advise", &contents);
        let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        for advice in 0..5 {
            assert_eq!(mmap_advise(id, 1.0, 5000.0, advice), 0, "advice {}", advice);
        }
        assert_eq!(mmap_advise(id, 0.0, 1.0, 7), Status::InvalidArgument as i32);
        assert_eq!(mmap_advise(id, 0.0, 70_000.0, 0), Status::OutOfRange as i32);
        let _ = read_at(id, 0, 64 * 1024);
        let mut resident = 0.0f64;
        // SAFETY: `resident` is a live f64.
        assert_eq!(unsafe { mmap_resident(id, 0.0, 65536.0, &mut resident) }, 0);
        assert_eq!(resident, 65536.0);
        // SAFETY: `resident` is a live f64.
        assert_eq!(unsafe { mmap_resident(id, 10.0, 100.0, &mut resident) }, 0);
        assert_eq!(resident, 100.0);
        assert_eq!(mmap_lock(id, 0.0, 4096.0, 1), 0);
        assert_eq!(mmap_lock(id, 0.0, 4096.0, 0), 0);
        assert_eq!(mmap_close(id), 0);
        assert_eq!(mmap_advise(id, 0.0, 1.0, 0), Status::BadHandle as i32);
    }
}
