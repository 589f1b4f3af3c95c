//! Facts about a live mapping that change or are not kept on the
//! TypeScript side: where its window starts in the file, and how long the
//! file is now.

use crate::error::{status_of, Failure, Status};
use crate::registry;

/// Writes `[offset, file size]` of mapping `id` to `out`: the position in
/// the file of the mapping's first byte, and the file's length now (it may
/// have changed since the mapping was made). For anonymous and shared
/// memory, which have no file here, the offset is 0 and the size is the
/// mapping's length.
///
/// # Safety
/// `out` must point to two writable `f64`s.
#[no_mangle]
pub unsafe extern "C" fn mmap_info(id: u32, out: *mut f64) -> i32 {
    const CALL: &str = "fileSize";
    status_of((|| {
        if out.is_null() {
            return Err(Failure::new(
                Status::InvalidArgument,
                CALL,
                "the output buffer is missing",
            ));
        }
        let entry = registry::enter(id, CALL)?;
        let owned = entry.owned();
        let (offset, size) = match owned.as_ref().and_then(|o| o.file.as_ref().map(|f| (o, f))) {
            Some((owned, file)) => {
                // An empty mapping has no OS mapping: its window starts where
                // the mapping would.
                let inner = match entry.map_base() {
                    0 => 0,
                    map_base => (entry.base() - map_base) as u64,
                };
                let size = file
                    .metadata()
                    .map_err(|err| Failure::os("fstat", err))?
                    .len();
                (owned.offset + inner, size)
            }
            None => (0, entry.len() as u64),
        };
        // SAFETY: per this function's contract.
        out.write(offset as f64);
        out.add(1).write(size as f64);
        Ok(())
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;
    use crate::*;

    fn info(id: u32) -> (i32, [f64; 2]) {
        let mut out = [0f64; 2];
        // SAFETY: `out` holds two f64s.
        let status = unsafe { mmap_info(id, out.as_mut_ptr()) };
        (status, out)
    }

    #[test]
    fn window_offset_and_file_size() {
        let file = TempFile::new("info", &[1u8; 100_000]);
        let (status, out) = map(file.path(), MAP_LENGTH, 0.0, 70_001.0, 10.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        assert_eq!(info(id), (0, [70_001.0, 100_000.0]));
        std::fs::OpenOptions::new()
            .write(true)
            .open(file.path())
            .unwrap()
            .set_len(100_500)
            .unwrap();
        assert_eq!(info(id), (0, [70_001.0, 100_500.0]));
        assert_eq!(mmap_close(id), 0);
        assert_eq!(info(id).0, Status::BadHandle as i32);
    }
}
