//! Sleeping on a 32-bit word of shared memory until another thread or
//! process wakes it, on Windows.
//!
//! `WaitOnAddress` only works between threads of one process, so a sleeper
//! waits on a named semaphore instead, named after what the word *is*: the
//! file (volume serial number and file index, the same in every process)
//! and the word's offset in it, or the shared memory section's name and the
//! offset, or (anonymous memory, one process only) the process and address.
//! Every process that maps the word opens the same semaphore. A semaphore
//! keeps its count, so a wake that comes between the sleeper's last look at
//! the word and its wait is not lost; `wake` releases as many permits as the
//! cell's sleeper count says sleep (at most), and a permit left over (its
//! sleeper timed out meanwhile) makes a later wait return early: the "ok"
//! that, as with futexes, callers check the word after. The semaphore goes
//! with the last handle, so leftovers do not outlive the sleepers. Each
//! sleeper also waits on an event of its own, which `interrupt` sets (a
//! mapping closed or resized under it).

use std::ffi::c_void;

use super::{wide, CloseHandle, GetLastError, Handle};
use crate::error::{Failure, Result};
use crate::os::Woke;
use crate::registry;

type Bool = i32;
type Dword = u32;

/// `BY_HANDLE_FILE_INFORMATION` (<fileapi.h>): 13 DWORDs.
#[repr(C)]
#[derive(Default)]
struct FileInformation {
    attributes: Dword,
    creation: [Dword; 2],
    last_access: [Dword; 2],
    last_write: [Dword; 2],
    volume_serial_number: Dword,
    size_high: Dword,
    size_low: Dword,
    links: Dword,
    index_high: Dword,
    index_low: Dword,
}

#[link(name = "kernel32")]
extern "system" {
    fn CreateSemaphoreW(
        attributes: *mut c_void,
        initial: i32,
        maximum: i32,
        name: *const u16,
    ) -> Handle;
    fn OpenSemaphoreW(access: Dword, inherit: Bool, name: *const u16) -> Handle;
    fn ReleaseSemaphore(semaphore: Handle, count: i32, previous: *mut i32) -> Bool;
    fn CreateEventW(
        attributes: *mut c_void,
        manual_reset: Bool,
        initial: Bool,
        name: *const u16,
    ) -> Handle;
    fn SetEvent(event: Handle) -> Bool;
    fn WaitForMultipleObjects(
        count: Dword,
        handles: *const Handle,
        wait_all: Bool,
        milliseconds: Dword,
    ) -> Dword;
    fn GetFileInformationByHandle(file: Handle, info: *mut FileInformation) -> Bool;
    fn GetCurrentProcessId() -> Dword;
}

// <synchapi.h>, <winbase.h>, <winerror.h>.
const SEMAPHORE_MODIFY_STATE: Dword = 0x0002;
const WAIT_OBJECT_0: Dword = 0;
const WAIT_TIMEOUT: Dword = 0x102;
const INFINITE: Dword = 0xFFFF_FFFF;
const ERROR_FILE_NOT_FOUND: Dword = 2;
const ERROR_TOO_MANY_POSTS: Dword = 298;

/// The name of the semaphore of the word at `addr` (inside a live mapping,
/// which the caller holds).
fn semaphore_name(addr: usize) -> Result<Vec<u16>> {
    let held = registry::hold_at(addr).ok_or_else(|| {
        Failure::new(
            crate::error::Status::BadHandle,
            "wait",
            "the word is in no live mapping",
        )
    })?;
    let within = addr - held.map_base();
    let file = held.file_key();
    let key = if file != 0 {
        let mut info = FileInformation::default();
        // SAFETY: `file` is the mapping's open file handle (kept by the
        // mapping, which the caller holds); `info` is a valid out-pointer.
        if unsafe { GetFileInformationByHandle(file as Handle, &mut info) } == 0 {
            return Err(Failure::last_os("GetFileInformationByHandle"));
        }
        format!(
            "file-{:08x}-{:08x}{:08x}-{:x}",
            info.volume_serial_number,
            info.index_high,
            info.index_low,
            held.file_offset() + within as u64
        )
    } else if let Some(section) = super::section_name(held.map_base()) {
        // Backslashes separate namespaces in object names.
        format!("shm-{}-{:x}", section.replace('\\', "_"), within)
    } else {
        // SAFETY: no preconditions.
        format!("mem-{}-{:x}", unsafe { GetCurrentProcessId() }, addr)
    };
    Ok(wide(&format!("Local\\riaskov-mmap-wait-{}", key)))
}

