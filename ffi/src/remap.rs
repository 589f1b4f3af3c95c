//! Mapping a file again at its current length, for a reader that follows a
//! writer (`mmap_remap`). Unlike `resize` it never changes the file.

use crate::abi::{to_usize, MAP_LENGTH};
use crate::error::{status_of, Failure, Result, Status};
use crate::os;
use crate::registry::{
    self, Fields, FLAG_ANONYMOUS, FLAG_PRIVATE, FLAG_PROTECTED, FLAG_SHARED_MEMORY,
};

fn remap_mapping(id: u32, length: f64, flags: u32) -> Result<()> {
    const CALL: &str = "remap";
    if flags & !MAP_LENGTH != 0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            format!("unknown flags {:#x}", flags & !MAP_LENGTH),
        ));
    }
    let wanted = if flags & MAP_LENGTH != 0 {
        Some(to_usize(length, "length", CALL)?)
    } else {
        None
    };
    // The kind of mapping never changes: refuse the ones that cannot be
    // remapped before taking exclusive use, which wakes the mapping's
    // sleepers (`wait::cancel`).
    let entry = registry::enter(id, CALL)?;
    let kind = entry.flags();
    if kind & (FLAG_ANONYMOUS | FLAG_SHARED_MEMORY) != 0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            "only file mappings can be remapped: anonymous and shared memory have no file to follow (use resize)",
        ));
    }
    if kind & FLAG_PRIVATE != 0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            "copy-on-write mappings cannot be remapped: their changes would be lost",
        ));
    }
    // A fresh mapping would be writable again behind the protection's back.
    if kind & FLAG_PROTECTED != 0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            "the mapping is read-only after protect(\"read\"): call protect(\"readwrite\") first",
        ));
    }
    // As in `resize`: a view's buffer may be anywhere, and its pages must
    // not go under it; looked at before and again after taking exclusive
    // use (a view made in between).
    if entry.shared() {
        return Err(registry::busy(CALL));
    }
    drop(entry);
    let mut held = registry::exclusive(id, CALL)?;
    if held.shared() {
        return Err(registry::busy(CALL));
    }
    let kept = held
        .owned()
        .ok_or_else(|| Failure::new(Status::BadHandle, CALL, "the mapping has no owner record"))?;
    let file = kept
        .file
        .as_deref()
        .ok_or_else(|| Failure::new(Status::InvalidArgument, CALL, "the mapping has no file"))?;
    let (old_base, old_len) = (held.map_base(), held.map_len());
    // Where the caller's window starts in the file (see `Owned::offset`).
    let start = if old_base == 0 {
        kept.offset
    } else {
        kept.offset + (held.base() - old_base) as u64
    };
    let file_len = file
        .metadata()
        .map_err(|err| Failure::os("fstat", err))?
        .len();
    let len = match wanted {
        Some(len) => {
            if start
                .checked_add(len as u64)
                .map_or(true, |end| end > file_len)
            {
                return Err(Failure::new(
                    Status::OutOfRange,
                    CALL,
                    format!(
                        "{} bytes from offset {} reach past the end of the file ({} bytes); remap does not grow the file (resize does)",
                        len, start, file_len
                    ),
                ));
            }
            len
        }
        None => usize::try_from(file_len.saturating_sub(start)).map_err(|_| {
            Failure::new(
                Status::OutOfRange,
                CALL,
                "the file is larger than the address space",
            )
        })?,
    };
    let granularity = os::allocation_granularity() as u64;
    let aligned = start - start % granularity;
    let delta = (start - aligned) as usize;
    // The new mapping is made before the old one goes, so a refusal (out of
    // address space, say) leaves the handle as it was.
    let (map_base, map_len, offset) = if len == 0 {
        (0, 0, start)
    } else {
        let map_len = len + delta;
        // SAFETY: map_len is non-zero and `aligned` a multiple of the
        // allocation granularity.
        let base = unsafe { os::map(Some(file), aligned, map_len, kept.access)? };
        (base, map_len, aligned)
    };
    if old_len != 0 {
        // SAFETY: the mapping is ours, no call is inside it and no buffer
        // references it (checked above).
        if let Err(failure) = unsafe { os::unmap(old_base, old_len) } {
            if map_len != 0 {
                // SAFETY: just mapped above and never published.
                let _ = unsafe { os::unmap(map_base, map_len) };
            }
            return Err(failure);
        }
    }
    held.set(Fields {
        base: if map_base == 0 { 0 } else { map_base + delta },
        len,
        flags: kind,
        map_base,
        map_len,
    });
    held.set_offset(offset);
    // Fresh pages of the file: whatever the fault guard replaced is gone.
    held.clear_lost();
    Ok(())
}

/// Maps mapping `id` (a file mapping, read-only or read-write, whole or a
/// window) again: `length` bytes from the same file offset when `flags` has
/// `MAP_LENGTH`, else to the file's current end. The file is not changed.
/// The mapping may move. Writes `[address, length]` to `out`, also on
/// failure.
///
/// # Safety
/// `out` must point to two writable `u64`s.
#[no_mangle]
pub unsafe extern "C" fn mmap_remap(id: u32, length: f64, flags: u32, out: *mut u64) -> i32 {
    let result = remap_mapping(id, length, flags);
    if !out.is_null() {
        if let Ok(entry) = registry::enter(id, "remap") {
            // SAFETY: per this function's contract.
            out.write(entry.base() as u64);
            out.add(1).write(entry.len() as u64);
        }
    }
    status_of(result)
}
