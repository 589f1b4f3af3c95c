//! Native side of `@riaskov/mmap`.
//!
//! Every export validates what it is given, returns an `i32` status (0 on
//! success, see `error::Status`) and never panics across the boundary. Results
//! come back through out-pointers; details of a failure through
//! `mmap_last_error`. Offsets and lengths travel as `f64`, because a JS number
//! passed into a 64-bit integer parameter knocks a Deno FFI call off V8's fast
//! path; they are checked to be whole numbers in `[0, 2^53]` here as well as in
//! TypeScript.

mod error;
mod os;
mod registry;

// The SIGBUS guard: a file truncated under a mapping becomes an error, not a
// crash. Windows cannot truncate a mapped file; its twin is a no-op.
#[cfg(unix)]
mod fault;
#[cfg(windows)]
#[path = "fault_windows.rs"]
mod fault;

use std::fs::{File, OpenOptions};
use std::sync::{Arc, Mutex, MutexGuard};

use error::{status_of, Failure, Result, Status};
use registry::{
    Fields, FLAG_ANONYMOUS, FLAG_PRIVATE, FLAG_SHARED_MEMORY, FLAG_WHOLE_FILE, FLAG_WRITABLE,
};

/// Version of the exported interface. The TypeScript loader refuses a library
/// whose version differs from the one it was written for.
#[cfg(not(feature = "abi-mismatch"))]
pub const ABI_VERSION: u32 = 1;

/// A deliberately wrong interface version, for the loader's tests only.
#[cfg(feature = "abi-mismatch")]
pub const ABI_VERSION: u32 = 1001;

/// Flags for `mmap_map`.
pub const MAP_WRITE: u32 = 1;
pub const MAP_CREATE: u32 = 2;
pub const MAP_PRIVATE: u32 = 4;
pub const MAP_POPULATE: u32 = 8;
/// `size` is given: grow the file to at least that many bytes.
pub const MAP_GROW: u32 = 16;
/// `length` is given: map exactly that many bytes from `offset`.
pub const MAP_LENGTH: u32 = 32;
const MAP_ALL: u32 = MAP_WRITE | MAP_CREATE | MAP_PRIVATE | MAP_POPULATE | MAP_GROW | MAP_LENGTH;

/// Flush modes for `mmap_flush`.
pub const FLUSH_SYNC: u32 = 0;
pub const FLUSH_ASYNC: u32 = 1;
pub const FLUSH_DURABLE: u32 = 2;

/// Largest integer a JS number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

/// What a mapping owns besides its pages, by registry slot: the open file of
/// a file mapping (for durable sync and resize; `Arc` so that a long fsync
/// does not hold the lock) and how it was mapped.
#[derive(Clone)]
struct Owned {
    file: Option<Arc<File>>,
    access: os::Access,
}

static OWNED: Mutex<Vec<Option<Owned>>> = Mutex::new(Vec::new());

fn owned() -> MutexGuard<'static, Vec<Option<Owned>>> {
    // A poisoned lock only means a panic elsewhere (tests); the data is intact.
    OWNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Records what the mapping in slot `index` owns.
fn keep(index: usize, value: Owned) {
    let mut table = owned();
    if table.len() <= index {
        table.resize(index + 1, None);
    }
    table[index] = Some(value);
}

fn owned_at(index: usize) -> Option<Owned> {
    owned().get(index).cloned().flatten()
}

/// Checks that `value` is a whole number in `[0, 2^53]` and converts it.
fn to_u64(value: f64, what: &str, call: &'static str) -> Result<u64> {
    // NaN fails the range test as well.
    // `as u64` truncates, so a fraction does not survive the round trip; this
    // inline test replaces `fract()`, a libm call on every read and write
    // (about 3 ns of a 25 ns call).
    if !(0.0..=MAX_SAFE).contains(&value) || value as u64 as f64 != value {
        return Err(Failure::new(
            Status::InvalidArgument,
            call,
            format!(
                "{} must be a whole number from 0 to 2^53, got {}",
                what, value
            ),
        ));
    }
    Ok(value as u64)
}

fn to_usize(value: f64, what: &str, call: &'static str) -> Result<usize> {
    let value = to_u64(value, what, call)?;
    usize::try_from(value).map_err(|_| {
        Failure::new(
            Status::OutOfRange,
            call,
            format!("{} {} does not fit in memory", what, value),
        )
    })
}

