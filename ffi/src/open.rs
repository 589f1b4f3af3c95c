//! Making and closing mappings: files (`mmap_map` and the seed's three
//! shorthands), anonymous memory, and `mmap_close`; with `publish`, which
//! every new mapping (shared memory included) goes through.

use std::fs::{File, OpenOptions};
use std::sync::Arc;

use crate::abi::{
    path_arg, to_u64, to_usize, write_opened, Opened, MAP_ALL, MAP_CREATE, MAP_GROW, MAP_LENGTH,
    MAP_POPULATE, MAP_PREALLOCATE, MAP_PRIVATE, MAP_WRITE,
};
use crate::error::{status_of, Failure, Result, Status};
use crate::os;
use crate::registry::{
    self, Fields, Owned, FLAG_ANONYMOUS, FLAG_PRIVATE, FLAG_WHOLE_FILE, FLAG_WRITABLE,
};

fn open_mapping(path: &str, flags: u32, size: f64, offset: f64, length: f64) -> Result<Opened> {
    const CALL: &str = "open";
    if flags & !MAP_ALL != 0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            format!("unknown flags {:#x}", flags & !MAP_ALL),
        ));
    }
    let write = flags & MAP_WRITE != 0;
    let private = flags & MAP_PRIVATE != 0;
    let grows = flags & (MAP_GROW | MAP_CREATE | MAP_PREALLOCATE) != 0;
    if grows && (!write || private) {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            "creating, growing or preallocating a file needs a shared writable mapping",
        ));
    }
    let size = if flags & MAP_GROW != 0 {
        to_u64(size, "size", CALL)?
    } else {
        0
    };
    let offset = to_u64(offset, "offset", CALL)?;

    let (file, created) = open_file(path, write && !private, flags & MAP_CREATE != 0)?;
    let mapped = map_file(file, flags, size, offset, length);
    if mapped.is_err() && created {
        // A refused open leaves behind no file that it created.
        let _ = std::fs::remove_file(path);
    }
    mapped
}

