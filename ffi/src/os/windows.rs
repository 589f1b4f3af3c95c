//! Windows: the system calls behind a mapping, and the OS rules. Same
//! internal API as `unix.rs` (documented there).

use std::ffi::c_void;
use std::fs::File;
use std::io;
use std::os::windows::io::AsRawHandle;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{Access, Advice, RemapFailure};
use crate::error::{Failure, Result, KIND_NOT_A_DIRECTORY};

// Sleeping on a word until another thread or process wakes it.
#[path = "windows/wait.rs"]
mod wait;
pub use wait::{wake, Sleeper};

/// The process-wide memory barrier of the copy path's marks (`marks.rs`):
/// not used here. `FlushProcessWriteBuffers` is that barrier on Windows, but
/// wine's ntdll implements it as a stub that does nothing (it logs `FIXME
/// stub`), so under the wine this project is tested on a race would go
/// unseen; copies keep the counted pin.
pub fn process_barrier_register() -> bool {
    false
}

/// Never called: marks are only handed out where registration worked.
pub fn process_barrier() {}

/// Not needed without the barrier: marks are off.
#[inline(always)]
pub fn thread_pointer() -> usize {
    0
}

type Handle = *mut c_void;
type Bool = i32;
type Dword = u32;

// <winnt.h> page protections and <memoryapi.h> view access rights.
const PAGE_READONLY: Dword = 0x02;
const PAGE_READWRITE: Dword = 0x04;
const PAGE_WRITECOPY: Dword = 0x08;
const FILE_MAP_COPY: Dword = 0x01;
const FILE_MAP_WRITE: Dword = 0x02;
const FILE_MAP_READ: Dword = 0x04;
const INVALID_HANDLE_VALUE: Handle = -1isize as Handle;

/// Error codes that `io::ErrorKind` (as of Rust 1.63) leaves uncategorized,
/// with the kind code `src/errors.ts` maps them by: ERROR_DIRECTORY (267,
/// <winerror.h>), "the directory name is invalid".
pub const EXTRA_KINDS: &[(i32, i32)] = &[(267, KIND_NOT_A_DIRECTORY)];

/// ERROR_DISK_FULL (112, <winerror.h>), "There is not enough space on the
/// disk": the code `Failure::out_of_space` carries (never raised here, as
/// Windows has no fault guard; a full disk fails when the file grows).
pub const NO_SPACE: i32 = 112;

/// The file's handle; only the Unix fault guard reads it.
pub fn file_key(file: &File) -> usize {
    file.as_raw_handle() as usize
}

/// Writes `bytes` into `file` at `position` (`WriteFile` at an offset), only
/// while the file covers the whole range (a write past the end would grow
/// it). Cached file I/O and mapped views of a local file share the same
/// pages ("coherent", per the `CreateFileMapping` documentation), so every
/// view sees the bytes at once. Returns how many bytes from the start were
/// written; stops at the first failure.
pub fn write_within(file: &File, position: u64, bytes: &[u8]) -> usize {
    use std::os::windows::fs::FileExt;
    let end = position.saturating_add(bytes.len() as u64);
    match file.metadata() {
        Ok(meta) if meta.len() >= end => {}
        _ => return 0,
    }
    let mut done = 0;
    while done < bytes.len() {
        match file.seek_write(&bytes[done..], position + done as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => done += n,
        }
    }
    done
}

/// Windows has no call that starts writeback of a range without waiting
/// (`FlushFileBuffers` waits for the whole file).
pub fn start_writeback(_file: &File, _position: u64, _len: u64) {}

/// `SYSTEM_INFO` from <sysinfoapi.h>.
#[repr(C)]
struct SystemInfo {
    processor_architecture: u16,
    reserved: u16,
    page_size: Dword,
    minimum_application_address: *mut c_void,
    maximum_application_address: *mut c_void,
    active_processor_mask: usize,
    number_of_processors: Dword,
    processor_type: Dword,
    allocation_granularity: Dword,
    processor_level: u16,
    processor_revision: u16,
}

