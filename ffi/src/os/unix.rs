//! Linux and macOS: the system calls behind a mapping, and the OS rules.
//!
//! Every OS module (`unix.rs`, `windows.rs`, `stub.rs`) offers the same
//! internal API:
//!
//! - `EXTRA_KINDS`: OS error numbers that `io::ErrorKind` (Rust 1.63) leaves
//!   uncategorized, with the `KIND_*` code each is reported as.
//! - `page_size()`: bytes per page (how `flush` aligns its range).
//! - `allocation_granularity()`: the alignment a file offset must have to be
//!   mapped (the page size here, 64 KiB on Windows).
//! - `map(file, offset, len, access)`: maps `len > 0` bytes of `file` (or
//!   anonymous zeroed memory when `file` is `None`) starting at the aligned
//!   `offset`, and returns the address.
//! - `unmap(addr, len)`: releases what `map` returned.
//! - `protect(addr, len, write, copy_on_write)`: makes a mapping's pages
//!   read-only, or writable again as `map` made them, in place.
//! - `flush(addr, len, wait)`: writes dirty pages of a file mapping back to the
//!   file, waiting for the write (`wait`) or only scheduling it.
//! - `sync(file, access)`: the durable part of a durable flush: makes what a
//!   mapping made with `access` wrote to `file` reach the device.
//! - `open_options(options)`: what every open of a file to map adds, so that
//!   the open itself never blocks (a FIFO without a writer would).
//! - `check_mappable(file)`: refuses a file that is neither a regular file
//!   nor a directory (FIFOs, sockets, devices) with `NotSupported`.
//! - `open_error(path, err)`: the failure to report when opening `path` as a
//!   file failed with `err`.
//! - `preallocate(file, len)`: allocates the file's blocks up to `len` bytes,
//!   growing it to `len` when shorter; a full disk fails here (out of
//!   space). On failure the caller restores the file's length.
//! - `NO_SPACE`: the OS error code of a full disk.
//! - `file_key(file)`: the file as a number the fault guard can use.
//! - `write_within(file, position, bytes)`: writes `bytes` into `file` at
//!   `position` through the page cache its shared mappings show, only while
//!   the file covers the whole range (it never grows the file); returns how
//!   many bytes from the start were written, stopping at the first failure.
//! - `start_writeback(file, position, len)`: asks the kernel to start writing
//!   a range of the file's dirty pages to the disk now, without waiting
//!   (nothing where the OS has no such call).
//! - `guard_faults()`: makes sure a file truncated under a mapping cannot
//!   kill the process (before any file mapping is handed out).
//! - `remap(file, addr, old_len, new_len, access)`: resizes a whole-file or
//!   anonymous mapping whose file (if any) already has the new length when
//!   growing; keeps the contents; may move it.
//! - `advise(addr, len, advice)`: passes an `Advice` to the kernel.
//! - `resident(addr, len)`: how many of the range's pages are in memory,
//!   counted in bounded chunks (no allocation proportional to `len`).
//! - `lock(addr, len)` / `unlock(addr, len)`: pin pages in memory or release
//!   them; a refusal because of the lock limit says what the limit is.
//! - `shm_map(name, create, exclusive, size)`: opens (or creates) named
//!   shared memory, grows it to at least `size` bytes and maps all of it
//!   read-write; returns the address (0 when empty) and length.
//! - `shm_unlink(name)`: removes a shared memory name.
//! - `process_symbol(name)`: the address of a function the running process
//!   already exports (the executable or a library it loaded), or 0; how the
//!   N-API side (`napi.rs`) finds the runtime's `napi_*` functions without
//!   linking to them.
//! - `Sleeper::new(addr)`: what a thread needs to sleep on the 32-bit word
//!   at `addr` (the word of a wait cell, whose sleeper count follows it;
//!   made before the thread counts itself in);
//!   `sleeper.sleep(expected, timeout_ns)` sleeps while it holds `expected`
//!   (a `Woke`), across processes for shared mappings;
//!   `sleeper.interrupt()` wakes that sleeper (a mapping closed under it).
//! - `wake(addr, count)`: wakes up to `count` sleepers on `addr` in any
//!   process; how many woke.
//!
//! All addresses given to these functions are page aligned. Empty ranges are
//! never mapped: callers represent an empty mapping as address 0, length 0.
//!
//! Files are opened, sized and synced with `std::fs::File`, which already does
//! the right thing per OS (on macOS `sync_all` issues `F_FULLFSYNC`; on
//! Windows `File::open` uses `CreateFileW` with read, write and delete sharing).

