//! The SIGBUS guard (Linux and macOS): a file truncated under a mapping becomes
//! an error instead of a crash.
//!
//! Touching a page of a `MAP_SHARED` (or not yet copied `MAP_PRIVATE`) file
//! mapping that lies past the file's end raises SIGBUS, which kills the
//! process. This module installs, once and lazily (at the first file mapping),
//! a handler that is chained to whatever handler was there before:
//!
//! - A fault at an address inside one of our mappings (found lock-free in the
//!   registry's atomic slots) is first told apart by the file's size
//!   (`fstat` on the mapping's descriptor, async-signal-safe):
//!   - the file no longer covers the page (size <= its offset): truncation.
//!     The handler marks the mapping's tail lost from the faulting page on,
//!     maps anonymous zero pages over that tail (`MAP_FIXED`, with the
//!     protection every mapping has) and returns: the instruction restarts
//!     and reads zeros, or writes into memory that never reaches the file;
//!   - the file still covers it: the filesystem could not allocate (or read)
//!     the page (ENOSPC, EDQUOT, EIO). Only that page is replaced, so nothing
//!     that had space is lost, and the mapping is marked out of space.
//! - Both are sticky: `registry::Entry::intact` tells the native reads and
//!   writes that touched the lost tail to return `Status::Truncated`, and
//!   every call on a mapping marked out of space (and its close) to fail
//!   with `Failure::out_of_space`.
//! - Anything else (another address, a signal sent with `kill`) goes to the
//!   previous handler unchanged, or to the default action if there was none.
//!
//! The library pins itself when it installs the handler (`dlopen` with
//! `RTLD_NOLOAD | RTLD_NODELETE`), so that closing it in Deno cannot leave the
//! process with a handler in unloaded code. The handler pins the slot it
//! repairs (`registry::hold_at`), so a close on another thread waits instead
//! of unmapping the range under it.
//!
//! Its one entry point is `install()`, which installs the handler if it is
//! not installed yet; `os::guard_faults` calls it (on Windows that is a no-op,
//! because Windows refuses to truncate a mapped file).
//!
//! Limits: a handler installed later by someone else that does not chain
//! bypasses this one; a SIGBUS sent from outside
//! reaches Deno's own handler, which resets the signal to its default action
//! (as without the guard); once truncated, a mapping stays lost even if the
//! file grows again (map it again to see the new bytes). Bytes past the new
//! end of file inside its last page read as zeros without any fault (the
//! kernel zero-fills that page), so they cannot be told apart. A page that
//! cannot be read because of an I/O error raises the same SIGBUS and is
//! reported as out of space (the signal does not carry the cause). A file
//! truncated and grown back before the handler looks counts as out of space.
//! Named shared memory keeps no descriptor, so its faults are truncations. While `resize` has exclusive use of a mapping it is
//! hidden from the handler (only a raw `ptr` used on another thread could
//! fault then).

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::error::{Failure, Result};
use crate::registry;

type CInt = i32;

// <sys/mman.h>, identical on Linux and macOS.
const PROT_READ: CInt = 1;
const PROT_WRITE: CInt = 2;
const MAP_PRIVATE: CInt = 2;
const MAP_FIXED: CInt = 0x10;
const MAP_FAILED: *mut c_void = !0usize as *mut c_void;
// <signal.h>: the handler values `SIG_DFL` and `SIG_IGN`.
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;

/// Every mapping `os::map` makes is readable and writable (read-only files are
/// mapped private copy-on-write, so a JS write through a view never faults):
/// the zero pages keep that, so the repaired tail behaves like the rest.
const REPAIR_PROT: CInt = PROT_READ | PROT_WRITE;

/// Layouts and constants that differ between Linux and macOS.
#[cfg(target_os = "linux")]
mod sys {
    use super::CInt;

    /// `struct sigaction` as glibc and musl declare it
    /// (<bits/sigaction.h>): 152 bytes on 64-bit targets.
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SigAction {
        /// Union of `sa_handler` and `sa_sigaction`.
        pub handler: usize,
        /// `sigset_t`: 1024 bits (<bits/types/__sigset_t.h>).
        pub mask: [u64; 16],
        pub flags: CInt,
        pub restorer: usize,
    }
    pub const SIGACTION_SIZE: usize = 152;