#[link(name = "kernel32")]
extern "system" {
    fn GetSystemInfo(info: *mut SystemInfo);
    fn CreateFileMappingW(
        file: Handle,
        attributes: *mut c_void,
        protect: Dword,
        maximum_size_high: Dword,
        maximum_size_low: Dword,
        name: *const u16,
    ) -> Handle;
    fn MapViewOfFile(
        mapping: Handle,
        access: Dword,
        offset_high: Dword,
        offset_low: Dword,
        bytes: usize,
    ) -> *mut c_void;
    fn MapViewOfFileEx(
        mapping: Handle,
        access: Dword,
        offset_high: Dword,
        offset_low: Dword,
        bytes: usize,
        base: *mut c_void,
    ) -> *mut c_void;
    fn UnmapViewOfFile(address: *const c_void) -> Bool;
    fn FlushViewOfFile(address: *const c_void, bytes: usize) -> Bool;
    fn CloseHandle(handle: Handle) -> Bool;
    fn OpenFileMappingW(access: Dword, inherit: Bool, name: *const u16) -> Handle;
    fn GetLastError() -> Dword;
    fn GetCurrentProcess() -> Handle;
    fn GetModuleHandleW(name: *const u16) -> Handle;
    fn GetProcAddress(module: Handle, name: *const u8) -> *mut c_void;
    fn VirtualLock(address: *mut c_void, bytes: usize) -> Bool;
    fn VirtualProtect(address: *mut c_void, bytes: usize, protect: Dword, old: *mut Dword) -> Bool;
    fn VirtualUnlock(address: *mut c_void, bytes: usize) -> Bool;
    fn VirtualQuery(
        address: *const c_void,
        info: *mut MemoryBasicInformation,
        length: usize,
    ) -> usize;
    fn PrefetchVirtualMemory(
        process: Handle,
        entries: usize,
        addresses: *const MemoryRangeEntry,
        flags: Dword,
    ) -> Bool;
    fn K32QueryWorkingSetEx(
        process: Handle,
        info: *mut WorkingSetExInformation,
        size: Dword,
    ) -> Bool;
    fn GetFileType(file: Handle) -> Dword;
    fn SetFileInformationByHandle(
        file: Handle,
        class: CInt,
        info: *const c_void,
        size: Dword,
    ) -> Bool;
}

type CInt = i32;

/// `WIN32_MEMORY_RANGE_ENTRY` from <memoryapi.h>.
#[repr(C)]
struct MemoryRangeEntry {
    address: *mut c_void,
    bytes: usize,
}

/// `PSAPI_WORKING_SET_EX_INFORMATION` from <psapi.h>; bit 0 of the
/// attributes is "Valid" (the page is in the working set).
#[repr(C)]
#[derive(Clone, Copy)]
struct WorkingSetExInformation {
    address: *mut c_void,
    attributes: usize,
}

/// `MEMORY_BASIC_INFORMATION` from <winnt.h> (64-bit layout).
#[repr(C)]
struct MemoryBasicInformation {
    base_address: *mut c_void,
    allocation_base: *mut c_void,
    allocation_protect: Dword,
    partition_id: u16,
    region_size: usize,
    state: Dword,
    protect: Dword,
    kind: Dword,
}

/// <winerror.h>
const ERROR_ALREADY_EXISTS: i32 = 183;
const ERROR_NOT_ENOUGH_MEMORY: i32 = 8;
const ERROR_COMMITMENT_LIMIT: i32 = 1455;
const ERROR_WORKING_SET_QUOTA: i32 = 1453;

/// A NUL-terminated UTF-16 copy of `text`.
fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
static GRANULARITY: AtomicUsize = AtomicUsize::new(0);