/// Checks that `[offset, offset + len)` lies within `size` bytes.
fn check_range(offset: usize, len: usize, size: usize, call: &'static str) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(Failure::new(
            Status::OutOfRange,
            call,
            format!(
                "range {}..{} is outside the mapping of {} bytes",
                offset,
                offset as u128 + len as u128,
                size
            ),
        )),
    }
}

/// Reads a UTF-8 path handed over as bytes.
///
/// # Safety
/// `ptr` must point to `len` readable bytes (or be null when `len` is 0).
unsafe fn path_arg<'a>(ptr: *const u8, len: u32) -> Result<&'a str> {
    if ptr.is_null() || len == 0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            "open",
            "the path is empty",
        ));
    }
    // SAFETY: per this function's contract.
    let bytes = std::slice::from_raw_parts(ptr, len as usize);
    let path = std::str::from_utf8(bytes)
        .map_err(|_| Failure::new(Status::InvalidArgument, "open", "the path is not UTF-8"))?;
    if path.contains('\0') {
        return Err(Failure::new(
            Status::InvalidArgument,
            "open",
            "the path contains a NUL character",
        ));
    }
    Ok(path)
}

/// What `open_mapping` made.
struct Opened {
    id: u32,
    base: usize,
    len: usize,
}

/// The failure for a directory given where a file is needed.
fn is_a_directory() -> Failure {
    Failure {
        status: Status::Os,
        detail: error::LastError {
            os_code: 0,
            kind: error::KIND_IS_A_DIRECTORY,
            call: "open",
            message: "Is a directory".into(),
        },
    }
}

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
    let grows = flags & (MAP_GROW | MAP_CREATE) != 0;
    if grows && (!write || private) {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            "creating or growing a file needs a shared writable mapping",
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
/// taken for ours).
fn open_file(path: &str, write: bool, create: bool) -> Result<(File, bool)> {
    let mut options = OpenOptions::new();
    options.read(true).write(write);
    if create {
        match options.clone().create_new(true).open(path) {
            Ok(file) => return Ok((file, true)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(open_failure(path, err)),
        }
    }
    let file = options.open(path).map_err(|err| open_failure(path, err))?;
    Ok((file, false))
}

/// The failure of opening `path`. Windows refuses to open a directory as a
/// file with ERROR_ACCESS_DENIED; that is reported as Unix reports it (EISDIR).
fn open_failure(path: &str, err: std::io::Error) -> Failure {
    if err.kind() == std::io::ErrorKind::PermissionDenied
        && std::fs::metadata(path).map_or(false, |meta| meta.is_dir())
    {
        is_a_directory()
    } else {
        Failure::os("open", err)
    }
}

/// Sizes (if asked) and maps an open file; the rest of `open_mapping`.
fn map_file(file: File, flags: u32, size: u64, offset: u64, length: f64) -> Result<Opened> {
    const CALL: &str = "open";
    let write = flags & MAP_WRITE != 0;
    let private = flags & MAP_PRIVATE != 0;
    let meta = file.metadata().map_err(|err| Failure::os("fstat", err))?;
    if meta.is_dir() {
        return Err(is_a_directory());
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

    if size > old_len {
        file.set_len(size)
            .map_err(|err| Failure::os("ftruncate", err))?;
    }
    let granularity = os::allocation_granularity() as u64;
    let aligned = offset - offset % granularity;
    let delta = (offset - aligned) as usize;
    let access = os::Access {
        write,
        private,
        populate: flags & MAP_POPULATE != 0,
    };
    // An empty range has no mapping at all: mmap(2) rejects a zero length.
    let (map_base, map_len) = if len == 0 {
        (0, 0)
    } else {
        let map_len = len + delta;
        // SAFETY: map_len is non-zero and `aligned` is a multiple of the
        // allocation granularity.
        let addr = unsafe { os::map(Some(&file), aligned, map_len, access)? };
        (addr, map_len)
    };
    let mut flags_kept = 0;
    if write || private {
        flags_kept |= FLAG_WRITABLE;
    }
    if private {
        flags_kept |= FLAG_PRIVATE;
    }
    if offset == 0 && flags & MAP_LENGTH == 0 {
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
            file: Some(Arc::new(file)),
            access,
        },
    )?;
    Ok(Opened { id, base, len })
}

/// Enters a new mapping in the registry, or unmaps it if that fails.
fn publish(fields: Fields, value: Owned) -> Result<u32> {
    let (map_base, map_len) = (fields.map_base, fields.map_len);
    // A file (or named shared memory) can be truncated under its mapping: the
    // SIGBUS guard is in place before anyone gets the address. Anonymous
    // memory cannot be truncated.
    let guarded = if fields.flags & FLAG_ANONYMOUS == 0 {
        fault::install()
    } else {
        Ok(())
    };
    match guarded.and_then(|()| registry::insert(fields)) {
        Ok(id) => {
            keep((id as usize) & (registry::SLOTS - 1), value);
            Ok(id)
        }
        Err(failure) => {
            if map_len != 0 {
                // SAFETY: the mapping was just made and never published.
                let _ = unsafe { os::unmap(map_base, map_len) };
            }
            Err(failure)
        }
    }
}

/// Writes `[id, base address, length]` into `out`.
///
/// # Safety
/// `out` must be null or point to three writable, aligned `u64`s.
unsafe fn write_out(out: *mut u64, opened: &Opened) -> Result<()> {
    if out.is_null() {
        return Err(Failure::new(
            Status::InvalidArgument,
            "open",
            "the result buffer is missing",
        ));
    }
    // SAFETY: per this function's contract.
    out.write(u64::from(opened.id));
    out.add(1).write(opened.base as u64);
    out.add(2).write(opened.len as u64);
    Ok(())
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
        let path = path_arg(path, path_len)?;
        let opened = open_mapping(path, flags, size, offset, length)?;
        write_out(out, &opened).map_err(|failure| {
            let _ = close_mapping(opened.id);
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
    mmap_map(path, path_len, 0, 0.0, 0.0, 0.0, out)
}

/// Maps an existing file read-write (the seed's `openWrite`).
///
/// # Safety
/// As for `mmap_map`.
#[no_mangle]
pub unsafe extern "C" fn mmap_open_write(path: *const u8, path_len: u32, out: *mut u64) -> i32 {
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

/// The failure for a range that reached the tail the SIGBUS guard replaced
/// after the file was truncated under the mapping.
fn truncated(call: &'static str) -> Failure {
    Failure::new(
        Status::Truncated,
        call,
        "the file was truncated under the mapping; the bytes in this range are gone",
    )
}

/// Copies `len` bytes at `offset` of mapping `id` into `dst`. All or nothing:
/// a range past the end copies nothing and returns `OutOfRange`. A range that
/// reaches pages lost to a truncation of the file returns `Truncated` (what
/// `dst` then holds is unspecified).
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
            return Err(truncated(CALL));
        }
        // SAFETY: the range was checked against the live mapping, which cannot
        // be unmapped while `entry` exists; `dst` is valid per the contract.
        // `copy` (memmove) because `dst` may itself be a view of the mapping.
        // A page lost to truncation faults once and reads as zeros (fault.rs).
        std::ptr::copy((entry.base() + offset) as *const u8, dst, len);
        // Checked again after the copy: the copy itself may have faulted.
        if !entry.intact(offset, len) {
            return Err(truncated(CALL));
        }
        Ok(())
    })())
}

