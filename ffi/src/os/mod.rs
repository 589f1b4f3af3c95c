//! The operating-system layer: every system call and every OS rule. One file
//! per OS with the same internal API (documented at the top of `unix.rs`),
//! chosen here by `cfg` path and nowhere else, and the types that API shares.
//!
//! - `unix.rs`: Linux and macOS (with `unix/fault.rs`, the SIGBUS guard).
//! - `windows.rs`: Windows.
//! - `stub.rs`: anything else; every call fails with `Status::Unsupported`,
//!   so the crate still builds there (as memmap2's `stub.rs`).

#[cfg_attr(unix, path = "unix.rs")]
#[cfg_attr(windows, path = "windows.rs")]
#[cfg_attr(not(any(unix, windows)), path = "stub.rs")]
mod imp;

pub use imp::*;

use crate::error::Failure;

impl Failure {
    /// The OS error the calling thread has just seen, from `call`. (The stub
    /// makes no OS calls.)
    #[cfg_attr(not(any(unix, windows)), allow(dead_code))]
    pub fn last_os(call: &'static str) -> Failure {
        Failure::os(call, std::io::Error::last_os_error())
    }
}

/// How a mapping may be used. (The stub maps nothing, so it reads none of
/// it.)
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(not(any(unix, windows)), allow(dead_code))]
pub struct Access {
    /// The mapping can be written.
    pub write: bool,
    /// Writes stay in this process's copy (copy-on-write), never the file.
    pub private: bool,
    /// Fault every page in now rather than on first touch.
    pub populate: bool,
}

/// Kernel advice about how a range will be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    Normal,
    Sequential,
    Random,
    WillNeed,
    DontNeed,
    /// Back the range with transparent huge pages where the kernel offers
    /// them (Linux `MADV_HUGEPAGE`).
    HugePage,
    /// Keep the range in small pages (Linux `MADV_NOHUGEPAGE`).
    NoHugePage,
}

/// A failed `remap`: what went wrong, and whether the old mapping is gone
/// (some systems must unmap before they can shrink a file).
#[derive(Debug)]
pub struct RemapFailure {
    pub failure: Failure,
    pub unmapped: bool,
}

impl From<Failure> for RemapFailure {
    fn from(failure: Failure) -> RemapFailure {
        RemapFailure {
            failure,
            unmapped: false,
        }
    }
}

/// How a sleep ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(any(unix, windows)), allow(dead_code))]
pub enum Woke {
    /// Woken (by a wake, or spuriously: callers look at the word again).
    Woken,
    /// The word did not hold the expected value when the kernel looked.
    /// (macOS does not tell this from a wake.)
    #[cfg_attr(target_os = "macos", allow(dead_code))]
    Changed,
    /// The timeout passed.
    TimedOut,
    /// A signal interrupted the sleep; the caller sleeps again for the rest.
    Interrupted,
}