fn system_info() -> (usize, usize) {
    let page = PAGE_SIZE.load(Ordering::Relaxed);
    if page != 0 {
        return (page, GRANULARITY.load(Ordering::Relaxed));
    }
    // SAFETY: GetSystemInfo fills the struct and cannot fail; all-zero is a
    // valid value for every field before it does.
    let info = unsafe {
        let mut info: SystemInfo = std::mem::zeroed();
        GetSystemInfo(&mut info);
        info
    };
    GRANULARITY.store(info.allocation_granularity as usize, Ordering::Relaxed);
    PAGE_SIZE.store(info.page_size as usize, Ordering::Relaxed);
    (
        info.page_size as usize,
        info.allocation_granularity as usize,
    )
}

pub fn page_size() -> usize {
    system_info().0
}

pub fn allocation_granularity() -> usize {
    system_info().1
}

/// Maps `len` bytes at `offset` (a multiple of `allocation_granularity()`).
///
/// # Safety
/// `len` must be non-zero. CreateFileMappingW: "An attempt to map a file
/// with a length of 0 (zero) fails with an error code of
/// ERROR_FILE_INVALID", so callers represent an empty file without a mapping.
pub unsafe fn map(file: Option<&File>, offset: u64, len: usize, access: Access) -> Result<usize> {
    // SAFETY: per this function's contract; a null base lets Windows choose.
    let mapped = map_at(file, offset, len, access, false, std::ptr::null_mut());
    let read_only = file.is_some() && !access.write && !access.private;
    match mapped {
        // A copy-on-write view is charged against the commit limit for its
        // whole length up front, so a very large read-only file may not fit.
        // Then map it truly read-only: it maps, at the price that a store
        // through a JS view of it is an access violation (README, view()).
        Err(failure)
            if read_only
                && matches!(
                    failure.detail.os_code,
                    ERROR_NOT_ENOUGH_MEMORY | ERROR_COMMITMENT_LIMIT
                ) =>
        {
            map_at(file, offset, len, access, true, std::ptr::null_mut())
        }
        other => other,
    }
}

/// `map`, at the address `base` when it is not null (MapViewOfFileEx fails
/// if that range is not free). `strict` maps a read-only file with read-only
/// pages instead of copy-on-write ones.
///
/// # Safety
/// As for `map`.
unsafe fn map_at(
    file: Option<&File>,
    offset: u64,
    len: usize,
    access: Access,
    strict: bool,
    base: *mut c_void,
) -> Result<usize> {
    // As on Unix, a read-only file mapping is copy-on-write, not read-only:
    // a store through a JS view then changes this process's copy instead of
    // killing it with an access violation. PAGE_WRITECOPY needs only read
    // access to the file.
    let (protect, view_access) = if access.write && !access.private {
        (PAGE_READWRITE, FILE_MAP_WRITE)
    } else if strict && !access.private {
        (PAGE_READONLY, FILE_MAP_READ)
    } else {
        (PAGE_WRITECOPY, FILE_MAP_COPY)
    };
    // A file mapping object sized 0 covers the whole file; anonymous memory
    // (backed by the paging file) needs its size.
    let (handle, size) = match file {
        Some(file) => (file.as_raw_handle() as Handle, 0u64),
        None => (INVALID_HANDLE_VALUE, len as u64),
    };
    let protect = if file.is_none() {
        PAGE_READWRITE
    } else {
        protect
    };
    // SAFETY: `handle` is an open file (or the paging-file sentinel); the
    // other pointers may be null per the documentation.
    let mapping = CreateFileMappingW(
        handle,
        std::ptr::null_mut(),
        protect,
        (size >> 32) as Dword,
        size as Dword,
        std::ptr::null(),
    );
    if mapping.is_null() {
        return Err(Failure::last_os("CreateFileMappingW"));
    }
    let view_access = if file.is_none() {
        FILE_MAP_WRITE
    } else {
        view_access
    };
    // SAFETY: `mapping` is the live section made above; the view keeps the
    // section alive, so the handle is closed right after (as memmap2 does).
    let addr = MapViewOfFileEx(
        mapping,
        view_access,
        (offset >> 32) as Dword,
        offset as Dword,
        len,
        base,
    );
    let failure = if addr.is_null() {
        Some(Failure::last_os("MapViewOfFile"))
    } else {
        None
    };
    // SAFETY: closing our own handle; the result does not matter to the view.
    CloseHandle(mapping);
    if let Some(failure) = failure {
        return Err(failure);
    }
    if access.populate {
        // SAFETY: the view was just made and is `len` bytes long.
        prefault(addr as usize, len);
    }
    Ok(addr as usize)
}