/// Copies `len` bytes from `src` into mapping `id` at `offset`. All or
/// nothing, as for `mmap_read`; `Truncated` when the range reaches pages lost
/// to a truncation of the file (those bytes never reach it).
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
            return Err(truncated(CALL));
        }
        // SAFETY: as in `mmap_read`; the mapping is writable.
        std::ptr::copy(src, (entry.base() + offset) as *mut u8, len);
        if !entry.intact(offset, len) {
            return Err(truncated(CALL));
        }
        Ok(())
    })())
}

/// Writes modified pages in `[offset, offset + len)` of mapping `id` back to
/// its file. `mode` is `FLUSH_SYNC` (msync MS_SYNC / FlushViewOfFile),
/// `FLUSH_ASYNC` (schedule only) or `FLUSH_DURABLE` (sync, then flush the file
/// to the device: fsync, F_FULLFSYNC on macOS, FlushFileBuffers on Windows).
/// Unaligned ranges are widened to whole pages. A range that reaches pages
/// lost to a truncation of the file returns `Truncated` after flushing the
/// rest: what was written there (through a view) never reaches the file.
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
        // nothing to write (FlushViewOfFile would take 0 as "everything").
        if len > 0 && entry.flags() & FLAG_PRIVATE == 0 {
            let page = os::page_size();
            let start = entry.base() + offset;
            let aligned = start - start % page;
            // SAFETY: the page-aligned range lies within the live mapping,
            // because the mapping itself starts on a page boundary.
            unsafe { os::flush(aligned, start + len - aligned, mode != FLUSH_ASYNC)? };
        }
        // Only a shared writable mapping can have changed its file. A
        // read-only one has nothing to sync, and its file is open read-only,
        // which FlushFileBuffers refuses (ERROR_ACCESS_DENIED) on Windows.
        let shared_writable = entry.flags() & (FLAG_WRITABLE | FLAG_PRIVATE) == FLAG_WRITABLE;
        if mode == FLUSH_DURABLE && shared_writable {
            if let Some(file) = owned_at(entry.index()).and_then(|owned| owned.file) {
                file.sync_all().map_err(|err| Failure::os("fsync", err))?;
            }
        }
        if !entry.intact(offset, len) {
            return Err(truncated(CALL));
        }
        Ok(())
    })())
}

