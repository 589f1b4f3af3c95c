//! Linux and macOS: the system calls behind a mapping.
//!
//! Every OS module (`unix.rs`, `windows.rs`) offers the same internal API:
//!
//! - `page_size()`: bytes per page (how `flush` aligns its range).
//! - `allocation_granularity()`: the alignment a file offset must have to be
//!   mapped (the page size here, 64 KiB on Windows).
//! - `map(file, offset, len, access)`: maps `len > 0` bytes of `file` (or
//!   anonymous zeroed memory when `file` is `None`) starting at the aligned
//!   `offset`, and returns the address.
//! - `unmap(addr, len)`: releases what `map` returned.
//! - `flush(addr, len, wait)`: writes dirty pages of a file mapping back to the
//!   file, waiting for the write (`wait`) or only scheduling it.
//!
//! Files are opened, sized and synced with `std::fs::File`, which already does
//! the right thing per OS (on macOS `sync_all` issues `F_FULLFSYNC`; on
//! Windows `File::open` uses `CreateFileW` with read, write and delete sharing).

use std::ffi::c_void;
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Failure, Result, KIND_IS_A_DIRECTORY, KIND_NOT_A_DIRECTORY};

type CInt = i32;
type OffT = i64;

const PROT_READ: CInt = 1;
const PROT_WRITE: CInt = 2;
const MAP_SHARED: CInt = 1;
const MAP_PRIVATE: CInt = 2;
const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

/// Constants whose values differ between Linux and macOS.
#[cfg(target_os = "linux")]
mod consts {
    use super::CInt;
    // <bits/mman-linux.h> and <asm-generic/mman-common.h>
    pub const MAP_ANONYMOUS: CInt = 0x20;
    pub const MAP_POPULATE: CInt = 0x8000;
    /// Leaves copy-on-write mappings out of the commit charge, so a large
    /// read-only file maps even under heuristic overcommit.
    pub const MAP_NORESERVE: CInt = 0x4000;
    pub const MS_ASYNC: CInt = 1;
    pub const MS_SYNC: CInt = 4;
    // <bits/confname.h>
    pub const SC_PAGESIZE: CInt = 30;
}

/// Constants whose values differ between Linux and macOS.
#[cfg(target_os = "macos")]
mod consts {
    use super::CInt;
    // <sys/mman.h>
    pub const MAP_ANONYMOUS: CInt = 0x1000;
    /// macOS has no MAP_POPULATE; `map` prefaults with madvise instead.
    pub const MAP_POPULATE: CInt = 0;
    /// XNU does not reserve swap for mappings; no flag is needed.
    pub const MAP_NORESERVE: CInt = 0;
    pub const MS_ASYNC: CInt = 0x1;
    pub const MS_SYNC: CInt = 0x10;
    // <unistd.h>
    pub const SC_PAGESIZE: CInt = 29;
}

use consts::*;

/// Error numbers that `io::ErrorKind` (as of Rust 1.63) leaves uncategorized,
/// with the kind code `src/errors.ts` maps them by. EISDIR and ENOTDIR are 21
/// and 20 on Linux (<asm-generic/errno-base.h>) and macOS (<sys/errno.h>).
pub const EXTRA_KINDS: &[(i32, i32)] = &[(21, KIND_IS_A_DIRECTORY), (20, KIND_NOT_A_DIRECTORY)];

/// `madvise` advice values (identical on Linux and macOS, <sys/mman.h>).
const MADV_WILLNEED: CInt = 3;

extern "C" {
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: CInt,
        flags: CInt,
        fd: CInt,
        offset: OffT,
    ) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> CInt;
    fn mprotect(addr: *mut c_void, len: usize, prot: CInt) -> CInt;
    fn msync(addr: *mut c_void, len: usize, flags: CInt) -> CInt;
    fn madvise(addr: *mut c_void, len: usize, advice: CInt) -> CInt;
    fn sysconf(name: CInt) -> i64;
}

