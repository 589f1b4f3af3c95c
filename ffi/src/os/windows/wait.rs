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
//!
//! A futex wakes only threads already asleep; a semaphore's permit goes to
//! whoever waits next, which may be a thread that came after the wake. In a
//! ping-pong on one word that is a lost wakeup: A hands the turn to B and
//! notifies while B has counted itself in but is not yet inside the wait; A
//! then waits for B's answer, takes B's permit, sees its own value still in
//! the word and sleeps again; B sleeps on with no permit, and both sleep
//! for ever (seen under wine, where a wait is a round trip to the server).
//! So a newcomer first lets the permits already released go to the sleepers
//! counted before it (`let_older_sleepers_wake`), and counts itself in only
//! when none is left. (A third thread's wake that lands between that look
//! and the newcomer counting itself in can still go to the newcomer: two
//! parties on a word never meet that, as the only other party sleeps.)

use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

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

/// `SEMAPHORE_BASIC_INFORMATION` (<ntddk.h>).
#[repr(C)]
#[derive(Default)]
struct SemaphoreInformation {
    current: i32,
    maximum: i32,
}

#[link(name = "ntdll")]
extern "system" {
    fn NtQuerySemaphore(
        semaphore: Handle,
        class: u32,
        info: *mut SemaphoreInformation,
        length: u32,
        returned: *mut u32,
    ) -> i32;
}

// <synchapi.h>, <winbase.h>, <winerror.h>.
const SEMAPHORE_MODIFY_STATE: Dword = 0x0002;
const WAIT_OBJECT_0: Dword = 0;
const WAIT_TIMEOUT: Dword = 0x102;
const INFINITE: Dword = 0xFFFF_FFFF;
const ERROR_FILE_NOT_FOUND: Dword = 2;
const ERROR_TOO_MANY_POSTS: Dword = 298;
/// `SemaphoreBasicInformation`.
const SEMAPHORE_BASIC: u32 = 0;

/// How long a newcomer lets the sleepers before it take their permits.
/// A woken thread takes its permit within microseconds; one that does not
/// within this long has died or is starved, and the newcomer goes on (the
/// worst it does then is take that permit: a wait that returns early).
const OLDER_SLEEPERS_MS: u64 = 50;
/// Yields before the newcomer sleeps between looks.
const OLDER_SLEEPERS_YIELDS: u32 = 64;

/// The permits left in `semaphore` (0 if it cannot say).
fn permits(semaphore: Handle) -> i32 {
    let mut info = SemaphoreInformation::default();
    // SAFETY: a live semaphore handle with query access (CreateSemaphoreW
    // gives all access) and an out-pointer of the size passed.
    let status = unsafe {
        NtQuerySemaphore(
            semaphore,
            SEMAPHORE_BASIC,
            &mut info,
            std::mem::size_of::<SemaphoreInformation>() as u32,
            std::ptr::null_mut(),
        )
    };
    if status < 0 {
        0
    } else {
        info.current
    }
}

/// Waits (a bounded while) until the permits released before this thread
/// counted itself in are gone to the sleepers counted before it (module
/// notes). Permits with no one counted are leftovers of sleepers that left
/// without them: nobody is owed those.
fn let_older_sleepers_wake(semaphore: Handle, sleepers: &AtomicU32) {
    let start = Instant::now();
    for look in 0u32.. {
        if permits(semaphore) == 0 || sleepers.load(Ordering::SeqCst) == 0 {
            return;
        }
        if look < OLDER_SLEEPERS_YIELDS {
            std::thread::yield_now();
        } else if start.elapsed() < Duration::from_millis(OLDER_SLEEPERS_MS) {
            std::thread::sleep(Duration::from_millis(1));
        } else {
            return;
        }
    }
}

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
    /// Opens (or creates) the semaphore of the word at `addr`, and returns
    /// once the permits released for the sleepers already counted are
    /// theirs (module notes).
    ///
    /// # Safety
    /// `addr` must be the word of a wait cell (8 bytes, 4-byte aligned) in a
    /// live mapping the caller holds.
    pub unsafe fn new(addr: usize) -> Result<Sleeper> {
        let name = semaphore_name(addr)?;
        // SAFETY: `name` is NUL-terminated; an existing semaphore is opened.
        let semaphore = CreateSemaphoreW(std::ptr::null_mut(), 0, i32::MAX, name.as_ptr());
        if semaphore.is_null() {
            return Err(Failure::last_os("CreateSemaphoreW"));
        }
        // SAFETY: the cell's sleeper count, per this function's contract;
        // other processes change it too, so it is only touched atomically.
        let_older_sleepers_wake(semaphore, &*((addr + 4) as *const AtomicU32));
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