/// What one thread needs to sleep on a word: the word's semaphore and an
/// event that `interrupt` sets.
#[derive(Debug)]
pub struct Sleeper {
    semaphore: usize,
    event: usize,
}

impl Sleeper {
    /// Opens (or creates) the semaphore of the word at `addr`.
    ///
    /// # Safety
    /// `addr` must lie in a live mapping the caller holds.
    pub unsafe fn new(addr: usize) -> Result<Sleeper> {
        let name = semaphore_name(addr)?;
        // SAFETY: `name` is NUL-terminated; an existing semaphore is opened.
        let semaphore = CreateSemaphoreW(std::ptr::null_mut(), 0, i32::MAX, name.as_ptr());
        if semaphore.is_null() {
            return Err(Failure::last_os("CreateSemaphoreW"));
        }
        // SAFETY: an unnamed manual-reset event, not set.
        let event = CreateEventW(std::ptr::null_mut(), 1, 0, std::ptr::null());
        if event.is_null() {
            let failure = Failure::last_os("CreateEventW");
            CloseHandle(semaphore);
            return Err(failure);
        }
        Ok(Sleeper {
            semaphore: semaphore as usize,
            event: event as usize,
        })
    }

    /// Sleeps until woken, interrupted or `timeout_ns` passes. The caller
    /// has looked at the word after counting itself in (module notes).
    ///
    /// # Safety
    /// None beyond the handles being this sleeper's own (they are).
    pub unsafe fn sleep(&self, _expected: u32, timeout_ns: Option<u64>) -> Result<Woke> {
        let handles = [self.semaphore as Handle, self.event as Handle];
        let ms = match timeout_ns {
            None => INFINITE,
            // Rounded up, so that a short timeout still sleeps.
            Some(ns) => ((ns + 999_999) / 1_000_000).min(u64::from(INFINITE - 1)) as Dword,
        };
        // SAFETY: two live handles.
        match WaitForMultipleObjects(2, handles.as_ptr(), 0, ms) {
            WAIT_OBJECT_0 => Ok(Woke::Woken),
            w if w == WAIT_OBJECT_0 + 1 => Ok(Woke::Woken),
            WAIT_TIMEOUT => Ok(Woke::TimedOut),
            _ => Err(Failure::last_os("WaitForMultipleObjects")),
        }
    }

    /// Wakes this sleeper (only this one).
    pub fn interrupt(&self) {
        // SAFETY: the event is this sleeper's own, open until drop.
        unsafe { SetEvent(self.event as Handle) };
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        // SAFETY: closing this sleeper's own handles, once.
        unsafe {
            CloseHandle(self.semaphore as Handle);
            CloseHandle(self.event as Handle);
        }
    }
}

/// Wakes up to `count` sleepers on the word at `addr` (the caller passes at
/// most the cell's sleeper count) by releasing that many permits of its
/// semaphore; returns how many were released. No semaphore means nobody
/// sleeps.
///
/// # Safety
/// `addr` must lie in a live mapping the caller holds.
pub unsafe fn wake(addr: usize, count: u32) -> Result<u32> {
    let count = count.min(i32::MAX as u32);
    if count == 0 {
        return Ok(0);
    }
    let name = semaphore_name(addr)?;
    // SAFETY: `name` is NUL-terminated.
    let semaphore = OpenSemaphoreW(SEMAPHORE_MODIFY_STATE, 0, name.as_ptr());
    if semaphore.is_null() {
        return match GetLastError() {
            ERROR_FILE_NOT_FOUND => Ok(0),
            _ => Err(Failure::last_os("OpenSemaphoreW")),
        };
    }
    let mut previous = 0;
    // SAFETY: a live semaphore handle and a valid out-pointer.
    let released = ReleaseSemaphore(semaphore, count as i32, &mut previous);
    let error = GetLastError();
    CloseHandle(semaphore);
    if released == 0 {
        return match error {
            ERROR_TOO_MANY_POSTS => Ok(0),
            code => Err(Failure::os(
                "ReleaseSemaphore",
                std::io::Error::from_raw_os_error(code as i32),
            )),
        };
    }
    Ok(count)
}