fn close_mapping(id: u32) -> Result<()> {
    let released = registry::retire(id, "close")?;
    let kept = owned().get_mut(released.index).and_then(Option::take);
    let result = if released.map_len == 0 {
        Ok(())
    } else {
        // SAFETY: the slot is retired and idle, so nothing can reach the range.
        unsafe { os::unmap(released.map_base, released.map_len) }
    };
    drop(kept);
    registry::free(released.index);
    result
}

/// Unmaps mapping `id` and closes its file. A second close of the same id
/// returns `BadHandle`, which the TypeScript side treats as already closed.
#[no_mangle]
pub extern "C" fn mmap_close(id: u32) -> i32 {
    status_of(close_mapping(id))
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
            Owned { file: None, access },
        )?;
        write_out(out, &Opened { id, base, len })
    })())
}

/// Flags for `mmap_shm_open`.
pub const SHM_CREATE: u32 = 1;
pub const SHM_EXCLUSIVE: u32 = 2;

/// Checks a shared memory name: the package adds the leading "/" on POSIX.
unsafe fn shm_name<'a>(ptr: *const u8, len: u32, call: &'static str) -> Result<&'a str> {
    let name = path_arg(ptr, len).map_err(|mut failure| {
        failure.detail.call = call;
        failure
    })?;
    if name.contains('/') {
        return Err(Failure::new(
            Status::InvalidArgument,
            call,
            "a shared memory name cannot contain \"/\"",
        ));
    }
    Ok(name)
}

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
            },
        )?;
        write_out(out, &Opened { id, base, len })
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
        os::shm_unlink(shm_name(name, name_len, "unlinkShared")?)
    })())
}

/// The page-aligned span `[start, start + len)` covering `len` bytes at
/// `offset` of a live mapping, after checking the range.
fn page_span(
    base: usize,
    size: usize,
    offset: f64,
    len: f64,
    call: &'static str,
) -> Result<Option<(usize, usize)>> {
    let offset = to_usize(offset, "offset", call)?;
    let len = to_usize(len, "length", call)?;
    check_range(offset, len, size, call)?;
    if len == 0 {
        return Ok(None);
    }
    let page = os::page_size();
    let start = base + offset;
    let aligned = start - start % page;
    // The OS mapping covers whole pages, so rounding the end up stays inside.
    let end = (start + len + page - 1) / page * page;
    Ok(Some((aligned, end - aligned)))
}

/// Advice values for `mmap_advise`.
pub const ADVICE: [os::Advice; 5] = [
    os::Advice::Normal,
    os::Advice::Sequential,
    os::Advice::Random,
    os::Advice::WillNeed,
    os::Advice::DontNeed,
];