/// Brings every page of `[addr, addr + len)` into memory, as MAP_POPULATE
/// does on Linux: a prefetch hint for the whole range (PrefetchVirtualMemory,
/// Windows 8+; its failure is harmless), then one read per page, which a
/// copy-on-write view answers without copying.
///
/// # Safety
/// The range must lie within one live view.
unsafe fn prefault(addr: usize, len: usize) {
    let entry = MemoryRangeEntry {
        address: addr as *mut c_void,
        bytes: len,
    };
    // SAFETY: one valid entry describing our own view; a failure only means
    // no prefetch.
    PrefetchVirtualMemory(GetCurrentProcess(), 1, &entry, 0);
    let page = page_size();
    let mut at = addr;
    while at < addr + len {
        // SAFETY: `at` lies inside the view; a volatile read cannot be
        // optimized away and changes nothing.
        std::ptr::read_volatile(at as *const u8);
        at += page;
    }
}

/// Changes the protection of `[addr, addr + len)` in place: PAGE_READONLY,
/// or back to what `map` gave the view (PAGE_READWRITE, or PAGE_WRITECOPY
/// for a copy-on-write view, whose pages already copied stay this process's
/// own). VirtualProtect: "changes the protection on a region of committed
/// pages". A store to a read-only page is an access violation, which nothing
/// here catches: the caller refuses native writes while a mapping is
/// read-only, and a store through a JS view ends the process.
///
/// # Safety
/// The range must lie within one live view that `map` made.
pub unsafe fn protect(addr: usize, len: usize, write: bool, copy_on_write: bool) -> Result<()> {
    let protection = match (write, copy_on_write) {
        (false, _) => PAGE_READONLY,
        (true, true) => PAGE_WRITECOPY,
        (true, false) => PAGE_READWRITE,
    };
    let mut old: Dword = 0;
    // SAFETY: per this function's contract; `old` is a live out-parameter.
    if VirtualProtect(addr as *mut c_void, len, protection, &mut old) == 0 {
        return Err(Failure::last_os("VirtualProtect"));
    }
    Ok(())
}

/// Releases a view made by `map`.
///
/// # Safety
/// `addr` must be what `map` returned, and no one may use the range after.
pub unsafe fn unmap(addr: usize, _len: usize) -> Result<()> {
    // SAFETY: per this function's contract.
    if UnmapViewOfFile(addr as *const c_void) == 0 {
        return Err(Failure::last_os("UnmapViewOfFile"));
    }
    if let Some(section) = take_section(addr) {
        // SAFETY: the handle was kept open by `shm_map` for this view only.
        CloseHandle(section as Handle);
    }
    Ok(())
}

/// Writes dirty pages in `[addr, addr + len)` back to the file.
/// FlushViewOfFile always waits for the write to be issued; `wait` has no
/// cheaper variant here.
///
/// # Safety
/// The range must lie within one live view.
pub unsafe fn flush(addr: usize, len: usize, _wait: bool) -> Result<()> {
    // FlushViewOfFile: "If dwNumberOfBytesToFlush is zero, the file is
    // flushed from the base address to the end of the mapping." An empty
    // range has nothing to flush.
    if len == 0 {
        return Ok(());
    }
    // SAFETY: per this function's contract.
    if FlushViewOfFile(addr as *const c_void, len) == 0 {
        return Err(Failure::last_os("FlushViewOfFile"));
    }
    Ok(())
}

