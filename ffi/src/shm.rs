//! Named shared memory: POSIX `shm_open` on Linux and macOS, a named
//! paging-file section on Windows (the differences live in `os/`).

use crate::abi::{shm_name, to_u64, write_opened, Opened, SHM_CREATE, SHM_EXCLUSIVE};
use crate::error::{status_of, Failure, Status};
use crate::open::publish;
use crate::os;
use crate::registry::{Fields, Owned, FLAG_SHARED_MEMORY, FLAG_WRITABLE};

/// Opens (or with `SHM_CREATE`, creates; with `SHM_EXCLUSIVE` too, only
/// creates) named shared memory, grows it to at least `size` bytes where the
/// system allows, and maps it read-write: POSIX `shm_open` on Linux and
/// macOS, a named paging-file section on Windows. Writes
/// `[id, address, length]` to `out`.
///
/// # Safety
/// `name` must point to `name_len` readable bytes; `out` must point to three
/// writable `u64`s.
#[no_mangle]
pub unsafe extern "C" fn mmap_shm_open(
    name: *const u8,
    name_len: u32,
    flags: u32,
    size: f64,
    out: *mut u64,
) -> i32 {
    const CALL: &str = "openShared";
    status_of((|| {
        // SAFETY: per this function's contract.
        let name = shm_name(name, name_len, CALL)?;
        if flags & !(SHM_CREATE | SHM_EXCLUSIVE) != 0 {
            return Err(Failure::new(
                Status::InvalidArgument,
                CALL,
                format!("unknown flags {:#x}", flags),
            ));
        }
        let size = to_u64(size, "size", CALL)?;
        let (base, len) = os::shm_map(
            name,
            flags & SHM_CREATE != 0,
            flags & SHM_EXCLUSIVE != 0,
            size,
        )?;
        let id = publish(
            Fields {
                base,
                len,
                flags: FLAG_WRITABLE | FLAG_SHARED_MEMORY,
                map_base: base,
                map_len: len,
            },
            Owned {
                file: None,
                access: os::Access {
                    write: true,
                    private: false,
                    populate: false,
                },
                offset: 0,
            },
        )?;
        // SAFETY: per this function's contract.
        write_opened(out, &Opened { id, base, len })
    })())
}

/// Removes a shared memory name (existing mappings stay valid). On Windows
/// there is nothing to remove: a name lasts while any handle or view does.
///
/// # Safety
/// `name` must point to `name_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn mmap_shm_unlink(name: *const u8, name_len: u32) -> i32 {
    status_of((|| {
        // SAFETY: per this function's contract.
        os::shm_unlink(shm_name(name, name_len, "unlinkShared")?)
    })())
}

#[cfg(test)]
mod tests {
    use crate::test_util::*;
    use crate::*;

    #[test]
    fn shared_memory_is_shared_between_mappings() {
        let name = format!("mmap_ffi_test_{}", std::process::id());
        let mut a = [0u64; 3];
        let mut b = [0u64; 3];
        // SAFETY: the name bytes and the three-u64 out array are live.
        let open = |flags: u32, size: f64, out: &mut [u64; 3]| unsafe {
            mmap_shm_open(
                name.as_ptr(),
                name.len() as u32,
                flags,
                size,
                out.as_mut_ptr(),
            )
        };
        assert_eq!(open(SHM_CREATE | SHM_EXCLUSIVE, 8192.0, &mut a), 0);
        assert_eq!(
            open(SHM_CREATE | SHM_EXCLUSIVE, 8192.0, &mut b),
            Status::Os as i32
        );
        assert_eq!(open(0, 0.0, &mut b), 0);
        assert!(b[2] >= 8192);
        assert_eq!(
            // SAFETY: the buffer is live and at least as long as the length passed.
            unsafe { mmap_write(a[0] as u32, 100.0, b"ping".as_ptr(), 4.0) },
            0
        );
        assert_eq!(read_at(b[0] as u32, 100, 4).1, b"ping");
        assert_eq!(
            // SAFETY: the name bytes and the out array are live for the call.
            unsafe { mmap_shm_unlink(name.as_ptr(), name.len() as u32) },
            0
        );
        assert_eq!(mmap_close(a[0] as u32), 0);
        assert_eq!(mmap_close(b[0] as u32), 0);
        assert_eq!(open(0, 0.0, &mut b), Status::Os as i32);
        let bad = "a/b";
        assert_eq!(
            // SAFETY: the name bytes and the out array are live for the call.
            unsafe { mmap_shm_open(bad.as_ptr(), 3, SHM_CREATE, 1.0, b.as_mut_ptr()) },
            Status::InvalidArgument as i32
        );
    }
}