// The SIGBUS guard. (`#[path]` because this file is itself chosen by path,
// which makes its submodules resolve from `os/`.)
#[path = "unix/fault.rs"]
mod fault;

// Sleeping on a word until another thread or process wakes it.
#[path = "unix/wait.rs"]
mod wait;
pub use wait::{wake, Sleeper};

// The process-wide memory barrier of the copy path's marks.
#[path = "unix/barrier.rs"]
mod barrier;
pub use barrier::{process_barrier, process_barrier_register, thread_pointer};

use std::ffi::c_void;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Access, Advice, RemapFailure};
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
    // <asm-generic/resource.h>
    pub const RLIMIT_MEMLOCK: CInt = 8;
    // <asm-generic/fcntl.h> (x86_64 and aarch64)
    pub const O_NONBLOCK: CInt = 0o4000;
    pub const O_NOCTTY: CInt = 0o400;
    // <dlfcn.h>: `# define RTLD_DEFAULT ((void *) 0)`
    pub const RTLD_DEFAULT: *mut std::ffi::c_void = std::ptr::null_mut();
    // <asm-generic/mman-common.h>
    pub const MADV_HUGEPAGE: Option<CInt> = Some(14);
    pub const MADV_NOHUGEPAGE: Option<CInt> = Some(15);
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
    // <sys/resource.h>
    pub const RLIMIT_MEMLOCK: CInt = 6;
    // <sys/fcntl.h>
    pub const O_NONBLOCK: CInt = 0x4;
    pub const O_NOCTTY: CInt = 0x20000;
    // <dlfcn.h>: `#define RTLD_DEFAULT ((void *) -2)`
    pub const RTLD_DEFAULT: *mut std::ffi::c_void = -2isize as *mut std::ffi::c_void;
    /// XNU has no transparent huge pages: superpages are asked for when
    /// memory is allocated (`VM_FLAGS_SUPERPAGE_*`), never by advice, so the
    /// huge-page advice is accepted and does nothing.
    pub const MADV_HUGEPAGE: Option<CInt> = None;
    pub const MADV_NOHUGEPAGE: Option<CInt> = None;
}

use consts::*;

/// Error numbers that `io::ErrorKind` (as of Rust 1.63) leaves uncategorized,
/// with the kind code `src/errors.ts` maps them by. EISDIR and ENOTDIR are 21
/// and 20 on Linux (<asm-generic/errno-base.h>) and macOS (<sys/errno.h>).
pub const EXTRA_KINDS: &[(i32, i32)] = &[(21, KIND_IS_A_DIRECTORY), (20, KIND_NOT_A_DIRECTORY)];

/// `errno` for a full filesystem (ENOSPC: 28 on Linux, <asm-generic/errno-base.h>,
/// and macOS, <sys/errno.h>), the code `Failure::out_of_space` carries.
pub const NO_SPACE: i32 = 28;

/// What the fault guard needs to find a mapping's file from a signal
/// handler: its descriptor.
pub fn file_key(file: &File) -> usize {
    file.as_raw_fd() as usize
}

/// EINVAL: 22 on Linux (<asm-generic/errno-base.h>) and macOS (<sys/errno.h>).
const EINVAL: i32 = 22;

