//! The process-wide memory barrier behind `marks.rs`: after it returns,
//! every store any thread of this process made before it is visible to the
//! caller. Linux: `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` (4.14+),
//! which interrupts only the CPUs running this process's threads. macOS has
//! no such call, so the hot path keeps its counted pin there.
//!
//! Also `thread_pointer`: a word that tells the calling thread from every
//! other live thread, read without a call. (A Rust thread-local in a shared
//! library goes through `__tls_get_addr`, a call and a dozen instructions
//! on every copy.)

#[cfg(target_os = "linux")]
mod imp {
    use std::os::raw::{c_int, c_long};

    extern "C" {
        fn syscall(number: c_long, ...) -> c_long;
    }

    /// `SYS_membarrier` (<asm/unistd_64.h> on x86_64, <asm-generic/unistd.h>
    /// on aarch64).
    #[cfg(target_arch = "x86_64")]
    const SYS_MEMBARRIER: c_long = 324;
    #[cfg(target_arch = "aarch64")]
    const SYS_MEMBARRIER: c_long = 283;

    /// <linux/membarrier.h>.
    const CMD_QUERY: c_int = 0;
    const CMD_PRIVATE_EXPEDITED: c_int = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: c_int = 1 << 4;

    fn membarrier(cmd: c_int) -> c_long {
        // SAFETY: membarrier(2) takes two integers and touches no memory of
        // ours; an unknown command fails with EINVAL.
        unsafe { syscall(SYS_MEMBARRIER, cmd, 0 as c_int, 0 as c_int) }
    }

    /// Registers the process for expedited barriers; false when the kernel
    /// (or an emulator) does not offer them.
    pub fn process_barrier_register() -> bool {
        let offered = membarrier(CMD_QUERY);
        if offered < 0 || offered & c_long::from(CMD_PRIVATE_EXPEDITED) == 0 {
            return false;
        }
        membarrier(CMD_REGISTER_PRIVATE_EXPEDITED) == 0 && membarrier(CMD_PRIVATE_EXPEDITED) == 0
    }

    /// The thread pointer (x86_64 `%fs:0`, the TCB's pointer to itself;
    /// aarch64 `TPIDR_EL0`): distinct for every live thread, never 0.
    #[inline(always)]
    pub fn thread_pointer() -> usize {
        let pointer: usize;
        // SAFETY: reads a register (or the word at %fs:0, which the C
        // library sets for every thread it creates); no memory is written.
        unsafe {
            #[cfg(target_arch = "x86_64")]
            std::arch::asm!("mov {}, fs:0", out(reg) pointer, options(nostack, readonly, preserves_flags));
            #[cfg(target_arch = "aarch64")]
            std::arch::asm!("mrs {}, tpidr_el0", out(reg) pointer, options(nomem, nostack, preserves_flags));
        }
        pointer
    }

    /// The barrier. Only called after `process_barrier_register` said yes,
    /// and the registered command cannot fail then (the man page lists no
    /// error for it); should it ever, an ordinary fence is no barrier for
    /// other threads, so spin on the syscall rather than go on unsafely.
    pub fn process_barrier() {
        while membarrier(CMD_PRIVATE_EXPEDITED) != 0 {
            std::thread::yield_now();
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    /// No process barrier on this system.
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
}

pub use imp::*;