/// Makes what a mapping wrote to `file` durable: FlushFileBuffers (what
/// `File::sync_all` calls). Only a shared writable mapping can have changed
/// its file; a read-only or copy-on-write one has nothing to sync, and its
/// file is open read-only, which FlushFileBuffers refuses with
/// ERROR_ACCESS_DENIED ("The file handle must have GENERIC_WRITE access to
/// the file"). A failure is reported as "fsync", the name on every OS.
pub fn sync(file: &File, access: Access) -> Result<()> {
    if !access.write || access.private {
        return Ok(());
    }
    file.sync_all().map_err(|err| Failure::os("fsync", err))
}

/// The failure of opening `path` as a file. CreateFileW refuses to open a
/// directory as a file with ERROR_ACCESS_DENIED (a directory needs
/// FILE_FLAG_BACKUP_SEMANTICS); that is reported as Unix reports it
/// (EISDIR), so callers see one error for one mistake.
pub fn open_error(path: &str, err: io::Error) -> Failure {
    if err.kind() == io::ErrorKind::PermissionDenied
        && std::fs::metadata(path).map_or(false, |meta| meta.is_dir())
    {
        Failure::is_a_directory("open")
    } else {
        Failure::os("open", err)
    }
}

/// Nothing to add: CreateFileW never waits for the other end of a pipe (it
/// fails with ERROR_PIPE_BUSY instead).
pub fn open_options(_options: &mut std::fs::OpenOptions) {}

/// Only disk files (and directories, which the caller reports as such) are
/// mapped: GetFileType tells a pipe or a character device (`CON`, `NUL`,
/// a COM port) apart, and those are refused with `NotSupported` before
/// anything reads them.
pub fn check_mappable(file: &File) -> Result<()> {
    // <fileapi.h>
    const FILE_TYPE_DISK: Dword = 1;
    const FILE_TYPE_CHAR: Dword = 2;
    const FILE_TYPE_PIPE: Dword = 3;
    // ERROR_NOT_SUPPORTED (50, <winerror.h>).
    const ERROR_NOT_SUPPORTED: i32 = 50;
    // SAFETY: a query on our own open handle.
    let what = match unsafe { GetFileType(file.as_raw_handle()) } {
        FILE_TYPE_DISK => return Ok(()),
        FILE_TYPE_CHAR => "a character device",
        FILE_TYPE_PIPE => "a pipe",
        _ => "not a disk file",
    };
    Err(Failure::not_mappable(ERROR_NOT_SUPPORTED, what))
}

/// Reserves `len` bytes of disk for `file` (SetFileInformationByHandle with
/// FileAllocationInfo), which fails with ERROR_DISK_FULL when the disk has no
/// room, then grows it to `len` when shorter. The caller restores the length
/// after a failure.
pub fn preallocate(file: &File, len: u64) -> Result<()> {
    // FILE_INFO_BY_HANDLE_CLASS (<minwinbase.h>): FileAllocationInfo.
    const FILE_ALLOCATION_INFO: CInt = 5;
    let current = file
        .metadata()
        .map_err(|err| Failure::os("fstat", err))?
        .len();
    if len <= current {
        return Ok(());
    }
    // FILE_ALLOCATION_INFO: one LARGE_INTEGER, AllocationSize.
    let size = len as i64;
    // SAFETY: `size` is a valid FILE_ALLOCATION_INFO for the call.
    let ok = unsafe {
        SetFileInformationByHandle(
            file.as_raw_handle(),
            FILE_ALLOCATION_INFO,
            &size as *const i64 as *const c_void,
            std::mem::size_of::<i64>() as Dword,
        )
    };
    if ok == 0 {
        return Err(Failure::last_os("SetFileInformationByHandle"));
    }
    file.set_len(len)
        .map_err(|err| Failure::os("SetFileInformationByHandle", err))
}