/// Opens the file of a mapping. With `create`, also says whether this call
/// created the file (`create_new`, so that a file someone else made is never
/// taken for ours). The open never waits (`os::open_options`: a FIFO with no
/// writer would block forever); `map_file` refuses what cannot be mapped.
fn open_file(path: &str, write: bool, create: bool) -> Result<(File, bool)> {
    let mut options = OpenOptions::new();
    options.read(true).write(write);
    os::open_options(&mut options);
    if create {
        match options.clone().create_new(true).open(path) {
            Ok(file) => return Ok((file, true)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(os::open_error(path, err)),
        }
    }
    let file = options
        .open(path)
        .map_err(|err| os::open_error(path, err))?;
    Ok((file, false))
}

/// Sizes (if asked) and maps an open file; the rest of `open_mapping`.
fn map_file(file: File, flags: u32, size: u64, offset: u64, length: f64) -> Result<Opened> {
    const CALL: &str = "open";
    // FIFOs, sockets and devices: refused before anything reads or sizes them.
    os::check_mappable(&file)?;
    let meta = file.metadata().map_err(|err| Failure::os("fstat", err))?;
    if meta.is_dir() {
        return Err(Failure::is_a_directory(CALL));
    }
    // Ranges are checked against the length the file will have before it is
    // grown, so that a refused open leaves the file as it was.
    let old_len = meta.len();
    let file_len = old_len.max(size);
    if offset > file_len {
        return Err(Failure::new(
            Status::OutOfRange,
            CALL,
            format!(
                "offset {} is past the end of the file ({} bytes)",
                offset, file_len
            ),
        ));
    }
    let len = if flags & MAP_LENGTH != 0 {
        let len = to_u64(length, "length", CALL)?;
        if len > file_len - offset {
            return Err(Failure::new(
                Status::OutOfRange,
                CALL,
                format!(
                    "range {}..{} is past the end of the file ({} bytes)",
                    offset,
                    offset + len,
                    file_len
                ),
            ));
        }
        len
    } else {
        file_len - offset
    };
    let len = usize::try_from(len).map_err(|_| {
        Failure::new(
            Status::OutOfRange,
            CALL,
            format!("{} bytes do not fit in the address space", len),
        )
    })?;

    let file = Arc::new(file);
    if flags & MAP_PREALLOCATE != 0 {
        // Allocate every block now, so that a full disk fails here and not
        // later inside a view; a failure leaves the length as it was.
        if let Err(failure) = os::preallocate(&file, file_len) {
            let _ = file.set_len(old_len);
            return Err(failure);
        }
    } else if size > old_len {
        file.set_len(size)
            .map_err(|err| Failure::os("ftruncate", err))?;
    }
    let mapped = map_sized(&file, flags, offset, len, file_len);
    if mapped.is_err() && file_len > old_len {
        // A refused open leaves the file as long as it was.
        let _ = file.set_len(old_len);
    }
    mapped
}

/// Maps `len` bytes at `offset` of a file already `file_len` bytes long and
/// publishes the mapping; the end of `map_file`.
fn map_sized(
    file: &Arc<File>,
    flags: u32,
    offset: u64,
    len: usize,
    file_len: u64,
) -> Result<Opened> {
    let write = flags & MAP_WRITE != 0;
    let private = flags & MAP_PRIVATE != 0;
    // The OS maps from an aligned file offset; the caller sees the mapping
    // from its own offset, `delta` bytes in.
    let granularity = os::allocation_granularity() as u64;
    let aligned = offset - offset % granularity;
    let delta = (offset - aligned) as usize;
    let access = os::Access {
        write,
        private,
        populate: flags & MAP_POPULATE != 0,
    };
    // An empty range has no mapping at all: no OS maps zero bytes (see
    // `os::map`).
    let (map_base, map_len) = if len == 0 {
        (0, 0)
    } else {
        let map_len = len + delta;
        // SAFETY: map_len is non-zero and `aligned` is a multiple of the
        // allocation granularity.
        let addr = unsafe { os::map(Some(file), aligned, map_len, access)? };
        (addr, map_len)
    };
    let mut flags_kept = 0;
    if write || private {
        flags_kept |= FLAG_WRITABLE;
    }
    if private {
        flags_kept |= FLAG_PRIVATE;
    }
    // A window from 0 to the end of the file is the whole file, too.
    if offset == 0 && (flags & MAP_LENGTH == 0 || len as u64 == file_len) {
        flags_kept |= FLAG_WHOLE_FILE;
    }
    let base = if map_base == 0 { 0 } else { map_base + delta };
    let id = publish(
        Fields {
            base,
            len,
            flags: flags_kept,
            map_base,
            map_len,
        },
        Owned {
            file: Some(Arc::clone(file)),
            access,
            // An empty window has no OS mapping: keep the caller's offset,
            // from which `remap` maps it once the file has grown
            // and which `mmap_info` reports.
            offset: if len == 0 { offset } else { aligned },
        },
    )?;
    Ok(Opened { id, base, len })
}

/// Enters a new mapping in the registry, or unmaps it if that fails.
pub fn publish(fields: Fields, owned: Owned) -> Result<u32> {
    let (map_base, map_len) = (fields.map_base, fields.map_len);
    // A file (or named shared memory) can be truncated under its mapping: the
    // guard is in place before anyone gets the address. Anonymous memory
    // cannot be truncated.
    let guarded = if fields.flags & FLAG_ANONYMOUS == 0 {
        os::guard_faults()
    } else {
        Ok(())
    };
    match guarded.and_then(|()| registry::insert(fields, owned)) {
        Ok(id) => Ok(id),
        Err(failure) => {
            if map_len != 0 {
                // SAFETY: the mapping was just made and never published.
                let _ = unsafe { os::unmap(map_base, map_len) };
            }
            Err(failure)
        }
    }
}

/// Maps a file; the general form behind every `open` variant.
///
/// `flags` are `MAP_*` bits. `size` is read when `MAP_GROW` is set, `length`
/// when `MAP_LENGTH` is set; `offset` may be any byte offset (the mapping is
/// aligned internally). On success writes `[id, address, length]` to `out`.
///
/// # Safety
/// `path` must point to `path_len` readable bytes; `out` must point to three
/// writable `u64`s.
#[no_mangle]
pub unsafe extern "C" fn mmap_map(
    path: *const u8,
    path_len: u32,
    flags: u32,
    size: f64,
    offset: f64,
    length: f64,
    out: *mut u64,
) -> i32 {
    status_of((|| {
        // SAFETY: per this function's contract.
        let path = path_arg(path, path_len)?;
        let opened = open_mapping(path, flags, size, offset, length)?;
        // SAFETY: per this function's contract.
        write_opened(out, &opened).map_err(|failure| {
            let _ = registry::close(opened.id, "close");
            failure
        })
    })())
}

/// Maps an existing file read-only (the seed's `open`).
///
/// # Safety
/// As for `mmap_map`.
#[no_mangle]
pub unsafe extern "C" fn mmap_open(path: *const u8, path_len: u32, out: *mut u64) -> i32 {
    // SAFETY: the caller's contract is `mmap_map`'s.
    mmap_map(path, path_len, 0, 0.0, 0.0, 0.0, out)
}

/// Maps an existing file read-write (the seed's `openWrite`).
///
/// # Safety
/// As for `mmap_map`.
#[no_mangle]
pub unsafe extern "C" fn mmap_open_write(path: *const u8, path_len: u32, out: *mut u64) -> i32 {
    // SAFETY: the caller's contract is `mmap_map`'s.
    mmap_map(path, path_len, MAP_WRITE, 0.0, 0.0, 0.0, out)
}

/// Creates the file if needed, grows it to at least `size` bytes (never
/// shrinks it) and maps it read-write (the seed's `openWriteWithSize`).
///
/// # Safety
/// As for `mmap_map`.
#[cfg(not(feature = "no-open-write-with-size"))]
#[no_mangle]
pub unsafe extern "C" fn mmap_open_write_with_size(
    path: *const u8,
    path_len: u32,
    size: f64,
    out: *mut u64,
) -> i32 {
    // SAFETY: the caller's contract is `mmap_map`'s.
    mmap_map(
        path,
        path_len,
        MAP_WRITE | MAP_CREATE | MAP_GROW,
        size,
        0.0,
        0.0,
        out,
    )
}

/// Maps `size` bytes of zeroed anonymous memory, backed by no file; writes
/// `[id, address, length]` to `out`.
///
/// # Safety
/// `out` must point to three writable `u64`s.
#[no_mangle]
pub unsafe extern "C" fn mmap_anonymous(size: f64, out: *mut u64) -> i32 {
    const CALL: &str = "anonymous";
    status_of((|| {
        let len = to_usize(size, "size", CALL)?;
        let access = os::Access {
            write: true,
            private: true,
            populate: false,
        };
        let base = if len == 0 {
            0
        } else {
            // SAFETY: len is non-zero.
            os::map(None, 0, len, access)?
        };
        let id = publish(
            Fields {
                base,
                len,
                flags: FLAG_WRITABLE | FLAG_ANONYMOUS,
                map_base: base,
                map_len: len,
            },
            Owned {
                file: None,
                access,
                offset: 0,
            },
        )?;
        // SAFETY: per this function's contract.
        write_opened(out, &Opened { id, base, len })
    })())
}

/// Closes handle `id`: every export refuses the id from here on. The pages
/// are unmapped and the file closed now, or, while zero-copy views
/// (`napi.rs`) still reference them, when the last of those is released
/// (`registry::release`). A second close of the same id returns
/// `BadHandle`, which the TypeScript side treats as already closed.
#[no_mangle]
pub extern "C" fn mmap_close(id: u32) -> i32 {
    status_of(registry::close(id, "close"))
}

#[cfg(test)]
mod tests {
    use crate::test_util::*;
    use crate::*;

    #[test]
    fn missing_file_reports_the_os_error() {
        let (status, _) = map("/nonexistent/mmap_ffi/missing.bin", 0, 0.0, 0.0, 0.0);
        assert_eq!(status, Status::Os as i32);
        let (code, kind, text) = last_error();
        assert!(code != 0);
        assert_eq!(kind, error::kind_code(std::io::ErrorKind::NotFound));
        assert!(text.starts_with("open\t"), "{}", text);
    }

    #[test]
    fn empty_file_maps_without_mmap() {
        let file = TempFile::new("empty", b"");
        let (status, out) = map(file.path(), 0, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        assert_eq!(out[1], 0);
        assert_eq!(out[2], 0);
        let id = out[0] as u32;
        // SAFETY: the buffer is live and at least as long as the length passed.
        assert_eq!(unsafe { mmap_read(id, 0.0, std::ptr::null_mut(), 0.0) }, 0);
        assert_eq!(mmap_flush(id, 0.0, 0.0, FLUSH_SYNC), 0);
        assert_eq!(mmap_close(id), 0);
    }

    #[test]
    fn grow_creates_and_never_shrinks() {
        let file = TempFile::new("grow", b"");
        std::fs::remove_file(&file.0).unwrap();
        let (status, out) = map(
            file.path(),
            MAP_WRITE | MAP_CREATE | MAP_GROW,
            100.0,
            0.0,
            0.0,
        );
        assert_eq!(status, 0);
        assert_eq!(out[2], 100);
        assert_eq!(mmap_close(out[0] as u32), 0);
        let (status, out) = map(
            file.path(),
            MAP_WRITE | MAP_CREATE | MAP_GROW,
            10.0,
            0.0,
            0.0,
        );
        assert_eq!(status, 0);
        assert_eq!(out[2], 100);
        assert_eq!(mmap_close(out[0] as u32), 0);
        assert_eq!(file.contents().len(), 100);
    }

    #[test]
    fn window_at_unaligned_offset() {
        let contents: Vec<u8> = (0..20000u32).map(|i| (i % 251) as u8).collect();
        let file = TempFile::new("window", &contents);
        let (status, out) = map(file.path(), MAP_LENGTH, 0.0, 4097.0, 5000.0);
        assert_eq!(status, 0);
        assert_eq!(out[2], 5000);
        let mut buf = vec![0u8; 5000];
        assert_eq!(
            // SAFETY: the buffer is live and at least as long as the length passed.
            unsafe { mmap_read(out[0] as u32, 0.0, buf.as_mut_ptr(), 5000.0) },
            0
        );
        assert_eq!(&buf[..], &contents[4097..9097]);
        assert_eq!(mmap_close(out[0] as u32), 0);
        let (status, _) = map(file.path(), MAP_LENGTH, 0.0, 19000.0, 5000.0);
        assert_eq!(status, Status::OutOfRange as i32);
    }

    #[test]
    fn invalid_flag_combinations_are_refused() {
        let file = TempFile::new("flags", b"x");
        for flags in [
            MAP_CREATE,
            MAP_GROW,
            MAP_WRITE | MAP_PRIVATE | MAP_GROW,
            1 << 20,
        ] {
            let (status, _) = map(file.path(), flags, 1.0, 0.0, 0.0);
            assert_eq!(status, Status::InvalidArgument as i32, "flags {:#x}", flags);
        }
    }

    #[test]
    fn bad_paths_are_refused() {
        let mut out = [0u64; 3];
        let nul = b"a\0b";
        // SAFETY: the path bytes and the three-u64 out array are live.
        let status = unsafe { mmap_open(nul.as_ptr(), 3, out.as_mut_ptr()) };
        assert_eq!(status, Status::InvalidArgument as i32);
        // SAFETY: the path bytes and the three-u64 out array are live.
        let status = unsafe { mmap_open(std::ptr::null(), 0, out.as_mut_ptr()) };
        assert_eq!(status, Status::InvalidArgument as i32);
        let bad_utf8 = [0xffu8, 0xfe];
        // SAFETY: the path bytes and the three-u64 out array are live.
        let status = unsafe { mmap_open(bad_utf8.as_ptr(), 2, out.as_mut_ptr()) };
        assert_eq!(status, Status::InvalidArgument as i32);
    }
}
