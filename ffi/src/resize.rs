//! Changing the length of a live mapping (and of its file).

use crate::abi::{to_usize, MAP_PREALLOCATE};
use crate::error::{status_of, Failure, Result, Status};
use crate::os;
use crate::registry::{
    self, Fields, FLAG_ANONYMOUS, FLAG_PRIVATE, FLAG_PROTECTED, FLAG_WHOLE_FILE, FLAG_WRITABLE,
};

/// Why the mapping cannot be resized as it is, if it cannot.
fn refusal(entry: &registry::Entry) -> Result<()> {
    const CALL: &str = "resize";
    let flags = entry.flags();
    if flags & FLAG_PROTECTED != 0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            "the mapping is read-only after protect(\"read\"): call protect(\"readwrite\") first",
        ));
    }
    let file_ok = flags & FLAG_WHOLE_FILE != 0 && flags & FLAG_PRIVATE == 0;
    if flags & FLAG_WRITABLE == 0 || !(file_ok || flags & FLAG_ANONYMOUS != 0) {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            "only read-write mappings of a whole file and anonymous memory can be resized",
        ));
    }
    // A zero-copy view's buffer may be anywhere (moved, sent to a worker,
    // held by an async op): the pages must neither move nor go under it.
    if entry.shared() {
        return Err(registry::busy(CALL));
    }
    Ok(())
}

fn resize_mapping(id: u32, new_len: f64, options: u32) -> Result<(usize, usize)> {
    const CALL: &str = "resize";
    let new_len = to_usize(new_len, "length", CALL)?;
    if options & !MAP_PREALLOCATE != 0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            format!("unknown flags {:#x}", options & !MAP_PREALLOCATE),
        ));
    }
    // What refuses the resize without changing anything is decided before
    // taking exclusive use, which wakes the mapping's sleepers
    // (`wait::cancel`): a refused resize leaves them asleep.
    refusal(&registry::enter(id, CALL)?)?;
    let mut held = registry::exclusive(id, CALL)?;
    let flags = held.flags();
    // Again, now that nothing else can enter: a view's buffer made since.
    if held.shared() {
        return Err(registry::busy(CALL));
    }
    // Zero pages replaced a truncated tail or a page the disk had no room
    // for (os/unix/fault.rs): resizing would carry them along or move them;
    // the caller maps the file again instead.
    if let Some(failure) = held.lost(CALL) {
        return Err(failure);
    }
    let kept = held
        .owned()
        .ok_or_else(|| Failure::new(Status::BadHandle, CALL, "the mapping has no owner record"))?;
    let file = kept.file.as_deref();
    let (old_base, old_len) = (held.map_base(), held.map_len());
    // Allocate the new blocks first, so that a full disk refuses the resize
    // and leaves the file as it was (the resize below then only maps).
    if let Some(file) = file {
        if options & MAP_PREALLOCATE != 0 && new_len > old_len {
            if let Err(failure) = os::preallocate(file, new_len as u64) {
                let _ = file.set_len(old_len as u64);
                return Err(failure);
            }
        }
    }
    let fields = |base: usize| Fields {
        base,
        len: new_len,
        flags,
        map_base: base,
        map_len: new_len,
    };
    let set_file_len = |len: usize| match file {
        Some(file) => file
            .set_len(len as u64)
            .map_err(|err| Failure::os("ftruncate", err)),
        None => Ok(()),
    };
    // An empty mapping has no OS mapping (see `os::map`): growing from 0
    // maps afresh, shrinking to 0 unmaps.
    let base = match (old_len, new_len) {
        _ if old_len == new_len => return Ok((held.base(), old_len)),
        (0, _) => {
            set_file_len(new_len)?;
            // SAFETY: new_len is non-zero here.
            match unsafe { os::map(file, 0, new_len, kept.access) } {
                Ok(base) => base,
                Err(failure) => {
                    // A refused resize leaves the file as it was: empty.
                    let _ = set_file_len(0);
                    return Err(failure);
                }
            }
        }
        (_, 0) => {
            // SAFETY: the mapping is ours and no call is inside it.
            unsafe { os::unmap(old_base, old_len)? };
            held.set(fields(0));
            set_file_len(0)?;
            0
        }
        // SAFETY: both lengths are non-zero; the mapping is idle and ours.
        _ => match unsafe { os::remap(file, old_base, old_len, new_len, kept.access) } {
            Ok(base) => base,
            Err(failed) => {
                if failed.unmapped {
                    held.set(Fields {
                        base: 0,
                        len: 0,
                        flags,
                        map_base: 0,
                        map_len: 0,
                    });
                }
                return Err(failed.failure);
            }
        },
    };
    held.set(fields(base));
    Ok((base, new_len))
}