    /// The start of `siginfo_t` (<bits/types/siginfo_t.h>); `si_addr` of a
    /// fault sits at offset 16 on 64-bit targets, after the three ints and
    /// padding. Only read through a pointer the kernel gave us.
    #[repr(C)]
    pub struct SigInfo {
        pub signo: CInt,
        pub errno: CInt,
        pub code: CInt,
        _pad: CInt,
        pub addr: usize,
    }

    // <bits/signum-generic.h> / <bits/signum-arch.h> (x86_64 and aarch64).
    pub const SIGBUS: CInt = 7;
    // <bits/sigaction.h>
    pub const SA_SIGINFO: CInt = 4;
    pub const SA_ONSTACK: CInt = 0x0800_0000;
    // <bits/mman-linux.h>
    pub const MAP_ANONYMOUS: CInt = 0x20;
    // <bits/dlfcn.h>
    pub const RTLD_NOW: CInt = 2;
    pub const RTLD_NOLOAD: CInt = 4;
    pub const RTLD_NODELETE: CInt = 0x1000;
    // <bits/siginfo-consts.h>: access beyond the end of the object, which
    // is what a truncated file mapping raises. Hardware memory errors
    // (BUS_MCEERR_*) and alignment faults are not ours.
    const BUS_ADRERR: CInt = 2;

    /// Whether a SIGBUS with this `si_code` came from a page fault we may
    /// repair (signals sent by kill/tgkill have codes <= 0).
    pub fn is_repairable(code: CInt) -> bool {
        code == BUS_ADRERR
    }

    /// Byte offset of `st_size` in `struct stat` (<bits/struct_stat.h>):
    /// 48 on x86_64 (dev, ino, nlink, mode, uid, gid, pad, rdev) and on
    /// aarch64's generic layout (dev, ino, mode, nlink, uid, gid, rdev, pad).
    pub const ST_SIZE_OFFSET: usize = 48;

    extern "C" {
        /// glibc and musl: the calling thread's `errno`.
        #[link_name = "__errno_location"]
        pub fn errno_location() -> *mut CInt;
        /// fstat(2) (64-bit `off_t` on 64-bit targets); async-signal-safe.
        pub fn fstat(fd: CInt, buf: *mut u8) -> CInt;
    }
}

/// Layouts and constants that differ between Linux and macOS.
#[cfg(target_os = "macos")]
mod sys {
    use super::CInt;

    /// `struct sigaction` from <sys/signal.h>: the handler union, a 32-bit
    /// `sigset_t` (<sys/_types/_sigset_t.h>) and the flags: 16 bytes.
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SigAction {
        /// `union __sigaction_u`.
        pub handler: usize,
        pub mask: u32,
        pub flags: CInt,
    }
    pub const SIGACTION_SIZE: usize = 16;

    /// The start of `siginfo_t` (<sys/signal.h>): signo, errno, code, pid,
    /// uid, status, then `si_addr` at offset 24.
    #[repr(C)]
    pub struct SigInfo {
        pub signo: CInt,
        pub errno: CInt,
        pub code: CInt,
        _pid: CInt,
        _uid: u32,
        _status: CInt,
        pub addr: usize,
    }

    // <sys/signal.h>
    pub const SIGBUS: CInt = 10;
    pub const SA_SIGINFO: CInt = 0x40;
    pub const SA_ONSTACK: CInt = 0x1;
    // <sys/mman.h>
    pub const MAP_ANONYMOUS: CInt = 0x1000;
    // <dlfcn.h>
    pub const RTLD_NOW: CInt = 0x2;
    pub const RTLD_NOLOAD: CInt = 0x10;
    pub const RTLD_NODELETE: CInt = 0x80;
    // <sys/signal.h>: codes of signals sent by processes (kill, sigqueue, ...)
    // start at SI_USER; XNU fills kernel-raised SIGBUS codes below it.
    const SI_USER: CInt = 0x10001;

    /// Whether a SIGBUS with this `si_code` came from a page fault.
    pub fn is_repairable(code: CInt) -> bool {
        code > 0 && code < SI_USER
    }

    /// Byte offset of `st_size` in the 64-bit-inode `struct stat`
    /// (<sys/stat.h>): dev, mode, nlink, ino, uid, gid, rdev, then four
    /// `timespec`s from offset 32, then `st_size` at 96.
    pub const ST_SIZE_OFFSET: usize = 96;

