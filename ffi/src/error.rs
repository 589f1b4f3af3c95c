//! Status codes returned by every export, and the thread-local "last error"
//! that carries the details of the most recent failure on this thread.

use std::cell::RefCell;
use std::io;

/// Status codes shared with `src/errors.ts`. Zero is success; the TypeScript
/// side maps every other value to an error class in one table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    Ok = 0,
    /// The id names no live mapping: closed, stale or never issued.
    BadHandle = 1,
    /// Offset or length reaches past the end of the mapping.
    OutOfRange = 2,
    /// An argument is malformed: NaN, negative, fractional, too large, bad flags.
    InvalidArgument = 3,
    /// The mapped file was truncated under the mapping; the bytes are gone.
    Truncated = 4,
    /// A write or flush on a mapping opened read-only.
    ReadOnly = 5,
    /// The operating system refused a call; the last error has its code.
    Os = 6,
    /// Every registry slot is taken.
    TooManyMappings = 7,
    /// The operation does not exist on this platform (`os/stub.rs`).
    Unsupported = 8,
    /// Zero-copy views still reference the mapping, so it cannot move or
    /// shrink (resize).
    Busy = 9,
}

/// Details of the last failure on this thread.
#[derive(Clone, Debug, Default)]
pub struct LastError {
    /// Raw OS error (errno or GetLastError), 0 when the failure was not an OS call.
    pub os_code: i32,
    /// `io::ErrorKind` folded to a small number (a `KIND_*` code, 0 for none).
    pub kind: i32,
    /// Name of the failing call, such as "mmap" or "ftruncate".
    pub call: &'static str,
    /// Human-readable cause, such as "No such file or directory (os error 2)".
    pub message: String,
}

thread_local! {
    static LAST: RefCell<LastError> = RefCell::new(LastError::default());
}

/// A failure on its way out of an export.
#[derive(Debug)]
pub struct Failure {
    pub status: Status,
    pub detail: LastError,
}

pub type Result<T> = std::result::Result<T, Failure>;

impl Failure {
    /// A failure that is not an OS error; `call` names the export's operation.
    pub fn new(status: Status, call: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            detail: LastError {
                os_code: 0,
                kind: 0,
                call,
                message: message.into(),
            },
        }
    }

    /// An OS error from `call`, keeping its code and the platform's text for it.
    pub fn os(call: &'static str, err: io::Error) -> Failure {
        let os_code = err.raw_os_error().unwrap_or(0);
        let kind = match kind_code(err.kind()) {
            0 => crate::os::EXTRA_KINDS
                .iter()
                .find(|(code, _)| *code == os_code)
                .map_or(0, |(_, kind)| *kind),
            kind => kind,
        };
        Failure {
            status: Status::Os,
            detail: LastError {
                os_code,
                kind,
                call,
                message: err.to_string(),
            },
        }
    }

    /// A directory given where a file is needed, as Unix reports it (EISDIR).
    pub fn is_a_directory(call: &'static str) -> Failure {
        Failure {
            status: Status::Os,
            detail: LastError {
                os_code: 0,
                kind: KIND_IS_A_DIRECTORY,
                call,
                message: "Is a directory".into(),
            },
        }
    }

    /// A range that reached the tail the SIGBUS guard (`os/unix/fault.rs`)
    /// replaced after the file was truncated under the mapping.
    pub fn truncated(call: &'static str) -> Failure {
        Failure::new(
            Status::Truncated,
            call,
            "the file was truncated under the mapping; the bytes in this range are gone",
        )
    }
}

impl Failure {
    /// A file of a kind that cannot be mapped (`what`: "a FIFO (named pipe)",
    /// "a socket", …), refused before any blocking open or read:
    /// `NotSupported` in TypeScript, with the OS's code for it (`code`).
    pub fn not_mappable(code: i32, what: &str) -> Failure {
        Failure {
            status: Status::Os,
            detail: LastError {
                os_code: code,
                kind: KIND_UNSUPPORTED,
                call: "open",
                message: format!("only regular files can be mapped, and this is {}", what),
            },
        }
    }

    /// Pages the file still covers that the filesystem could not allocate
    /// (out of space or quota, or an I/O error) while they were written
    /// through the mapping: the SIGBUS guard replaced just those pages, so
    /// what was written to them is lost and the rest reached the file. An OS
    /// failure with the platform's out-of-space code (ENOSPC), so that it is
    /// reported like a failed `fallocate`.
    pub fn out_of_space(call: &'static str) -> Failure {
        Failure {
            status: Status::Os,
            detail: LastError {
                os_code: crate::os::NO_SPACE,
                kind: 0,
                call,
                message: "No space left on device: the filesystem could not allocate a page of \
                          the file (out of space or quota, or an I/O error); what was written \
                          to that page through the mapping is lost, the other pages are intact"
                    .into(),
            },
        }
    }
}

/// Error kinds shared with `src/errors.ts`, which maps each to a
/// `Deno.errors.*` class; 0 is "no particular kind".
pub const KIND_NOT_FOUND: i32 = 1;
pub const KIND_PERMISSION_DENIED: i32 = 2;
pub const KIND_ALREADY_EXISTS: i32 = 3;
pub const KIND_INVALID_INPUT: i32 = 4;
pub const KIND_OUT_OF_MEMORY: i32 = 5;
pub const KIND_UNSUPPORTED: i32 = 6;
pub const KIND_UNEXPECTED_EOF: i32 = 7;
pub const KIND_WOULD_BLOCK: i32 = 8;
pub const KIND_INTERRUPTED: i32 = 9;
pub const KIND_TIMED_OUT: i32 = 10;
pub const KIND_INVALID_DATA: i32 = 11;
/// Kinds that `io::ErrorKind` in Rust 1.63 cannot name; each OS module maps
/// its error numbers to them in `EXTRA_KINDS`.
pub const KIND_IS_A_DIRECTORY: i32 = 12;
pub const KIND_NOT_A_DIRECTORY: i32 = 13;

/// Folds `io::ErrorKind` into the `KIND_*` codes. Only kinds stable in Rust
/// 1.63 are named.
pub fn kind_code(kind: io::ErrorKind) -> i32 {
    use io::ErrorKind::*;
    match kind {
        NotFound => KIND_NOT_FOUND,
        PermissionDenied => KIND_PERMISSION_DENIED,
        AlreadyExists => KIND_ALREADY_EXISTS,
        InvalidInput => KIND_INVALID_INPUT,
        OutOfMemory => KIND_OUT_OF_MEMORY,
        Unsupported => KIND_UNSUPPORTED,
        UnexpectedEof => KIND_UNEXPECTED_EOF,
        WouldBlock => KIND_WOULD_BLOCK,
        Interrupted => KIND_INTERRUPTED,
        TimedOut => KIND_TIMED_OUT,
        InvalidData => KIND_INVALID_DATA,
        _ => 0,
    }
}

/// Records `failure` as this thread's last error and returns its status code.
pub fn record(failure: Failure) -> i32 {
    let status = failure.status as i32;
    LAST.with(|last| *last.borrow_mut() = failure.detail);
    status
}

/// Turns a result into a status code, recording the failure if there is one.
pub fn status_of(result: Result<()>) -> i32 {
    match result {
        Ok(()) => Status::Ok as i32,
        Err(failure) => record(failure),
    }
}

/// Runs `f` with this thread's last error.
pub fn with_last<T>(f: impl FnOnce(&LastError) -> T) -> T {
    LAST.with(|last| f(&last.borrow()))
}
