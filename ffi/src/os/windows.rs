//! Windows: the system calls behind a mapping. Same internal API as
//! `unix.rs` (documented there).

use std::ffi::c_void;
use std::fs::File;
use std::os::windows::io::AsRawHandle;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Failure, Result, KIND_NOT_A_DIRECTORY};

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
    fn UnmapViewOfFile(address: *const c_void) -> Bool;
    fn FlushViewOfFile(address: *const c_void, bytes: usize) -> Bool;
    fn CloseHandle(handle: Handle) -> Bool;
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
/// `len` must be non-zero: CreateFileMappingW refuses empty files.
pub unsafe fn map(file: Option<&File>, offset: u64, len: usize, access: Access) -> Result<usize> {
    let (protect, view_access) = if access.private {
        (PAGE_WRITECOPY, FILE_MAP_COPY)
    } else if access.write {
        (PAGE_READWRITE, FILE_MAP_WRITE)
    } else {
        (PAGE_READONLY, FILE_MAP_READ)
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
    let addr = MapViewOfFile(
        mapping,
        view_access,
        (offset >> 32) as Dword,
        offset as Dword,
        len,
    );
    let failure = if addr.is_null() {
        Some(Failure::last_os("MapViewOfFile"))
    } else {
        None
    };
    // SAFETY: closing our own handle; the result does not matter to the view.
    CloseHandle(mapping);
    match failure {
        Some(failure) => Err(failure),
        None => Ok(addr as usize),
    }
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
    Ok(())
}

/// Writes dirty pages in `[addr, addr + len)` back to the file.
/// FlushViewOfFile always waits for the write to be issued; `wait` has no
/// cheaper variant here.
///
/// # Safety
/// The range must lie within one live view and `len` must be non-zero
/// (FlushViewOfFile treats 0 as "to the end of the view").
pub unsafe fn flush(addr: usize, len: usize, _wait: bool) -> Result<()> {
    // SAFETY: per this function's contract.
    if FlushViewOfFile(addr as *const c_void, len) == 0 {
        return Err(Failure::last_os("FlushViewOfFile"));
    }
    Ok(())
}