    extern "C" {
        /// libSystem: the calling thread's `errno` (<sys/errno.h>).
        #[link_name = "__error"]
        pub fn errno_location() -> *mut CInt;
        /// fstat(2); async-signal-safe. On x86_64 the 64-bit-inode variant
        /// has its own symbol (arm64 has only that one).
        #[cfg_attr(target_arch = "x86_64", link_name = "fstat$INODE64")]
        pub fn fstat(fd: CInt, buf: *mut u8) -> CInt;
    }
}

use sys::*;

const _: () = assert!(std::mem::size_of::<SigAction>() == SIGACTION_SIZE);

/// `Dl_info` from <dlfcn.h> (same on Linux and macOS).
#[repr(C)]
struct DlInfo {
    fname: *const u8,
    fbase: *mut c_void,
    sname: *const u8,
    saddr: *mut c_void,
}

extern "C" {
    fn sigaction(sig: CInt, act: *const SigAction, old: *mut SigAction) -> CInt;
    fn sigemptyset(set: *mut SigSetStorage) -> CInt;
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: CInt,
        flags: CInt,
        fd: CInt,
        offset: i64,
    ) -> *mut c_void;
    fn raise(sig: CInt) -> CInt;
    fn dladdr(addr: *const c_void, info: *mut DlInfo) -> CInt;
    fn dlopen(path: *const u8, flags: CInt) -> *mut c_void;
}

/// Stand-in type for `sigset_t *` in `sigemptyset` (the mask field's type).
type SigSetStorage = c_void;

/// The handler that was installed before ours, written once before ours is
/// installed and only read afterwards (by the handler, on any thread).
struct Previous(std::cell::UnsafeCell<SigAction>);

// SAFETY: written once, under INSTALL, before `READY` is set with Release and
// before our handler can run; every read happens after an Acquire of `READY`.
unsafe impl Sync for Previous {}

static PREVIOUS: Previous = Previous(std::cell::UnsafeCell::new(empty_action()));
static READY: AtomicBool = AtomicBool::new(false);
/// Serialises installation; never touched by the handler.
static INSTALL: Mutex<()> = Mutex::new(());

const fn empty_action() -> SigAction {
    // SAFETY: all-zero is a valid SigAction (SIG_DFL, empty mask, no flags).
    unsafe { std::mem::transmute([0u8; SIGACTION_SIZE]) }
}

/// Installs the guard once per process. Cheap after the first call.
pub fn install() -> Result<()> {
    if READY.load(Ordering::Acquire) {
        return Ok(());
    }
    let _guard = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    if READY.load(Ordering::Acquire) {
        return Ok(());
    }
    // The handler reads the page size; make sure it is cached first (sysconf
    // is not async-signal-safe on every libc).
    super::page_size();
    // SAFETY: plain libc calls with valid pointers to local or static storage.
    unsafe {
        pin_library();
        let mut previous = empty_action();
        if sigaction(SIGBUS, std::ptr::null(), &mut previous) != 0 {
            return Err(Failure::last_os("sigaction"));
        }
        PREVIOUS.0.get().write(previous);
        READY.store(true, Ordering::Release);
        let mut action = empty_action();
        action.handler = on_sigbus as *const () as usize;
        sigemptyset(std::ptr::addr_of_mut!(action.mask).cast());
        action.flags = SA_SIGINFO | SA_ONSTACK;
        if sigaction(SIGBUS, &action, std::ptr::null_mut()) != 0 {
            let failure = Failure::last_os("sigaction");
            READY.store(false, Ordering::Release);
            return Err(failure);
        }
    }
    Ok(())
}

