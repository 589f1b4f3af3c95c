//! Any OS that is neither Unix nor Windows: the same internal API as
//! `unix.rs` (documented there), where every call that would need the OS
//! fails with `Status::Unsupported`, as memmap2's `stub.rs` does. The crate
//! builds, the loader can check the interface version, and every open fails
//! with an error that says why.

use std::fs::File;
use std::io;

use super::{Access, Advice, RemapFailure};
use crate::error::{Failure, LastError, Result, Status, KIND_UNSUPPORTED};

/// No OS error numbers to name.
pub const EXTRA_KINDS: &[(i32, i32)] = &[];

/// No OS error numbers: the out-of-space code is 0.
pub const NO_SPACE: i32 = 0;

/// No file is ever mapped here.
pub fn file_key(_file: &File) -> usize {
    0
}

/// The failure of every call here.
fn unsupported(call: &'static str) -> Failure {
    Failure {
        status: Status::Unsupported,
        detail: LastError {
            os_code: 0,
            kind: KIND_UNSUPPORTED,
            call,
            message: "memory-mapped files are not supported on this platform".into(),
        },
    }
}

/// Writes nothing: every write goes through the mapping.
pub fn write_within(_file: &File, _position: u64, _bytes: &[u8]) -> usize {
    0
}

/// Nothing to write back: nothing is ever mapped.
pub fn start_writeback(_file: &File, _position: u64, _len: u64) {}

/// Never used for a mapping (none can be made); the common page size, so
/// that arithmetic on it stays well defined.
pub fn page_size() -> usize {
    4096
}

pub fn allocation_granularity() -> usize {
    page_size()
}

/// # Safety
/// None needed: nothing is mapped.
pub unsafe fn map(
    _file: Option<&File>,
    _offset: u64,
    _len: usize,
    _access: Access,
) -> Result<usize> {
    Err(unsupported("mmap"))
}

/// # Safety
/// None needed: nothing was mapped.
pub unsafe fn protect(_addr: usize, _len: usize, _write: bool, _copy_on_write: bool) -> Result<()> {
    Err(unsupported("mprotect"))
}

/// # Safety
/// None needed: nothing was mapped.
pub unsafe fn unmap(_addr: usize, _len: usize) -> Result<()> {
    Err(unsupported("munmap"))
}

/// # Safety
/// None needed: nothing was mapped.
pub unsafe fn flush(_addr: usize, _len: usize, _wait: bool) -> Result<()> {
    Err(unsupported("msync"))
}

pub fn sync(_file: &File, _access: Access) -> Result<()> {
    Err(unsupported("fsync"))
}

/// Nothing to add: nothing is opened to be mapped here.
pub fn open_options(_options: &mut std::fs::OpenOptions) {}

/// Never reached: every open fails first.
pub fn check_mappable(_file: &File) -> Result<()> {
    Err(unsupported("open"))
}

pub fn preallocate(_file: &File, _len: u64) -> Result<()> {
    Err(unsupported("preallocate"))
}

pub fn open_error(_path: &str, err: io::Error) -> Failure {
    Failure::os("open", err)
}

pub fn guard_faults() -> Result<()> {
    Err(unsupported("sigaction"))
}

/// # Safety
/// None needed: nothing was mapped.
pub unsafe fn remap(
    _file: Option<&File>,
    _addr: usize,
    _old_len: usize,
    _new_len: usize,
    _access: Access,
) -> std::result::Result<usize, RemapFailure> {
    Err(unsupported("mremap").into())
}

/// # Safety
/// None needed: nothing was mapped.
pub unsafe fn advise(_addr: usize, _len: usize, _advice: Advice) -> Result<()> {
    Err(unsupported("madvise"))
}

/// # Safety
/// None needed: nothing was mapped.
pub unsafe fn resident(_addr: usize, _len: usize) -> Result<usize> {
    Err(unsupported("mincore"))
}

/// # Safety
/// None needed: nothing was mapped.
pub unsafe fn lock(_addr: usize, _len: usize) -> Result<()> {
    Err(unsupported("mlock"))
}

/// # Safety
/// None needed: nothing was mapped.
pub unsafe fn unlock(_addr: usize, _len: usize) -> Result<()> {
    Err(unsupported("munlock"))
}

pub fn shm_map(_name: &str, _create: bool, _exclusive: bool, _size: u64) -> Result<(usize, usize)> {
    Err(unsupported("shm_open"))
}

pub fn shm_unlink(_name: &str) -> Result<()> {
    Err(unsupported("shm_unlink"))
}

/// No runtime to look into here.
pub fn process_symbol(_name: &std::ffi::CStr) -> usize {
    0
}

/// Nothing to sleep on here.
#[derive(Debug)]
pub struct Sleeper;

impl Sleeper {
    /// # Safety
    /// None needed: nothing was mapped.
    pub unsafe fn new(_addr: usize) -> Result<Sleeper> {
        Err(unsupported("wait"))
    }
    /// # Safety
    /// None needed.
    pub unsafe fn sleep(&self, _expected: u32, _timeout_ns: Option<u64>) -> Result<super::Woke> {
        Err(unsupported("wait"))
    }
    pub fn interrupt(&self) {}
}

/// # Safety
/// None needed: nothing was mapped.
pub unsafe fn wake(_addr: usize, _count: u32) -> Result<u32> {
    Err(unsupported("notify"))
}

/// No process barrier here (see `marks.rs`).
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