/// Nothing to guard: Windows refuses to truncate a file while a view of it is
/// mapped (ERROR_USER_MAPPED_FILE, 1224: "The requested operation cannot be
/// performed on a file with a user-mapped section open"), so the fault the
/// Unix SIGBUS guard repairs cannot happen here.
pub fn guard_faults() -> Result<()> {
    Ok(())
}

/// Resizes a mapping of a whole file, or of anonymous memory, to `new_len`
/// bytes and sets the file's length to match. Windows refuses to change the
/// length of a file while any view of it exists (ERROR_USER_MAPPED_FILE), so
/// a file mapping is unmapped, resized and mapped again; anonymous memory is
/// copied into a new section.
///
/// # Safety
/// As for the Unix version: `addr`/`old_len` describe a live mapping made by
/// `map` with the same `file` and `access`; both lengths are non-zero.
pub unsafe fn remap(
    file: Option<&File>,
    addr: usize,
    old_len: usize,
    new_len: usize,
    access: Access,
) -> std::result::Result<usize, RemapFailure> {
    match file {
        None => {
            let fresh = map(None, 0, new_len, access)?;
            // SAFETY: both views are live and at least this long.
            std::ptr::copy_nonoverlapping(
                addr as *const u8,
                fresh as *mut u8,
                old_len.min(new_len),
            );
            unmap(addr, old_len)?;
            Ok(fresh)
        }
        Some(file) if new_len > old_len => {
            // A file may grow while mapped: size it, map the new length, and
            // only then drop the old view, so a refusal changes nothing.
            file.set_len(new_len as u64)
                .map_err(|err| Failure::os("SetFileInformationByHandle", err))?;
            let fresh = match map(Some(file), 0, new_len, access) {
                Ok(fresh) => fresh,
                Err(failure) => {
                    let _ = file.set_len(old_len as u64);
                    return Err(failure.into());
                }
            };
            if let Err(failure) = unmap(addr, old_len) {
                // SAFETY: `fresh` was just mapped and nobody has seen it.
                let _ = unmap(fresh, new_len);
                let _ = file.set_len(old_len as u64);
                return Err(failure.into());
            }
            Ok(fresh)
        }
        Some(file) => {
            // Shrinking is refused while any view of the file exists
            // (ERROR_USER_MAPPED_FILE), ours included: unmap first.
            unmap(addr, old_len)?;
            if let Err(err) = file.set_len(new_len as u64) {
                let failure = Failure::os("SetFileInformationByHandle", err);
                // Someone else's view blocks it: put ours back where it was,
                // so that a refused resize changes nothing.
                // SAFETY: the range was ours a moment ago; MapViewOfFileEx
                // fails rather than overlap anything mapped there since.
                let restored = map_at(Some(file), 0, old_len, access, false, addr as *mut c_void);
                return Err(RemapFailure {
                    failure,
                    unmapped: !matches!(restored, Ok(at) if at == addr),
                });
            }
            map(Some(file), 0, new_len, access).map_err(|failure| RemapFailure {
                failure,
                unmapped: true,
            })
        }
    }
}

/// Windows has no per-view access-pattern hints; `WillNeed` prefetches the
/// range (PrefetchVirtualMemory) and the others are accepted and ignored,
/// the huge-page advice too (large pages exist only as `MEM_LARGE_PAGES`
/// allocations made with a privilege, never for a file view).
///
/// # Safety
/// The range must lie within one live view.
pub unsafe fn advise(addr: usize, len: usize, advice: Advice) -> Result<()> {
    if advice != Advice::WillNeed {
        return Ok(());
    }
    let entry = MemoryRangeEntry {
        address: addr as *mut c_void,
        bytes: len,
    };
    // SAFETY: one valid entry describing our own view.
    if PrefetchVirtualMemory(GetCurrentProcess(), 1, &entry, 0) == 0 {
        return Err(Failure::last_os("PrefetchVirtualMemory"));
    }
    Ok(())
}