/// Keeps this library loaded for the life of the process: Deno's
/// `DynamicLibrary.close()` would otherwise unmap the code our handler is in.
/// Best effort: without a file name there is nothing to pin.
///
/// # Safety
/// Calls dladdr/dlopen; the returned handle is deliberately leaked.
unsafe fn pin_library() {
    let mut info = DlInfo {
        fname: std::ptr::null(),
        fbase: std::ptr::null_mut(),
        sname: std::ptr::null(),
        saddr: std::ptr::null_mut(),
    };
    // SAFETY: `install` is a function of this library; `info` is writable.
    if dladdr(install as *const c_void, &mut info) != 0 && !info.fname.is_null() {
        // SAFETY: dladdr returned a NUL-terminated path of a loaded object;
        // NOLOAD only takes a reference to it, NODELETE keeps it for good.
        dlopen(info.fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    }
}

/// The SIGBUS handler.
///
/// Only async-signal-safe work: atomics on the static registry, `mmap` (a
/// plain system call on Linux and macOS, though not on POSIX's list) and
/// `sigaction`/`raise`. `errno` is restored before returning.
extern "C" fn on_sigbus(sig: CInt, info: *mut SigInfo, context: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo (or null, checked); errno
    // is the calling thread's.
    unsafe {
        let errno = *errno_location();
        if !info.is_null() && is_repairable((*info).code) && repair((*info).addr) {
            *errno_location() = errno;
            return;
        }
        *errno_location() = errno;
        chain(sig, info, context);
    }
}

/// Whether the file behind descriptor `fd` still covers `offset` (its size
/// is larger): then a SIGBUS there is a page the filesystem could not
/// allocate or read (ENOSPC, EDQUOT, EIO), not a truncation. False when the
/// size cannot be read, which keeps the truncation rule.
fn covers(fd: usize, offset: u64) -> bool {
    // Large enough for `struct stat` on every target (144 bytes at most).
    let mut buf = [0u64; 32];
    // SAFETY: fstat writes at most sizeof(struct stat) bytes into `buf`; a
    // descriptor that is no longer valid only makes it fail.
    if unsafe { fstat(fd as CInt, buf.as_mut_ptr().cast()) } != 0 {
        return false;
    }
    let size = buf[ST_SIZE_OFFSET / 8] as i64;
    size > 0 && size as u64 > offset
}

/// Repairs the page of our mapping that contains `addr`. When the file no
/// longer covers that page (truncated), maps zero pages over the mapping's
/// tail from it on; when it still does (the filesystem could not allocate
/// the page), maps a zero page over that page alone and marks the mapping
/// out of space, so that nothing is lost that had space. Returns false when
/// `addr` is not ours or the repair failed.
fn repair(addr: usize) -> bool {
    let held = match registry::hold_at(addr) {
        Some(held) => held,
        None => return false,
    };
    if held.is_lost(addr) {
        // Another thread repaired this page (or is repairing it: it marks
        // the loss first, so this thread may come back here until its mmap
        // is done). Retry the instruction.
        return true;
    }
    let page = super::page_size();
    let from = addr - (addr - held.map_base()) % page;
    let end = held.map_end();
    let page_offset = held.file_offset() + (from - held.map_base()) as u64;
    let key = held.file_key();
    let to = if key != 0 && covers(key, page_offset) {
        held.mark_space_lost();
        from + page
    } else {
        // Mark first, map second: a reader that sees a zero page sees the mark.
        held.mark_lost(from);
        end + (page - end % page) % page
    };
    // SAFETY: `[from, to)` lies within our own mapping (page-rounded, as the
    // kernel made it), which cannot be unmapped while `held` pins its slot.
    let mapped = unsafe {
        mmap(
            from as *mut c_void,
            to - from,
            REPAIR_PROT,
            MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    mapped != MAP_FAILED
}

/// Passes a signal that is not ours to the handler installed before ours, as
/// the kernel would have: `sa_sigaction` or `sa_handler`; for the default
/// action, restore it and let the fault happen again (or re-raise a signal
/// that was sent, which is delivered once this handler returns).
///
/// # Safety
/// Called from the signal handler with the kernel's arguments.
unsafe fn chain(sig: CInt, info: *mut SigInfo, context: *mut c_void) {
    let previous = if READY.load(Ordering::Acquire) {
        // SAFETY: see `Previous`.
        PREVIOUS.0.get().read()
    } else {
        empty_action()
    };
    if previous.handler > SIG_IGN {
        if previous.flags & SA_SIGINFO != 0 {
            // SAFETY: the previous owner installed this as an sa_sigaction.
            let f: extern "C" fn(CInt, *mut SigInfo, *mut c_void) =
                std::mem::transmute(previous.handler);
            f(sig, info, context);
        } else {
            // SAFETY: the previous owner installed this as an sa_handler.
            let f: extern "C" fn(CInt) = std::mem::transmute(previous.handler);
            f(sig);
        }
        return;
    }
    let fault = !info.is_null() && is_repairable((*info).code);
    if previous.handler == SIG_IGN && !fault {
        return;
    }
    let default = SigAction {
        handler: SIG_DFL,
        ..empty_action()
    };
    sigaction(sig, &default, std::ptr::null_mut());
    if !fault {
        raise(sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;

    #[test]
    fn install_is_idempotent_and_chains_to_the_previous_handler() {
        install().unwrap();
        install().unwrap();
        let mut current = empty_action();
        // SAFETY: querying only.
        unsafe { sigaction(SIGBUS, std::ptr::null(), &mut current) };
        assert_eq!(current.handler, on_sigbus as *const () as usize);
        assert_ne!(current.flags & SA_SIGINFO, 0);
    }

    /// A temp file of `pages` pages, each filled with its number.
    fn temp_file(name: &str, pages: usize) -> (std::path::PathBuf, usize) {
        let page = super::super::page_size();
        let path =
            std::env::temp_dir().join(format!("mmap_ffi_fault_{}_{}", std::process::id(), name));
        let bytes: Vec<u8> = (0..pages * page).map(|i| (i / page) as u8).collect();
        std::fs::write(&path, bytes).unwrap();
        (path, page)
    }

    fn map(path: &std::path::Path, flags: u32) -> u32 {
        let name = path.to_str().unwrap();
        let mut out = [0u64; 3];
        // SAFETY: valid path bytes and a three-u64 out buffer.
        let status = unsafe {
            crate::mmap_map(
                name.as_ptr(),
                name.len() as u32,
                flags,
                0.0,
                0.0,
                0.0,
                out.as_mut_ptr(),
            )
        };
        assert_eq!(status, 0);
        out[0] as u32
    }

    fn read(id: u32, offset: usize, dst: &mut [u8]) -> i32 {
        // SAFETY: `dst` is a valid buffer of the given length.
        unsafe { crate::mmap_read(id, offset as f64, dst.as_mut_ptr(), dst.len() as f64) }
    }

    #[test]
    fn truncated_ranges_fail_and_the_rest_still_reads() {
        let (path, page) = temp_file("truncated", 8);
        let id = map(&path, crate::MAP_WRITE);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(2 * page as u64)
            .unwrap();
        let mut buf = vec![0xee; page];
        assert_eq!(read(id, 5 * page, &mut buf), Status::Truncated as i32);
        assert_eq!(read(id, page, &mut buf), 0);
        assert!(buf.iter().all(|&b| b == 1));
        // Sticky, including for a page below the first fault.
        assert_eq!(read(id, 5 * page, &mut buf), Status::Truncated as i32);
        assert_eq!(read(id, 3 * page, &mut buf), Status::Truncated as i32);
        // SAFETY: a valid source buffer.
        let wrote = unsafe { crate::mmap_write(id, 4.0 * page as f64, buf.as_ptr(), 4.0) };
        assert_eq!(wrote, Status::Truncated as i32);
        // Resizing would carry the zero pages along: refused.
        let mut out = [0u64; 2];
        // SAFETY: a two-u64 out buffer.
        let resized = unsafe { crate::mmap_resize(id, 16.0 * page as f64, out.as_mut_ptr()) };
        assert_eq!(resized, Status::Truncated as i32);
        assert_eq!(crate::mmap_close(id), 0);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn close_racing_faults_on_other_threads_is_safe() {
        let (path, page) = temp_file("race", 32);
        for round in 0..50 {
            std::fs::write(&path, vec![round as u8; 32 * page]).unwrap();
            let id = map(&path, 0);
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    std::thread::spawn(move || {
                        let mut buf = vec![0u8; 32 * page];
                        loop {
                            match read(id, 0, &mut buf) {
                                0 => {}
                                s if s == Status::Truncated as i32 => {}
                                s => return s,
                            }
                        }
                    })
                })
                .collect();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len((round % 4 * page) as u64)
                .unwrap();
            assert_eq!(crate::mmap_close(id), 0);
            for reader in readers {
                assert_eq!(reader.join().unwrap(), Status::BadHandle as i32);
            }
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn foreign_addresses_are_not_repaired() {
        let local = 0u8;
        assert!(!repair(&local as *const u8 as usize));
        assert!(!repair(0));
    }
}
