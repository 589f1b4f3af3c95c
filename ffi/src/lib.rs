//! Native side of `@riaskov/mmap`.
//!
//! Every export validates what it is given, returns an `i32` status (0 on
//! success, see `error::Status`) and never panics across the boundary. Results
//! come back through out-pointers; details of a failure through
//! `mmap_last_error`. Offsets and lengths travel as `f64` and are checked by
//! the rules in `abi.rs`, with the same limit as TypeScript.
//!
//! The exports are grouped by what they do; this file holds the global ones.

mod abi;
mod batch;
mod copy;
mod error;
mod find;
mod info;
mod marks;
mod napi;
mod open;
mod os;
mod pages;
mod protect;
mod registry;
mod remap;
mod resize;
mod shm;
mod wait;

#[cfg(test)]
mod test_util;

use std::fmt::Write;

use error::Status;

pub use abi::{
    ABI_VERSION, ADVICE, ELEMENT_F64, ELEMENT_U32, ELEMENT_U64, FLUSH_ASYNC, FLUSH_DURABLE,
    FLUSH_SYNC, MAP_CREATE, MAP_GROW, MAP_LENGTH, MAP_POPULATE, MAP_PREALLOCATE, MAP_PRIVATE,
    MAP_WRITE, MAX_INDEX, SHM_CREATE, SHM_EXCLUSIVE,
};
pub use batch::{mmap_gather, mmap_scatter};
pub use copy::{mmap_prefetch, mmap_read, mmap_write};
pub use find::mmap_find;
pub use info::mmap_info;
pub use napi::napi_register_module_v1;
#[cfg(not(feature = "no-open-write-with-size"))]
pub use open::mmap_open_write_with_size;
pub use open::{mmap_anonymous, mmap_close, mmap_map, mmap_open, mmap_open_write};
pub use pages::{mmap_advise, mmap_flush, mmap_lock, mmap_resident};
pub use protect::mmap_protect;
pub use remap::mmap_remap;
pub use resize::{mmap_resize, mmap_resize_with};
pub use shm::{mmap_shm_open, mmap_shm_unlink};
pub use wait::{mmap_notify, mmap_wait};

/// Interface version; see `ABI_VERSION`.
#[no_mangle]
pub extern "C" fn mmap_abi_version() -> u32 {
    ABI_VERSION
}

/// Live mappings: writes `[count, bytes]` to `out`.
///
/// # Safety
/// `out` must be null or point to two writable `f64`s.
#[no_mangle]
pub unsafe extern "C" fn mmap_stats(out: *mut f64) -> i32 {
    if out.is_null() {
        return Status::InvalidArgument as i32;
    }
    let (count, bytes) = registry::totals();
    // SAFETY: per this function's contract.
    out.write(count as f64);
    out.add(1).write(bytes as f64);
    Status::Ok as i32
}

/// Details of the last failure on the calling thread: writes
/// `[OS error code, error kind]` to `info` and up to `cap` bytes of
/// "call\tmessage" (UTF-8) to `text`. Returns the full text length.
///
/// # Safety
/// `info` must be null or point to two writable `i32`s; `text` must be null
/// or point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn mmap_last_error(info: *mut i32, text: *mut u8, cap: u32) -> u32 {
    error::with_last(|last| {
        if !info.is_null() {
            // SAFETY: per this function's contract.
            info.write(last.os_code);
            info.add(1).write(last.kind);
        }
        let full = format!("{}\t{}", last.call, last.message);
        // SAFETY: per this function's contract.
        abi::write_text(text, cap, full.as_bytes())
    })
}

/// Every constant TypeScript shares with this library, as `NAME=VALUE` lines,
/// built from the constants the code itself uses.
fn constants_text() -> String {
    use error::*;
    let advice: Vec<&str> = ADVICE.iter().map(|(name, _)| *name).collect();
    let numbers: [(&str, u64); 2] = [
        ("ABI_VERSION", ABI_VERSION.into()),
        ("MAX_INDEX", MAX_INDEX),
    ];
    let codes: [(&str, i32); 23] = [
        ("STATUS_OK", Status::Ok as i32),
        ("STATUS_BAD_HANDLE", Status::BadHandle as i32),
        ("STATUS_OUT_OF_RANGE", Status::OutOfRange as i32),
        ("STATUS_INVALID_ARGUMENT", Status::InvalidArgument as i32),
        ("STATUS_TRUNCATED", Status::Truncated as i32),
        ("STATUS_READ_ONLY", Status::ReadOnly as i32),
        ("STATUS_OS", Status::Os as i32),
        ("STATUS_TOO_MANY_MAPPINGS", Status::TooManyMappings as i32),
        ("STATUS_UNSUPPORTED", Status::Unsupported as i32),
        ("STATUS_BUSY", Status::Busy as i32),
        ("KIND_NOT_FOUND", KIND_NOT_FOUND),
        ("KIND_PERMISSION_DENIED", KIND_PERMISSION_DENIED),
        ("KIND_ALREADY_EXISTS", KIND_ALREADY_EXISTS),
        ("KIND_INVALID_INPUT", KIND_INVALID_INPUT),
        ("KIND_OUT_OF_MEMORY", KIND_OUT_OF_MEMORY),
        ("KIND_UNSUPPORTED", KIND_UNSUPPORTED),
        ("KIND_UNEXPECTED_EOF", KIND_UNEXPECTED_EOF),
        ("KIND_WOULD_BLOCK", KIND_WOULD_BLOCK),
        ("KIND_INTERRUPTED", KIND_INTERRUPTED),
        ("KIND_TIMED_OUT", KIND_TIMED_OUT),
        ("KIND_INVALID_DATA", KIND_INVALID_DATA),
        ("KIND_IS_A_DIRECTORY", KIND_IS_A_DIRECTORY),
        ("KIND_NOT_A_DIRECTORY", KIND_NOT_A_DIRECTORY),
    ];
    let mut text = String::new();
    // Writing to a String cannot fail.
    for (name, value) in numbers.iter() {
        let _ = writeln!(text, "{}={}", name, value);
    }
    for (name, value) in abi::MAP_FLAGS
        .iter()
        .chain(abi::SHM_FLAGS)
        .chain(abi::FLUSH_MODES)
        .chain(abi::PROTECTIONS)
        .chain(abi::ELEMENTS)
        .chain(abi::WAIT_RESULTS)
    {
        let _ = writeln!(text, "{}={}", name, value);
    }
    let _ = writeln!(text, "ADVICE={}", advice.join(","));
    for (name, value) in codes.iter() {
        let _ = writeln!(text, "{}={}", name, value);
    }
    text
}