/// Tells the kernel how `[offset, offset + len)` of mapping `id` will be
/// used: `advice` indexes `ADVICE` (normal, sequential, random, willneed,
/// dontneed). "dontneed" on anonymous or copy-on-write memory would discard
/// its contents, so there it is accepted and ignored.
#[no_mangle]
pub extern "C" fn mmap_advise(id: u32, offset: f64, len: f64, advice: u32) -> i32 {
    const CALL: &str = "advise";
    status_of((|| {
        let entry = registry::enter(id, CALL)?;
        let advice = *ADVICE.get(advice as usize).ok_or_else(|| {
            Failure::new(
                Status::InvalidArgument,
                CALL,
                format!("unknown advice {}", advice),
            )
        })?;
        let span = page_span(entry.base(), entry.len(), offset, len, CALL)?;
        let discards = entry.flags() & (FLAG_ANONYMOUS | FLAG_PRIVATE) != 0;
        match span {
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
        match page_span(entry.base(), entry.len(), offset, len, call)? {
            // SAFETY: the span lies within the live, pinned mapping.
            Some((start, bytes)) if lock != 0 => unsafe { os::lock(start, bytes) },
            // SAFETY: as above.
            Some((start, bytes)) => unsafe { os::unlock(start, bytes) },
            None => Ok(()),
        }
    })())
}

fn resize_mapping(id: u32, new_len: f64) -> Result<(usize, usize)> {
    const CALL: &str = "resize";
    let new_len = to_usize(new_len, "length", CALL)?;
    let mut held = registry::exclusive(id, CALL)?;
    let flags = held.flags();
    let file_ok = flags & FLAG_WHOLE_FILE != 0 && flags & FLAG_PRIVATE == 0;
    if flags & FLAG_WRITABLE == 0 || !(file_ok || flags & FLAG_ANONYMOUS != 0) {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            "only read-write mappings of a whole file and anonymous memory can be resized",
        ));
    }
    // Zero pages replaced a truncated tail (fault.rs): resizing would carry
    // them along or move them; the caller maps the file again instead.
    if held.lost() {
        return Err(truncated(CALL));
    }
    let kept = owned_at(held.index())
        .ok_or_else(|| Failure::new(Status::BadHandle, CALL, "the mapping has no owner record"))?;
    let file = kept.file.as_deref();
    let (old_base, old_len) = (held.map_base(), held.map_len());
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
    let base = match (old_len, new_len) {
        _ if old_len == new_len => return Ok((held.base(), old_len)),
        (0, _) => {
            set_file_len(new_len)?;
            // SAFETY: new_len is non-zero here.
            unsafe { os::map(file, 0, new_len, kept.access)? }
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
    let result = resize_mapping(id, new_len);
    if !out.is_null() {
        if let Ok(entry) = registry::enter(id, "resize") {
            // SAFETY: per this function's contract.
            out.write(entry.base() as u64);
            out.add(1).write(entry.len() as u64);
        }
    }
    status_of(result.map(|_| ()))
}

/// Interface version; see `ABI_VERSION`.
#[no_mangle]
pub extern "C" fn mmap_abi_version() -> u32 {
    ABI_VERSION
}

/// Live mappings: writes `[count, bytes]` to `out`.
///
/// # Safety
/// `out` must be null or point to two writable `f64`s.
#[no_mangle]
pub unsafe extern "C" fn mmap_stats(out: *mut f64) -> i32 {
    if out.is_null() {
        return Status::InvalidArgument as i32;
    }
    let (count, bytes) = registry::totals();
    // SAFETY: per this function's contract.
    out.write(count as f64);
    out.add(1).write(bytes as f64);
    Status::Ok as i32
}

/// Details of the last failure on the calling thread: writes
/// `[OS error code, error kind]` to `info` and up to `cap` bytes of
/// "call\tmessage" (UTF-8) to `text`. Returns the full text length.
///
/// # Safety
/// `info` must be null or point to two writable `i32`s; `text` must be null
/// or point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn mmap_last_error(info: *mut i32, text: *mut u8, cap: u32) -> u32 {
    error::with_last(|last| {
        if !info.is_null() {
            // SAFETY: per this function's contract.
            info.write(last.os_code);
            info.add(1).write(last.kind);
        }
        let full = format!("{}\t{}", last.call, last.message);
        let bytes = full.as_bytes();
        if !text.is_null() {
            let n = bytes.len().min(cap as usize);
            // SAFETY: `n` bytes fit in `text` per the contract.
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), text, n);
        }
        bytes.len() as u32
    })
}

#[cfg(test)]
mod tests;