/// Changes the length of mapping `id` (a read-write mapping of a whole file,
/// which grows or shrinks the file too, or anonymous memory), keeping its
/// contents up to the shorter length; it may move. Writes
/// `[address, length]` to `out`, also on failure (a failure can leave the
/// mapping empty on Windows).
///
/// # Safety
/// `out` must point to two writable `u64`s.
#[no_mangle]
pub unsafe extern "C" fn mmap_resize(id: u32, new_len: f64, out: *mut u64) -> i32 {
    // SAFETY: the caller's contract is `mmap_resize_with`'s.
    mmap_resize_with(id, new_len, 0, out)
}

/// `mmap_resize` with `flags`: `MAP_PREALLOCATE` allocates the file's new
/// blocks before the mapping grows, so that a full disk fails the resize
/// (which then changes nothing) rather than a later write.
///
/// # Safety
/// `out` must point to two writable `u64`s.
#[no_mangle]
pub unsafe extern "C" fn mmap_resize_with(id: u32, new_len: f64, flags: u32, out: *mut u64) -> i32 {
    let result = resize_mapping(id, new_len, flags);
    if !out.is_null() {
        if let Ok(entry) = registry::enter(id, "resize") {
            // SAFETY: per this function's contract.
            out.write(entry.base() as u64);
            out.add(1).write(entry.len() as u64);
        }
    }
    status_of(result.map(|_| ()))
}

#[cfg(test)]
mod tests {
    use crate::test_util::*;
    use crate::*;

    #[test]
    fn anonymous_memory_round_trip_and_resize() {
        let mut out = [0u64; 3];
        // SAFETY: the out array is live and as long as the call needs.
        assert_eq!(unsafe { mmap_anonymous(10_000.0, out.as_mut_ptr()) }, 0);
        let id = out[0] as u32;
        assert_eq!(read_at(id, 0, 10).1, vec![0u8; 10]);
        assert_eq!(
            // SAFETY: the buffer is live and at least as long as the length passed.
            unsafe { mmap_write(id, 9990.0, b"0123456789".as_ptr(), 10.0) },
            0
        );
        let mut moved = [0u64; 2];
        assert_eq!(
            // SAFETY: the out array is live and as long as the call needs.
            unsafe { mmap_resize(id, 1_000_000.0, moved.as_mut_ptr()) },
            0
        );
        assert_eq!(moved[1], 1_000_000);
        assert_eq!(read_at(id, 9990, 10).1, b"0123456789");
        assert_eq!(read_at(id, 999_990, 10).1, vec![0u8; 10]);
        // SAFETY: the out array is live and as long as the call needs.
        assert_eq!(unsafe { mmap_resize(id, 9995.0, moved.as_mut_ptr()) }, 0);
        assert_eq!(read_at(id, 9990, 5).1, b"01234");
        assert_eq!(read_at(id, 9990, 6).0, Status::OutOfRange as i32);
        assert_eq!(mmap_close(id), 0);
    }

    #[test]
    fn resize_grows_and_shrinks_a_whole_file() {
        let file = TempFile::new("resize", b"abcdef");
        let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        let mut moved = [0u64; 2];
        // SAFETY: the out array is live and as long as the call needs.
        assert_eq!(unsafe { mmap_resize(id, 100_000.0, moved.as_mut_ptr()) }, 0);
        // SAFETY: the buffer is live and at least as long as the length passed.
        assert_eq!(unsafe { mmap_write(id, 99_999.0, b"Z".as_ptr(), 1.0) }, 0);
        assert_eq!(file.contents().len(), 100_000);
        // SAFETY: the out array is live and as long as the call needs.
        assert_eq!(unsafe { mmap_resize(id, 3.0, moved.as_mut_ptr()) }, 0);
        assert_eq!(moved[1], 3);
        // SAFETY: the out array is live and as long as the call needs.
        assert_eq!(unsafe { mmap_resize(id, 0.0, moved.as_mut_ptr()) }, 0);
        // SAFETY: the out array is live and as long as the call needs.
        assert_eq!(unsafe { mmap_resize(id, 2.0, moved.as_mut_ptr()) }, 0);
        assert_eq!(mmap_close(id), 0);
        assert_eq!(file.contents(), b"\0\0");
        // Windows into a file and read-only mappings cannot be resized.
        let file = TempFile::new("resize_window", b"abcdef");
        for flags in [MAP_WRITE | MAP_LENGTH, 0, MAP_PRIVATE] {
            let (status, out) = map(file.path(), flags, 0.0, 0.0, 2.0);
            assert_eq!(status, 0);
            assert_eq!(
                // SAFETY: the out array is live and as long as the call needs.
                unsafe { mmap_resize(out[0] as u32, 4.0, moved.as_mut_ptr()) },
                Status::InvalidArgument as i32
            );
            assert_eq!(mmap_close(out[0] as u32), 0);
        }
    }
}