/// Counts the pages of `[addr, addr + len)` in the working set.
///
/// # Safety
/// The range must lie within one live view.
pub unsafe fn resident(addr: usize, len: usize) -> Result<usize> {
    // One 16-byte entry per page: ask RESIDENT_CHUNK pages at a time, so that
    // a huge view costs a bounded buffer (64 KiB) rather than one
    // proportional to its size.
    const RESIDENT_CHUNK: usize = 4096;
    let page = page_size();
    let pages = (len + page - 1) / page;
    let mut info = vec![
        WorkingSetExInformation {
            address: std::ptr::null_mut(),
            attributes: 0,
        };
        pages.min(RESIDENT_CHUNK)
    ];
    let mut count = 0;
    let mut first = 0;
    while first < pages {
        let n = (pages - first).min(RESIDENT_CHUNK);
        for (i, entry) in info[..n].iter_mut().enumerate() {
            entry.address = (addr + (first + i) * page) as *mut c_void;
            entry.attributes = 0;
        }
        let bytes = std::mem::size_of::<WorkingSetExInformation>() * n;
        // SAFETY: `info` holds `n` entries, as the size says.
        if K32QueryWorkingSetEx(GetCurrentProcess(), info.as_mut_ptr(), bytes as Dword) == 0 {
            return Err(Failure::last_os("QueryWorkingSetEx"));
        }
        count += info[..n]
            .iter()
            .filter(|entry| entry.attributes & 1 != 0)
            .count();
        first += n;
    }
    Ok(count)
}

/// Pins `[addr, addr + len)` in memory (VirtualLock).
///
/// # Safety
/// The range must lie within one live view.
pub unsafe fn lock(addr: usize, len: usize) -> Result<()> {
    // SAFETY: per this function's contract.
    if VirtualLock(addr as *mut c_void, len) != 0 {
        return Ok(());
    }
    let mut failure = Failure::last_os("VirtualLock");
    if failure.detail.os_code == ERROR_WORKING_SET_QUOTA {
        failure.detail.message = format!(
            "{}: locked pages count against the process's minimum working set; raise it with SetProcessWorkingSetSize",
            failure.detail.message
        );
    }
    Err(failure)
}

/// Releases pages pinned by `lock` (VirtualUnlock).
///
/// # Safety
/// The range must lie within one live view.
pub unsafe fn unlock(addr: usize, len: usize) -> Result<()> {
    // SAFETY: per this function's contract.
    if VirtualUnlock(addr as *mut c_void, len) == 0 {
        return Err(Failure::last_os("VirtualUnlock"));
    }
    Ok(())
}

/// Named sections mapped by `shm_map`, by view address, with the section
/// handle that keeps the name alive: Windows removes an object's name when
/// its last *handle* closes, even while views of it remain, so closing the
/// handle right after mapping (as `map` does for files) would make the
/// region impossible to open by name. `unmap` closes it.
/// Each entry also keeps the name, which `wait` keys a word of the region by.
static SECTIONS: Mutex<Vec<(usize, usize, String)>> = Mutex::new(Vec::new());

/// Names this process created or opened and has not unlinked (see
/// `shm_unlink`).
static NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn take_section(addr: usize) -> Option<usize> {
    let mut sections = SECTIONS.lock().unwrap_or_else(|poison| poison.into_inner());
    let at = sections.iter().position(|(view, _, _)| *view == addr)?;
    Some(sections.swap_remove(at).1)
}

/// The name of the section `shm_map` mapped at `view`, if it did.
fn section_name(view: usize) -> Option<String> {
    let sections = SECTIONS.lock().unwrap_or_else(|poison| poison.into_inner());
    sections
        .iter()
        .find(|(at, _, _)| *at == view)
        .map(|(_, _, name)| name.clone())
}