/// Writes `bytes` into `file` at `position` (`pwrite`), only while the file
/// covers the whole range: a positional write past the end would grow a file
/// truncated under its mappings. Linux and macOS keep one page cache for
/// `pwrite` and `MAP_SHARED` mappings of a file, so every mapping sees the
/// bytes at once. Returns how many bytes from the start were written; stops
/// at the first failure (the caller copies the rest through the mapping,
/// which reports it).
pub fn write_within(file: &File, position: u64, bytes: &[u8]) -> usize {
    use std::os::unix::fs::FileExt;
    let end = position.saturating_add(bytes.len() as u64);
    match file.metadata() {
        Ok(meta) if meta.len() >= end => {}
        _ => return 0,
    }
    let mut done = 0;
    while done < bytes.len() {
        match file.write_at(&bytes[done..], position + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    done
}

/// Starts writing `[position, position + len)` of `file`'s dirty pages to the
/// disk and returns at once (`sync_file_range(SYNC_FILE_RANGE_WRITE)`): what
/// a later flush waits for is then partly done while the caller goes on
/// writing. Durability still comes from the flush alone; a failure here
/// changes nothing and is ignored.
#[cfg(target_os = "linux")]
pub fn start_writeback(file: &File, position: u64, len: u64) {
    extern "C" {
        fn sync_file_range(fd: CInt, offset: i64, nbytes: i64, flags: u32) -> CInt;
    }
    const SYNC_FILE_RANGE_WRITE: u32 = 2;
    let (offset, nbytes) = match (i64::try_from(position), i64::try_from(len)) {
        (Ok(offset), Ok(nbytes)) => (offset, nbytes),
        _ => return,
    };
    // SAFETY: a plain system call on an open descriptor; no memory is passed.
    unsafe { sync_file_range(file.as_raw_fd(), offset, nbytes, SYNC_FILE_RANGE_WRITE) };
}

/// macOS has no call that starts writeback of a range without waiting.
#[cfg(not(target_os = "linux"))]
pub fn start_writeback(_file: &File, _position: u64, _len: u64) {}

/// `madvise` advice values (identical on Linux and macOS, <sys/mman.h>).
const MADV_NORMAL: CInt = 0;
const MADV_RANDOM: CInt = 1;
const MADV_SEQUENTIAL: CInt = 2;
const MADV_WILLNEED: CInt = 3;
const MADV_DONTNEED: CInt = 4;

/// `struct rlimit` (<sys/resource.h>): two `rlim_t`, 64-bit on both systems.
#[repr(C)]
struct Rlimit {
    current: u64,
    maximum: u64,
}

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
    fn mincore(addr: *mut c_void, len: usize, vec: *mut u8) -> CInt;
    fn mlock(addr: *const c_void, len: usize) -> CInt;
    fn munlock(addr: *const c_void, len: usize) -> CInt;
    fn getrlimit(resource: CInt, limit: *mut Rlimit) -> CInt;
    fn dlsym(handle: *mut c_void, symbol: *const std::os::raw::c_char) -> *mut c_void;
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
/// `len` must be non-zero. mmap(2): "EINVAL (since Linux 2.6.12) length was
/// 0"; POSIX likewise ("The value of len is zero"), so callers represent an
/// empty file without a mapping.
pub unsafe fn map(file: Option<&File>, offset: u64, len: usize, access: Access) -> Result<usize> {
    let shared = access.write && !access.private && file.is_some();
    let mut flags = if shared {
        MAP_SHARED
    } else if file.is_some() {
        MAP_PRIVATE | MAP_NORESERVE
    } else {
        // Anonymous memory is charged normally: better ENOMEM now than the
        // OOM killer later.
        MAP_PRIVATE
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

/// Changes the protection of `[addr, addr + len)` in place: read-only, or
/// read-write again (`write`), as `map` made it; the pages keep their
/// contents and their copy-on-write state. mprotect(2): "PROT_READ The memory
/// can be read. PROT_WRITE The memory can be modified." A store to a page
/// made read-only raises SIGSEGV (SEGV_ACCERR), which the fault guard does
/// not catch: the caller refuses native writes while a mapping is
/// read-only, and a store through a JS view kills the process.
///
/// # Safety
/// `addr` must be page aligned and the range must lie in one live mapping
/// that `map` made (so that making it writable again is what it was).
pub unsafe fn protect(addr: usize, len: usize, write: bool, _copy_on_write: bool) -> Result<()> {
    let prot = if write {
        PROT_READ | PROT_WRITE
    } else {
        PROT_READ
    };
    // SAFETY: per this function's contract.
    if mprotect(addr as *mut c_void, len, prot) != 0 {
        return Err(Failure::last_os("mprotect"));
    }
    Ok(())
}

/// Writes dirty pages in `[addr, addr + len)` back to the file. msync(2):
/// "MS_ASYNC Specifies that an update be scheduled, but the call returns
/// immediately. MS_SYNC Requests an update and waits for it to complete."
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

/// Makes what a mapping wrote to `file` durable: fsync(2), which on macOS
/// `File::sync_all` turns into `fcntl(F_FULLFSYNC)` (macOS fsync(2): "the
/// drive itself may not physically write the data to the platters for quite
/// some time"). Only a shared
/// writable mapping can have changed its file; for a read-only or
/// copy-on-write one there is nothing of ours to sync, and a full sync would
/// only cost the time to flush other writers' data.
pub fn sync(file: &File, access: Access) -> Result<()> {
    if !access.write || access.private {
        return Ok(());
    }
    file.sync_all().map_err(|err| Failure::os("fsync", err))
}

/// The failure of opening `path` as a file. open(2) reports a directory
/// opened for writing itself ("EISDIR pathname refers to a directory and the
/// access requested involved writing"); one opened read-only opens, and the
/// caller's fstat finds it is a directory.
///
/// With `open_options`' O_NONBLOCK, a FIFO opened for writing with no reader,
/// and a socket, fail with ENXIO (open(2)); a look at the path (stat, which
/// never blocks) then reports them as what they are.
pub fn open_error(path: &str, err: io::Error) -> Failure {
    if err.raw_os_error() == Some(ENXIO) {
        if let Ok(meta) = std::fs::metadata(path) {
            if let Err(failure) = mappable(&meta) {
                return failure;
            }
        }
    }
    Failure::os("open", err)
}

/// `errno` "No such device or address" (6 on Linux and macOS).
const ENXIO: i32 = 6;

/// O_NONBLOCK, so that opening a FIFO with no writer returns at once instead
/// of blocking forever (fifo(7)); open(2): "this flag has no effect for
/// regular files and block devices", which are all that is mapped (see
/// `check_mappable`). O_NOCTTY, so that opening a terminal never makes it
/// the controlling one.
pub fn open_options(options: &mut std::fs::OpenOptions) {
    options.custom_flags(O_NONBLOCK | O_NOCTTY);
}

/// Only regular files (and directories, which the caller reports as such)
/// go on to be sized and mapped: mmap(2) refuses a FIFO or socket with
/// ENODEV, and a device's size is not its length, so those are refused here
/// with `NotSupported`.
pub fn check_mappable(file: &File) -> Result<()> {
    let meta = file.metadata().map_err(|err| Failure::os("fstat", err))?;
    mappable(&meta)
}

fn mappable(meta: &std::fs::Metadata) -> Result<()> {
    let kind = meta.file_type();
    let what = if kind.is_file() || kind.is_dir() {
        return Ok(());
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    };
    Err(Failure::not_mappable(ENODEV, what))
}

/// `errno` "Operation not supported by device", what mmap(2) returns for a
/// file it cannot map (19 on Linux and macOS).
const ENODEV: i32 = 19;

/// Allocates `file`'s blocks up to `len` bytes and grows it to `len` when
/// shorter: posix_fallocate(3) (Linux: fallocate(2), or glibc writes a zero
/// into each block where the filesystem has no fallocate), which fails with
/// ENOSPC when the disk is full and, on Linux, also fills holes below the
/// old end. The caller restores the length after a failure.
#[cfg(target_os = "linux")]
pub fn preallocate(file: &File, len: u64) -> Result<()> {
    extern "C" {
        fn posix_fallocate(fd: CInt, offset: OffT, len: OffT) -> CInt;
    }
    if len == 0 {
        return Ok(());
    }
    // SAFETY: a plain system call on our own descriptor; `len` < 2^53.
    match unsafe { posix_fallocate(file.as_raw_fd(), 0, len as OffT) } {
        0 => Ok(()),
        code => Err(Failure::os(
            "posix_fallocate",
            io::Error::from_raw_os_error(code),
        )),
    }
}

/// Allocates the blocks `file` needs to grow to `len` bytes with
/// `fcntl(F_PREALLOCATE)` (contiguous first, then any), which fails with
/// ENOSPC when the disk is full, then grows it. macOS allocates from the
/// physical end of the file, so holes below it stay holes.
#[cfg(target_os = "macos")]
pub fn preallocate(file: &File, len: u64) -> Result<()> {
    /// `fstore_t` (<sys/fcntl.h>).
    #[repr(C)]
    struct FStore {
        flags: u32,
        posmode: CInt,
        offset: OffT,
        length: OffT,
        bytesalloc: OffT,
    }
    extern "C" {
        fn fcntl(fd: CInt, cmd: CInt, ...) -> CInt;
    }
    // <sys/fcntl.h>
    const F_PREALLOCATE: CInt = 42;
    const F_ALLOCATECONTIG: u32 = 0x2;
    const F_ALLOCATEALL: u32 = 0x4;
    const F_PEOFPOSMODE: CInt = 3;
    let current = file
        .metadata()
        .map_err(|err| Failure::os("fstat", err))?
        .len();
    if len <= current {
        return Ok(());
    }
    let mut store = FStore {
        flags: F_ALLOCATECONTIG | F_ALLOCATEALL,
        posmode: F_PEOFPOSMODE,
        offset: 0,
        length: (len - current) as OffT,
        bytesalloc: 0,
    };
    let fd = file.as_raw_fd();
    // SAFETY: `store` is a valid fstore_t for the duration of the calls.
    unsafe {
        if fcntl(fd, F_PREALLOCATE, &mut store as *mut FStore) == -1 {
            store.flags = F_ALLOCATEALL;
            if fcntl(fd, F_PREALLOCATE, &mut store as *mut FStore) == -1 {
                return Err(Failure::last_os("fcntl(F_PREALLOCATE)"));
            }
        }
    }
    file.set_len(len)
        .map_err(|err| Failure::os("ftruncate", err))
}

/// Installs the SIGBUS guard (`unix/fault.rs`) once per process: touching a
/// page of a file mapping past the end of a file truncated meanwhile raises
/// SIGBUS (mmap(2): "Attempted access to a page of the buffer that lies
/// beyond the end of the mapped file"), which would kill the process.
pub fn guard_faults() -> Result<()> {
    fault::install()
}

/// Passes `advice` for `[addr, addr + len)` to the kernel. The huge-page
/// advice does nothing on macOS (see `consts::MADV_HUGEPAGE`); on Linux a
/// kernel built without transparent huge pages refuses it with EINVAL
/// (madvise(2), MADV_HUGEPAGE: "available only in kernels built with the
/// CONFIG_TRANSPARENT_HUGEPAGE configuration option"), reported as
/// unsupported.
/// Whether the pages then become huge is the kernel's business
/// (`/sys/kernel/mm/transparent_hugepage/enabled` for anonymous memory,
/// `shmem_enabled` for shared memory).
///
/// # Safety
/// The range must lie within one live mapping. `DontNeed` drops the pages:
/// a shared or file mapping reads them back from the file, but private
/// anonymous memory would read zeros, so callers never pass it for those.
pub unsafe fn advise(addr: usize, len: usize, advice: Advice) -> Result<()> {
    let value = match advice {
        Advice::Normal => MADV_NORMAL,
        Advice::Sequential => MADV_SEQUENTIAL,
        Advice::Random => MADV_RANDOM,
        Advice::WillNeed => MADV_WILLNEED,
        Advice::DontNeed => MADV_DONTNEED,
        Advice::HugePage | Advice::NoHugePage => {
            let value = if advice == Advice::HugePage {
                MADV_HUGEPAGE
            } else {
                MADV_NOHUGEPAGE
            };
            let value = match value {
                Some(value) => value,
                None => return Ok(()),
            };
            // SAFETY: per this function's contract.
            if madvise(addr as *mut c_void, len, value) != 0 {
                let err = io::Error::last_os_error();
                if err.raw_os_error() == Some(EINVAL) {
                    return Err(Failure::new(
                        crate::error::Status::Unsupported,
                        "madvise",
                        "this kernel offers no transparent huge pages",
                    ));
                }
                return Err(Failure::os("madvise", err));
            }
            return Ok(());
        }
    };
    // SAFETY: per this function's contract.
    if madvise(addr as *mut c_void, len, value) != 0 {
        return Err(Failure::last_os("madvise"));
    }
    Ok(())
}

/// Counts the pages of `[addr, addr + len)` that are in memory.
///
/// # Safety
/// The range must lie within one live mapping.
pub unsafe fn resident(addr: usize, len: usize) -> Result<usize> {
    // mincore(2) writes one byte per page: ask RESIDENT_CHUNK pages at a
    // time, into a buffer on the stack, so that a huge mapping costs no
    // allocation (a byte per page of 4 TiB would be 1 GiB).
    let page = page_size();
    let mut vec = [0u8; RESIDENT_CHUNK];
    let mut count = 0;
    let mut done = 0;
    while done < len {
        let bytes = (len - done).min(RESIDENT_CHUNK * page);
        let pages = (bytes + page - 1) / page;
        // SAFETY: the chunk lies in the caller's range; `vec` has a byte for
        // each of its pages.
        if mincore((addr + done) as *mut c_void, bytes, vec.as_mut_ptr()) != 0 {
            return Err(Failure::last_os("mincore"));
        }
        // Bit 0 is "resident" on both systems (MINCORE_INCORE on macOS).
        count += vec[..pages].iter().filter(|&&state| state & 1 != 0).count();
        done += bytes;
    }
    Ok(count)
}

/// Pages `resident` asks about per call (a 16 KiB buffer on the stack).
const RESIDENT_CHUNK: usize = 16 * 1024;

/// Pins `[addr, addr + len)` in memory.
///
/// # Safety
/// The range must lie within one live mapping.
pub unsafe fn lock(addr: usize, len: usize) -> Result<()> {
    // SAFETY: per this function's contract.
    if mlock(addr as *const c_void, len) == 0 {
        return Ok(());
    }
    let mut failure = Failure::last_os("mlock");
    let mut limit = Rlimit {
        current: 0,
        maximum: 0,
    };
    // SAFETY: `limit` is a valid out-pointer.
    if getrlimit(RLIMIT_MEMLOCK, &mut limit) == 0 {
        let shown = |value: u64| {
            if value == u64::MAX {
                "unlimited".to_string()
            } else {
                format!("{} bytes", value)
            }
        };
        failure.detail.message = format!(
            "{}: the lock limit RLIMIT_MEMLOCK is {} (hard limit {}); raise it with `ulimit -l` or run with CAP_IPC_LOCK",
            failure.detail.message,
            shown(limit.current),
            shown(limit.maximum)
        );
    }
    Err(failure)
}

/// Releases pages pinned by `lock`.
///
/// # Safety
/// The range must lie within one live mapping.
pub unsafe fn unlock(addr: usize, len: usize) -> Result<()> {
    // SAFETY: per this function's contract.
    if munlock(addr as *const c_void, len) != 0 {
        return Err(Failure::last_os("munlock"));
    }
    Ok(())
}

/// Resizes a mapping of a whole file, or of anonymous memory, to `new_len`
/// bytes and sets the file's length to match; keeps the contents; may move
/// the mapping. Here the file is sized first: the caller has exclusive use of
/// the mapping, so nothing touches the pages past a new end of file before
/// they are unmapped.
///
/// # Safety
/// `addr` and `old_len` must describe a live mapping made by `map` with the
/// same `file` and `access`, and both lengths must be non-zero. On success
/// the old range must no longer be used.
pub unsafe fn remap(
    file: Option<&File>,
    addr: usize,
    old_len: usize,
    new_len: usize,
    access: Access,
) -> std::result::Result<usize, RemapFailure> {
    if let Some(file) = file {
        file.set_len(new_len as u64)
            .map_err(|err| Failure::os("ftruncate", err))?;
    }
    match remap_pages(file, addr, old_len, new_len, access) {
        Ok(moved) => Ok(moved),
        Err(failure) => {
            // The mapping is unchanged: give the file its old length back, so
            // that a refused resize changes nothing. (When shrinking, the
            // bytes past the new length are gone already; they read as zeros.)
            if let Some(file) = file {
                let _ = file.set_len(old_len as u64);
            }
            Err(failure.into())
        }
    }
}

/// Linux moves or extends the mapping in the kernel (`mremap(2)`).
#[cfg(target_os = "linux")]
unsafe fn remap_pages(
    file: Option<&File>,
    addr: usize,
    old_len: usize,
    new_len: usize,
    access: Access,
) -> Result<usize> {
    extern "C" {
        fn mremap(
            old_address: *mut c_void,
            old_size: usize,
            new_size: usize,
            flags: CInt,
            ...
        ) -> *mut c_void;
    }
    // <linux/mman.h>
    const MREMAP_MAYMOVE: CInt = 1;
    // SAFETY: per `remap`'s contract; the kernel keeps the pages.
    let moved = mremap(addr as *mut c_void, old_len, new_len, MREMAP_MAYMOVE);
    if moved == MAP_FAILED {
        // mremap needs one kernel mapping (VMA); `lock` or `advise` on part
        // of the range splits it (EFAULT). Map afresh instead, as other
        // systems do.
        return remap_by_mapping(file, addr, old_len, new_len, access);
    }
    Ok(moved as usize)
}

/// Elsewhere there is no mremap.
#[cfg(not(target_os = "linux"))]
unsafe fn remap_pages(
    file: Option<&File>,
    addr: usize,
    old_len: usize,
    new_len: usize,
    access: Access,
) -> Result<usize> {
    remap_by_mapping(file, addr, old_len, new_len, access)
}

/// Without mremap: map the new size, copy anonymous contents over (a file's
/// contents are in the file already), then drop the old mapping.
unsafe fn remap_by_mapping(
    file: Option<&File>,
    addr: usize,
    old_len: usize,
    new_len: usize,
    access: Access,
) -> Result<usize> {
    // SAFETY: new_len is non-zero per the contract.
    let fresh = map(file, 0, new_len, access)?;
    if file.is_none() {
        // SAFETY: both ranges are live mappings of at least this length.
        std::ptr::copy_nonoverlapping(addr as *const u8, fresh as *mut u8, old_len.min(new_len));
    }
    // SAFETY: the old mapping is ours and replaced.
    unmap(addr, old_len)?;
    Ok(fresh)
}

/// Opens named shared memory as a file. Linux keeps POSIX shared memory in
/// /dev/shm, which is all glibc's `shm_open` does too.
#[cfg(target_os = "linux")]
fn shm_file(name: &str, create: bool, exclusive: bool) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // <asm-generic/fcntl.h>
    const O_NOFOLLOW: CInt = 0o400000;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(create && !exclusive)
        .create_new(create && exclusive)
        .mode(0o600)
        .custom_flags(O_NOFOLLOW)
        .open(format!("/dev/shm/{}", name))
        .map_err(|err| Failure::os("shm_open", err))
}

/// Opens named shared memory as a file with `shm_open(3)`.
#[cfg(target_os = "macos")]
fn shm_file(name: &str, create: bool, exclusive: bool) -> Result<File> {
    use std::os::unix::io::FromRawFd;
    extern "C" {
        // Variadic in <sys/mman.h>: declared so, since Apple's arm64 ABI
        // passes variadic arguments differently.
        fn shm_open(name: *const u8, oflag: CInt, ...) -> CInt;
    }
    // <sys/fcntl.h>
    const O_RDWR: CInt = 0x2;
    const O_CREAT: CInt = 0x200;
    const O_EXCL: CInt = 0x800;
    let mut oflag = O_RDWR;
    if create {
        oflag |= O_CREAT;
    }
    if exclusive {
        oflag |= O_EXCL;
    }
    let path = format!("/{}\0", name);
    // SAFETY: `path` is NUL-terminated; the mode is promoted to int as C does.
    let fd = unsafe { shm_open(path.as_ptr(), oflag, 0o600 as CInt) };
    if fd < 0 {
        return Err(Failure::last_os("shm_open"));
    }
    // SAFETY: `fd` is a new descriptor that we own.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Opens or creates named shared memory and maps it read-write.
pub fn shm_map(name: &str, create: bool, exclusive: bool, size: u64) -> Result<(usize, usize)> {
    // Create exclusively first, so that a failure below (a size the system
    // refuses) removes only what this call made and leaves nothing behind.
    let (file, created) = match shm_file(name, create, create) {
        Ok(file) => (file, create),
        Err(failure) if create && !exclusive && failure.detail.os_code == EEXIST => {
            (shm_file(name, false, false)?, false)
        }
        Err(failure) => return Err(failure),
    };
    let mapped = shm_size_and_map(&file, size);
    if mapped.is_err() && created {
        let _ = shm_unlink(name);
    }
    mapped
}

/// `errno` for an existing name (<errno.h>; 17 on Linux and macOS).
const EEXIST: i32 = 17;

/// Grows shared memory to at least `size` bytes and maps it read-write.
fn shm_size_and_map(file: &File, size: u64) -> Result<(usize, usize)> {
    let mut len = file
        .metadata()
        .map_err(|err| Failure::os("fstat", err))?
        .len();
    if size > len {
        file.set_len(size)
            .map_err(|err| Failure::os("ftruncate", err))?;
        len = size;
    }
    let len = usize::try_from(len).map_err(|_| {
        Failure::os(
            "mmap",
            std::io::Error::from(std::io::ErrorKind::OutOfMemory),
        )
    })?;
    if len == 0 {
        return Ok((0, 0));
    }
    let access = Access {
        write: true,
        private: false,
        populate: false,
    };
    // SAFETY: len is non-zero; offset 0 is aligned.
    let addr = unsafe { map(Some(file), 0, len, access)? };
    Ok((addr, len))
}

/// Removes a shared memory name; memory still mapped stays valid.
#[cfg(target_os = "linux")]
pub fn shm_unlink(name: &str) -> Result<()> {
    std::fs::remove_file(format!("/dev/shm/{}", name)).map_err(|err| Failure::os("shm_unlink", err))
}

/// Removes a shared memory name; memory still mapped stays valid.
#[cfg(target_os = "macos")]
pub fn shm_unlink(name: &str) -> Result<()> {
    extern "C" {
        fn shm_unlink(name: *const u8) -> CInt;
    }
    let path = format!("/{}\0", name);
    // SAFETY: `path` is NUL-terminated.
    if unsafe { shm_unlink(path.as_ptr()) } != 0 {
        return Err(Failure::last_os("shm_unlink"));
    }
    Ok(())
}

/// The address of `name` in the process's global symbol scope, or 0.
/// dlsym(3): "RTLD_DEFAULT: Find the first occurrence of the desired symbol
/// using the default shared object search order", which includes the
/// executable's exported symbols (Deno exports its `napi_*` functions).
pub fn process_symbol(name: &std::ffi::CStr) -> usize {
    // SAFETY: `name` is NUL-terminated; dlsym only reads it.
    unsafe { dlsym(RTLD_DEFAULT, name.as_ptr()) as usize }
}
