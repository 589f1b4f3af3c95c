//! Sleeping on a 32-bit word of shared memory until another thread or
//! process wakes it: Linux futexes, macOS `os_sync_wait_on_address` (or
//! `__ulock_*` before macOS 14.4). Both key a word of a `MAP_SHARED` file
//! mapping by the file page it shows, so a waker in another process that maps
//! the same file (or shared memory object) reaches the sleeper.

use super::CInt;
use crate::error::{Failure, Result};
use crate::os::Woke;

/// errno values, the same on Linux (<asm-generic/errno-base.h>, errno.h) and
/// macOS (<sys/errno.h>) except where noted.
const EINTR: CInt = 4;
const EFAULT: CInt = 14;
#[cfg(target_os = "linux")]
const EAGAIN: CInt = 11;
#[cfg(target_os = "linux")]
const ETIMEDOUT: CInt = 110;
#[cfg(target_os = "macos")]
const ETIMEDOUT: CInt = 60;
#[cfg(target_os = "macos")]
const ENOENT: CInt = 2;

fn errno() -> CInt {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A sleep on memory the kernel could not read: the page is gone (the file
/// was truncated under the mapping).
fn fault_failure(call: &'static str) -> Failure {
    Failure::truncated(call)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::*;

    /// `struct timespec` on 64-bit Linux (<linux/time_types.h>
    /// `__kernel_timespec`, which the futex syscall takes on 64-bit ABIs).
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }

    extern "C" {
        fn syscall(number: std::os::raw::c_long, ...) -> std::os::raw::c_long;
    }

    /// `SYS_futex` (<asm/unistd_64.h> on x86_64, <asm-generic/unistd.h> on
    /// aarch64).
    #[cfg(target_arch = "x86_64")]
    const SYS_FUTEX: std::os::raw::c_long = 202;
    #[cfg(target_arch = "aarch64")]
    const SYS_FUTEX: std::os::raw::c_long = 98;

    /// <linux/futex.h>: without `FUTEX_PRIVATE_FLAG` (128), so that the
    /// futex is keyed by the file page and crosses processes.
    const FUTEX_WAIT: CInt = 0;
    const FUTEX_WAKE: CInt = 1;

    /// Sleeps while `*addr == expected`, for at most `timeout_ns` (None:
    /// without limit).
    ///
    /// # Safety
    /// `addr` must be 4-byte aligned and point into a live mapping.
    pub unsafe fn wait_on(addr: usize, expected: u32, timeout_ns: Option<u64>) -> Result<Woke> {
        let spec = timeout_ns.map(|ns| Timespec {
            tv_sec: (ns / 1_000_000_000) as i64,
            tv_nsec: (ns % 1_000_000_000) as i64,
        });
        let spec_ptr = spec
            .as_ref()
            .map_or(std::ptr::null(), |s| s as *const Timespec);
        // SAFETY: futex(2) reads the word at `addr` (valid per the contract)
        // and the timespec (alive on this frame); FUTEX_WAIT takes a relative
        // timeout.
        let rc = syscall(
            SYS_FUTEX, addr, FUTEX_WAIT, expected, spec_ptr, 0usize, 0u32,
        );
        if rc == 0 {
            return Ok(Woke::Woken);
        }
        match errno() {
            EAGAIN => Ok(Woke::Changed),
            ETIMEDOUT => Ok(Woke::TimedOut),
            EINTR => Ok(Woke::Interrupted),
            EFAULT => Err(fault_failure("futex")),
            _ => Err(Failure::last_os("futex")),
        }
    }

    /// Wakes up to `count` sleepers on `addr`; returns how many woke.
    ///
    /// # Safety
    /// `addr` must be 4-byte aligned and point into a live mapping.
    pub unsafe fn wake(addr: usize, count: u32) -> Result<u32> {
        let count = count.min(i32::MAX as u32) as CInt;
        // SAFETY: futex(2) FUTEX_WAKE only looks up the key of `addr`.
        let rc = syscall(SYS_FUTEX, addr, FUTEX_WAKE, count, 0usize, 0usize, 0u32);
        if rc >= 0 {
            return Ok(rc as u32);
        }
        match errno() {
            EFAULT => Err(fault_failure("futex")),
            _ => Err(Failure::last_os("futex")),
        }
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use super::*;
    use std::ffi::CStr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // <os/os_sync_wait_on_address.h> (macOS 14.4): the `_SHARED` flags make
    // the wait key the physical page, so that it crosses processes.
    const OS_SYNC_WAIT_ON_ADDRESS_SHARED: u32 = 1;
    const OS_SYNC_WAKE_BY_ADDRESS_SHARED: u32 = 1;
    /// `OS_CLOCK_MACH_ABSOLUTE_TIME` (<os/clock.h>); timeouts are in
    /// nanoseconds of that clock.
    const OS_CLOCK_MACH_ABSOLUTE_TIME: u32 = 32;
    // xnu <sys/ulock.h> (private, stable since macOS 10.12; `__ulock_wait2`
    // since 11): compare-and-wait on a shared (cross-process) 32-bit word.
    const UL_COMPARE_AND_WAIT_SHARED: u32 = 3;
    const ULF_NO_ERRNO: u32 = 0x0100_0000;

    type WaitFn = unsafe extern "C" fn(*mut u8, u64, usize, u32) -> CInt;
    type WaitTimeoutFn = unsafe extern "C" fn(*mut u8, u64, usize, u32, u32, u64) -> CInt;
    type WakeFn = unsafe extern "C" fn(*mut u8, usize, u32) -> CInt;
    type UlockWait2Fn = unsafe extern "C" fn(u32, *mut u8, u64, u64, u64) -> CInt;
    type UlockWakeFn = unsafe extern "C" fn(u32, *mut u8, u64) -> CInt;

    /// The functions this system has, looked up once (`dlsym`): 1 = not
    /// looked up yet, 0 = absent.
    struct Lazy(AtomicUsize);

    impl Lazy {
        const fn new() -> Lazy {
            Lazy(AtomicUsize::new(1))
        }
        fn get(&self, name: &CStr) -> usize {
            match self.0.load(Ordering::Relaxed) {
                1 => {
                    let found = crate::os::process_symbol(name);
                    self.0.store(found, Ordering::Relaxed);
                    found
                }
                found => found,
            }
        }
    }

    static WAIT: Lazy = Lazy::new();
    static WAIT_TIMEOUT: Lazy = Lazy::new();
    static WAKE_ANY: Lazy = Lazy::new();
    static ULOCK_WAIT2: Lazy = Lazy::new();
    static ULOCK_WAKE: Lazy = Lazy::new();

    fn symbol(lazy: &Lazy, name: &[u8]) -> usize {
        match CStr::from_bytes_with_nul(name) {
            Ok(name) => lazy.get(name),
            Err(_) => 0,
        }
    }

    fn unsupported() -> Failure {
        Failure::new(
            crate::error::Status::Unsupported,
            "wait",
            "this macOS has neither os_sync_wait_on_address nor __ulock_wait2",
        )
    }

    /// Sleeps while `*addr == expected`, for at most `timeout_ns`.
    ///
    /// # Safety
    /// `addr` must be 4-byte aligned and point into a live mapping.
    pub unsafe fn wait_on(addr: usize, expected: u32, timeout_ns: Option<u64>) -> Result<Woke> {
        let ptr = addr as *mut u8;
        let value = u64::from(expected);
        let wait = symbol(&WAIT, b"os_sync_wait_on_address\0");
        let wait_timeout = symbol(&WAIT_TIMEOUT, b"os_sync_wait_on_address_with_timeout\0");
        let rc = if wait != 0 && wait_timeout != 0 {
            // SAFETY: the symbols have these signatures
            // (<os/os_sync_wait_on_address.h>); `addr` is valid per the
            // contract.
            match timeout_ns {
                None => std::mem::transmute::<usize, WaitFn>(wait)(
                    ptr,
                    value,
                    4,
                    OS_SYNC_WAIT_ON_ADDRESS_SHARED,
                ),
                Some(ns) => std::mem::transmute::<usize, WaitTimeoutFn>(wait_timeout)(
                    ptr,
                    value,
                    4,
                    OS_SYNC_WAIT_ON_ADDRESS_SHARED,
                    OS_CLOCK_MACH_ABSOLUTE_TIME,
                    ns.max(1),
                ),
            }
        } else {
            let ulock = symbol(&ULOCK_WAIT2, b"__ulock_wait2\0");
            if ulock == 0 {
                return Err(unsupported());
            }
            // SAFETY: `__ulock_wait2(operation, addr, value, timeout_ns,
            // value2)` (xnu <sys/ulock.h>); a timeout of 0 means none.
            let rc = std::mem::transmute::<usize, UlockWait2Fn>(ulock)(
                UL_COMPARE_AND_WAIT_SHARED | ULF_NO_ERRNO,
                ptr,
                value,
                timeout_ns.map_or(0, |ns| ns.max(1)),
                0,
            );
            if rc >= 0 {
                return Ok(Woke::Woken);
            }
            return match -rc {
                ETIMEDOUT => Ok(Woke::TimedOut),
                EINTR => Ok(Woke::Interrupted),
                EFAULT => Err(fault_failure("__ulock_wait2")),
                code => Err(Failure::os(
                    "__ulock_wait2",
                    std::io::Error::from_raw_os_error(code),
                )),
            };
        };
        // os_sync_wait_on_address returns the number of waiters left, or -1
        // with errno; a changed value returns at once with a count, so a
        // wake and a change look the same here (the caller looks again).
        if rc >= 0 {
            return Ok(Woke::Woken);
        }
        match errno() {
            ETIMEDOUT => Ok(Woke::TimedOut),
            EINTR => Ok(Woke::Interrupted),
            EFAULT => Err(fault_failure("os_sync_wait_on_address")),
            _ => Err(Failure::last_os("os_sync_wait_on_address")),
        }
    }

    /// Wakes up to `count` sleepers on `addr`, one at a time (the OS says
    /// whether it woke one), and returns how many woke.
    ///
    /// # Safety
    /// `addr` must be 4-byte aligned and point into a live mapping.
    pub unsafe fn wake(addr: usize, count: u32) -> Result<u32> {
        let ptr = addr as *mut u8;
        let wake_any = symbol(&WAKE_ANY, b"os_sync_wake_by_address_any\0");
        let ulock_wake = symbol(&ULOCK_WAKE, b"__ulock_wake\0");
        let mut woken = 0;
        while woken < count {
            if wake_any != 0 {
                // SAFETY: `os_sync_wake_by_address_any(addr, size, flags)`.
                let rc = std::mem::transmute::<usize, WakeFn>(wake_any)(
                    ptr,
                    4,
                    OS_SYNC_WAKE_BY_ADDRESS_SHARED,
                );
                if rc != 0 {
                    return match errno() {
                        ENOENT => Ok(woken),
                        _ => Err(Failure::last_os("os_sync_wake_by_address_any")),
                    };
                }
            } else if ulock_wake != 0 {
                // SAFETY: `__ulock_wake(operation, addr, wake_value)`.
                let rc = std::mem::transmute::<usize, UlockWakeFn>(ulock_wake)(
                    UL_COMPARE_AND_WAIT_SHARED | ULF_NO_ERRNO,
                    ptr,
                    0,
                );
                if rc < 0 {
                    return match -rc {
                        ENOENT => Ok(woken),
                        code => Err(Failure::os(
                            "__ulock_wake",
                            std::io::Error::from_raw_os_error(code),
                        )),
                    };
                }
            } else {
                return Err(unsupported());
            }
            woken += 1;
        }
        Ok(woken)
    }
}

pub use imp::{wait_on, wake};