/// Opens or creates a named section backed by the paging file and maps all
/// of it. An existing section keeps its size (Windows cannot grow one). The
/// section handle stays open until `unmap`, which keeps the name visible to
/// other processes while this one maps it.
pub fn shm_map(name: &str, create: bool, exclusive: bool, size: u64) -> Result<(usize, usize)> {
    let wide_name = wide(name);
    // SAFETY: `wide_name` is NUL-terminated; the other pointers may be null.
    let section = unsafe {
        if create {
            CreateFileMappingW(
                INVALID_HANDLE_VALUE,
                std::ptr::null_mut(),
                PAGE_READWRITE,
                (size >> 32) as Dword,
                size as Dword,
                wide_name.as_ptr(),
            )
        } else {
            OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, 0, wide_name.as_ptr())
        }
    };
    if section.is_null() {
        return Err(Failure::last_os(if create {
            "CreateFileMappingW"
        } else {
            "OpenFileMappingW"
        }));
    }
    // SAFETY: reading this thread's last error right after the call, which
    // sets ERROR_ALREADY_EXISTS when it opened an existing section.
    if create && exclusive && unsafe { GetLastError() } as i32 == ERROR_ALREADY_EXISTS {
        // SAFETY: closing our own handle.
        unsafe { CloseHandle(section) };
        return Err(Failure::os(
            "CreateFileMappingW",
            std::io::Error::from_raw_os_error(ERROR_ALREADY_EXISTS),
        ));
    }
    // SAFETY: `section` is live; a length of 0 maps the whole section.
    let addr = unsafe { MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, 0) };
    if addr.is_null() {
        let failure = Failure::last_os("MapViewOfFile");
        // SAFETY: closing our own handle; no view refers to it.
        unsafe { CloseHandle(section) };
        return Err(failure);
    }
    SECTIONS
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .push((addr as usize, section as usize, name.to_owned()));
    let mut names = NAMES.lock().unwrap_or_else(|poison| poison.into_inner());
    if !names.iter().any(|known| known == name) {
        names.push(name.to_owned());
    }
    drop(names);
    // SAFETY: `info` is a valid out-pointer for one record; `addr` is the
    // view just made, so the query cannot fail.
    let len = unsafe {
        let mut info: MemoryBasicInformation = std::mem::zeroed();
        VirtualQuery(
            addr,
            &mut info,
            std::mem::size_of::<MemoryBasicInformation>(),
        );
        info.region_size
    };
    Ok((addr as usize, len))
}

/// Windows cannot remove a section's name: it disappears with the last
/// handle (here, the last mapping of it in any process). To keep the POSIX
/// contract callers rely on (unlink succeeds once, then NotFound), this
/// succeeds when the name exists or this process mapped it and has not
/// unlinked it yet, and is otherwise ERROR_FILE_NOT_FOUND. Unlike POSIX, a
/// later open by name still succeeds while some process keeps it mapped.
pub fn shm_unlink(name: &str) -> Result<()> {
    let known = {
        let mut names = NAMES.lock().unwrap_or_else(|poison| poison.into_inner());
        let at = names.iter().position(|known| known == name);
        at.map(|at| names.swap_remove(at)).is_some()
    };
    if known {
        return Ok(());
    }
    let wide_name = wide(name);
    // SAFETY: `wide_name` is NUL-terminated.
    let section = unsafe { OpenFileMappingW(FILE_MAP_READ, 0, wide_name.as_ptr()) };
    if section.is_null() {
        return Err(Failure::last_os("OpenFileMappingW"));
    }
    // SAFETY: closing the handle just opened.
    unsafe { CloseHandle(section) };
    Ok(())
}

/// The address of `name` exported by the process's executable, or 0.
/// GetModuleHandleW: "If this parameter is NULL, GetModuleHandle returns a
/// handle to the file used to create the calling process (.exe file)";
/// deno.exe exports its `napi_*` functions.
pub fn process_symbol(name: &std::ffi::CStr) -> usize {
    // SAFETY: a null name asks for the executable's module, which lives as
    // long as the process; `name` is NUL-terminated.
    unsafe {
        let module = GetModuleHandleW(std::ptr::null());
        if module.is_null() {
            return 0;
        }
        GetProcAddress(module, name.as_ptr() as *const u8) as usize
    }
}