/// How a mapping may be used.
#[derive(Clone, Copy, Debug, Default)]
pub struct Access {
    /// The mapping can be written.
    pub write: bool,
    /// Writes stay in this process's copy (copy-on-write), never the file.
    pub private: bool,
    /// Fault every page in now rather than on first touch.
    pub populate: bool,
}

static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

pub fn page_size() -> usize {
    match PAGE_SIZE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions.
            let size = unsafe { sysconf(SC_PAGESIZE) };
            // POSIX allows -1 here; fall back to the smallest page in use.
            let size = if size > 0 { size as usize } else { 4096 };
            PAGE_SIZE.store(size, Ordering::Relaxed);
            size
        }
        size => size,
    }
}

pub fn allocation_granularity() -> usize {
    page_size()
}

/// Maps `len` bytes at `offset` (a multiple of `allocation_granularity()`).
///
/// A file mapped without `write` is still mapped private and writable
/// (copy-on-write): JavaScript can write through a zero-copy view of it, and
/// a write through a read-only mapping would kill the process with SIGSEGV.
/// Such writes stay in this process; nothing can reach the file. Native
/// writes to it are refused by the caller.
///
/// # Safety
/// `len` must be non-zero: `mmap(2)` rejects zero lengths with EINVAL, and
/// callers represent empty files without a mapping.
pub unsafe fn map(file: Option<&File>, offset: u64, len: usize, access: Access) -> Result<usize> {
    let shared = access.write && !access.private && file.is_some();
    let mut flags = if shared {
        MAP_SHARED
    } else {
        MAP_PRIVATE | MAP_NORESERVE
    };
    let fd = match file {
        Some(file) => file.as_raw_fd(),
        None => {
            flags |= MAP_ANONYMOUS;
            -1
        }
    };
    // Private mappings are made readable first and writable after: populating
    // a writable private mapping would copy every page.
    let first_prot = if shared || file.is_none() {
        PROT_READ | PROT_WRITE
    } else {
        PROT_READ
    };
    if access.populate {
        flags |= MAP_POPULATE;
    }
    // Offsets arrive checked to be below 2^53, well inside off_t.
    let offset = offset as OffT;
    // SAFETY: a fresh mapping at an address the kernel chooses touches no
    // existing memory; the arguments were checked by the caller.
    let addr = mmap(std::ptr::null_mut(), len, first_prot, flags, fd, offset);
    if addr == MAP_FAILED {
        return Err(Failure::last_os("mmap"));
    }
    if first_prot != PROT_READ | PROT_WRITE {
        // SAFETY: the range was just mapped by us; a private file mapping may
        // always be made writable.
        if mprotect(addr, len, PROT_READ | PROT_WRITE) != 0 {
            let failure = Failure::last_os("mprotect");
            // SAFETY: unmapping our own fresh mapping.
            munmap(addr, len);
            return Err(failure);
        }
    }
    if access.populate && MAP_POPULATE == 0 {
        // Best effort where the kernel has no populate flag: ask for read-ahead.
        // SAFETY: the range was just mapped by us.
        madvise(addr, len, MADV_WILLNEED);
    }
    Ok(addr as usize)
}

/// Releases a mapping made by `map`.
///
/// # Safety
/// `addr` and `len` must be exactly what `map` returned and was given, and no
/// one may use the range afterwards.
pub unsafe fn unmap(addr: usize, len: usize) -> Result<()> {
    // SAFETY: per this function's contract.
    if munmap(addr as *mut c_void, len) != 0 {
        return Err(Failure::last_os("munmap"));
    }
    Ok(())
}

/// Writes dirty pages in `[addr, addr + len)` back to the file.
///
/// # Safety
/// `addr` must be page aligned and the range must lie in one live mapping.
pub unsafe fn flush(addr: usize, len: usize, wait: bool) -> Result<()> {
    let flags = if wait { MS_SYNC } else { MS_ASYNC };
    // SAFETY: per this function's contract; msync(2) only reads page state.
    if msync(addr as *mut c_void, len, flags) != 0 {
        return Err(Failure::last_os("msync"));
    }
    Ok(())
}