/// Every constant shared with TypeScript (flags, flush modes, the advice
/// order, status codes, error kinds, the largest index, the interface
/// version) as UTF-8 lines `NAME=VALUE\n`; `ADVICE` lists the advice names in
/// index order, separated by commas. Copies up to `cap` bytes to `text` and
/// returns the full length, as `mmap_last_error` does. For a test that the
/// TypeScript tables equal this library's.
///
/// # Safety
/// `text` must be null or point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn mmap_constants(text: *mut u8, cap: u32) -> u32 {
    // SAFETY: per this function's contract.
    abi::write_text(text, cap, constants_text().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names the TypeScript test looks for, each exactly once.
    const NAMES: [&str; 47] = [
        "ABI_VERSION",
        "MAX_INDEX",
        "MAP_WRITE",
        "MAP_CREATE",
        "MAP_PRIVATE",
        "MAP_POPULATE",
        "MAP_GROW",
        "MAP_LENGTH",
        "MAP_PREALLOCATE",
        "SHM_CREATE",
        "SHM_EXCLUSIVE",
        "FLUSH_SYNC",
        "FLUSH_ASYNC",
        "FLUSH_DURABLE",
        "PROTECT_READ",
        "PROTECT_READ_WRITE",
        "ELEMENT_F64",
        "ELEMENT_U32",
        "ELEMENT_U64",
        "WAIT_OK",
        "WAIT_NOT_EQUAL",
        "WAIT_TIMED_OUT",
        "WAIT_CANCELLED",
        "ADVICE",
        "STATUS_OK",
        "STATUS_BAD_HANDLE",
        "STATUS_OUT_OF_RANGE",
        "STATUS_INVALID_ARGUMENT",
        "STATUS_TRUNCATED",
        "STATUS_READ_ONLY",
        "STATUS_OS",
        "STATUS_TOO_MANY_MAPPINGS",
        "STATUS_UNSUPPORTED",
        "STATUS_BUSY",
        "KIND_NOT_FOUND",
        "KIND_PERMISSION_DENIED",
        "KIND_ALREADY_EXISTS",
        "KIND_INVALID_INPUT",
        "KIND_OUT_OF_MEMORY",
        "KIND_UNSUPPORTED",
        "KIND_UNEXPECTED_EOF",
        "KIND_WOULD_BLOCK",
        "KIND_INTERRUPTED",
        "KIND_TIMED_OUT",
        "KIND_INVALID_DATA",
        "KIND_IS_A_DIRECTORY",
        "KIND_NOT_A_DIRECTORY",
    ];

    fn constants() -> String {
        // SAFETY: a null buffer only asks for the length; then a buffer of it.
        unsafe {
            let len = mmap_constants(std::ptr::null_mut(), 0);
            let mut text = vec![0u8; len as usize];
            assert_eq!(mmap_constants(text.as_mut_ptr(), len), len);
            String::from_utf8(text).unwrap()
        }
    }

    #[test]
    fn constants_list_each_name_once() {
        let text = constants();
        assert!(text.ends_with('\n'));
        let lines: Vec<(&str, &str)> = text
            .lines()
            .map(|line| line.split_once('=').expect(line))
            .collect();
        assert_eq!(lines.len(), NAMES.len(), "{}", text);
        for name in NAMES {
            let count = lines.iter().filter(|(n, _)| *n == name).count();
            assert_eq!(count, 1, "{} in\n{}", name, text);
        }
        let value = |name: &str| lines.iter().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(value("MAX_INDEX"), "9007199254740991");
        assert_eq!(
            value("ADVICE"),
            "normal,sequential,random,willneed,dontneed,hugepage,nohugepage"
        );
        assert_eq!(value("ABI_VERSION"), ABI_VERSION.to_string());
        assert_eq!(value("STATUS_UNSUPPORTED"), "8");
        assert_eq!(value("KIND_NOT_A_DIRECTORY"), "13");
    }

    #[test]
    fn constants_are_cut_at_the_capacity() {
        let full = constants();
        let mut head = [0u8; 8];
        // SAFETY: `head` has 8 writable bytes.
        let len = unsafe { mmap_constants(head.as_mut_ptr(), 8) };
        assert_eq!(len as usize, full.len());
        assert_eq!(&head[..], &full.as_bytes()[..8]);
    }
}
