//! The wire rules: what crosses the FFI line and how it is checked.
//!
//! Offsets and lengths travel as `f64`, because a JS number passed into a
//! 64-bit integer parameter knocks a Deno FFI call off V8's fast path. Every
//! one of them goes through `to_u64`/`to_usize`, with the same limit as
//! TypeScript (`MAX_INDEX`, `Number.MAX_SAFE_INTEGER`). Every constant that
//! TypeScript also knows (flags, flush modes, advice order, the interface
//! version) is defined here, and `mmap_constants` (lib.rs) lists them so that
//! a Deno test can compare both sides.

use crate::error::{Failure, Result, Status};
use crate::os;

/// Version of the exported interface. The TypeScript loader refuses a library
/// whose version differs from the one it was written for.
#[cfg(not(feature = "abi-mismatch"))]
pub const ABI_VERSION: u32 = 1;

/// A deliberately wrong interface version, for the loader's tests only.
#[cfg(feature = "abi-mismatch")]
pub const ABI_VERSION: u32 = 1001;

/// Largest offset, length or size either side accepts: 2^53 − 1, the largest
/// integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`). TypeScript
/// refuses anything larger before it calls, with the same limit.
pub const MAX_INDEX: u64 = (1 << 53) - 1;

/// `MAX_INDEX` as the `f64` the checks compare with (2^53 − 1 is exact in an
/// `f64`, so nothing is rounded).
const MAX_INDEX_F64: f64 = MAX_INDEX as f64;

/// Defines `u32` constants that TypeScript knows too, and the table of their
/// names and values that `mmap_constants` reports: each is written once.
macro_rules! shared_u32 {
    ($(#[$table_doc:meta])* $table:ident { $($(#[$doc:meta])* $name:ident = $value:expr,)* }) => {
        $($(#[$doc])* pub const $name: u32 = $value;)*
        $(#[$table_doc])*
        pub const $table: &[(&str, u32)] = &[$((stringify!($name), $name)),*];
    };
}

shared_u32! {
    /// Flags for `mmap_map`.
    MAP_FLAGS {
        MAP_WRITE = 1,
        MAP_CREATE = 2,
        MAP_PRIVATE = 4,
        MAP_POPULATE = 8,
        /// `size` is given: grow the file to at least that many bytes.
        MAP_GROW = 16,
        /// `length` is given: map exactly that many bytes from `offset`.
        MAP_LENGTH = 32,
        /// Allocate the file's blocks when it is sized (`fallocate`,
        /// `F_PREALLOCATE`, `FileAllocationInfo`), so that a full disk fails the
        /// open (or `mmap_resize_with`) instead of a later write through the view.
        MAP_PREALLOCATE = 64,
    }
}

/// Every `MAP_*` flag; any other bit is refused.
pub const MAP_ALL: u32 = union(MAP_FLAGS);

shared_u32! {
    /// Flags for `mmap_shm_open`.
    SHM_FLAGS {
        SHM_CREATE = 1,
        SHM_EXCLUSIVE = 2,
    }
}

shared_u32! {
    /// Flush modes for `mmap_flush`.
    FLUSH_MODES {
        FLUSH_SYNC = 0,
        FLUSH_ASYNC = 1,
        FLUSH_DURABLE = 2,
    }
}

shared_u32! {
    /// Protections for `mmap_protect`.
    PROTECTIONS {
        PROTECT_READ = 0,
        PROTECT_READ_WRITE = 1,
    }
}

shared_u32! {
    /// Element kinds of the offsets and lengths columns of `mmap_gather` and
    /// `mmap_scatter` (`Float64Array`, `Uint32Array`, `BigUint64Array`).
    ELEMENTS {
        ELEMENT_F64 = 0,
        ELEMENT_U32 = 1,
        ELEMENT_U64 = 2,
    }
}

shared_u32! {
    /// Outcomes of `mmap_wait`.
    WAIT_RESULTS {
        /// Woken by a notify (or the word changed while spinning).
        WAIT_OK = 0,
        /// The word did not hold the expected value.
        WAIT_NOT_EQUAL = 1,
        WAIT_TIMED_OUT = 2,
        /// The mapping was closed or resized while waiting.
        WAIT_CANCELLED = 3,
    }
}

/// The union of a table's flags.
const fn union(table: &[(&str, u32)]) -> u32 {
    let mut all = 0;
    let mut i = 0;
    while i < table.len() {
        all |= table[i].1;
        i += 1;
    }
    all
}

/// Advice for `mmap_advise`: the wire value is the index here, and the name
/// is the one TypeScript uses for it.
pub const ADVICE: [(&str, os::Advice); 7] = [
    ("normal", os::Advice::Normal),
    ("sequential", os::Advice::Sequential),
    ("random", os::Advice::Random),
    ("willneed", os::Advice::WillNeed),
    ("dontneed", os::Advice::DontNeed),
    ("hugepage", os::Advice::HugePage),
    ("nohugepage", os::Advice::NoHugePage),
];

/// Checks that `value` is a whole number in `[0, MAX_INDEX]` and converts it.
#[inline]
pub fn to_u64(value: f64, what: &str, call: &'static str) -> Result<u64> {
    // NaN fails the range test as well.
    // `as u64` truncates, so a fraction does not survive the round trip; this
    // inline test replaces `fract()`, a libm call on every read and write
    // (about 3 ns of a 25 ns call).
    if !(0.0..=MAX_INDEX_F64).contains(&value) || value as u64 as f64 != value {
        return Err(Failure::new(
            Status::InvalidArgument,
            call,
            format!(
                "{} must be a whole number from 0 to 2^53 - 1, got {}",
                what, value
            ),
        ));
    }
    Ok(value as u64)
}

/// `to_u64`, then checks that the value fits in this address space.
#[inline]
pub fn to_usize(value: f64, what: &str, call: &'static str) -> Result<usize> {
    let value = to_u64(value, what, call)?;
    usize::try_from(value).map_err(|_| {
        Failure::new(
            Status::OutOfRange,
            call,
            format!("{} {} does not fit in memory", what, value),
        )
    })
}

/// Checks that `[offset, offset + len)` lies within `size` bytes.
#[inline]
pub fn check_range(offset: usize, len: usize, size: usize, call: &'static str) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(Failure::new(
            Status::OutOfRange,
            call,
            format!(
                "range {}..{} is outside the mapping of {} bytes",
                offset,
                offset as u128 + len as u128,
                size
            ),
        )),
    }
}

/// The whole pages `[aligned, aligned + span)` that hold the `len > 0` bytes
/// at address `start` of a mapping. The OS mapping starts on a page boundary
/// and covers whole pages, so both ends stay inside it.
pub fn whole_pages(start: usize, len: usize) -> (usize, usize) {
    let page = os::page_size();
    let aligned = start - start % page;
    let end = (start + len + page - 1) / page * page;
    (aligned, end - aligned)
}

/// The page-aligned span covering `len` bytes at `offset` of a mapping of
/// `size` bytes at `base`, after checking the range; `None` when it is empty.
pub fn page_span(
    base: usize,
    size: usize,
    offset: f64,
    len: f64,
    call: &'static str,
) -> Result<Option<(usize, usize)>> {
    let offset = to_usize(offset, "offset", call)?;
    let len = to_usize(len, "length", call)?;
    check_range(offset, len, size, call)?;
    if len == 0 {
        return Ok(None);
    }
    Ok(Some(whole_pages(base + offset, len)))
}

/// Reads a UTF-8 path handed over as bytes.
///
/// # Safety
/// `ptr` must point to `len` readable bytes (or be null when `len` is 0).
pub unsafe fn path_arg<'a>(ptr: *const u8, len: u32) -> Result<&'a str> {
    if ptr.is_null() || len == 0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            "open",
            "the path is empty",
        ));
    }
    // SAFETY: per this function's contract.
    let bytes = std::slice::from_raw_parts(ptr, len as usize);
    let path = std::str::from_utf8(bytes)
        .map_err(|_| Failure::new(Status::InvalidArgument, "open", "the path is not UTF-8"))?;
    if path.contains('\0') {
        return Err(Failure::new(
            Status::InvalidArgument,
            "open",
            "the path contains a NUL character",
        ));
    }
    Ok(path)
}

/// Reads a shared memory name: a path argument without "/" (the package adds
/// the leading "/" on POSIX). Failures name `call`.
///
/// # Safety
/// As for `path_arg`.
pub unsafe fn shm_name<'a>(ptr: *const u8, len: u32, call: &'static str) -> Result<&'a str> {
    // SAFETY: per this function's contract.
    let name = path_arg(ptr, len).map_err(|mut failure| {
        failure.detail.call = call;
        failure
    })?;
    if name.contains('/') {
        return Err(Failure::new(
            Status::InvalidArgument,
            call,
            "a shared memory name cannot contain \"/\"",
        ));
    }
    Ok(name)
}

/// What a new mapping reports through `out`: `[id, address, length]`.
pub struct Opened {
    pub id: u32,
    pub base: usize,
    pub len: usize,
}

/// Writes `[id, base address, length]` into `out`.
///
/// # Safety
/// `out` must be null or point to three writable, aligned `u64`s.
pub unsafe fn write_opened(out: *mut u64, opened: &Opened) -> Result<()> {
    if out.is_null() {
        return Err(Failure::new(
            Status::InvalidArgument,
            "open",
            "the result buffer is missing",
        ));
    }
    // SAFETY: per this function's contract.
    out.write(u64::from(opened.id));
    out.add(1).write(opened.base as u64);
    out.add(2).write(opened.len as u64);
    Ok(())
}

/// Copies at most `cap` bytes of `bytes` to `text` (unless it is null) and
/// returns the full length, so that a caller with too small a buffer can ask
/// again with the right size.
///
/// # Safety
/// `text` must be null or point to `cap` writable bytes.
pub unsafe fn write_text(text: *mut u8, cap: u32, bytes: &[u8]) -> u32 {
    if !text.is_null() {
        let n = bytes.len().min(cap as usize);
        // SAFETY: `n` bytes fit in `text` per the contract.
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), text, n);
    }
    bytes.len() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_max_safe_integer() {
        // Number.MAX_SAFE_INTEGER, as TypeScript's `toIndex` accepts it.
        assert_eq!(MAX_INDEX, 9_007_199_254_740_991);
        assert_eq!(MAX_INDEX_F64 as u64, MAX_INDEX);
        assert_eq!(to_u64(MAX_INDEX_F64, "offset", "test").unwrap(), MAX_INDEX);
        // 2^53 is where JS numbers stop being exact: refused, as in TypeScript.
        let past = to_u64(9_007_199_254_740_992.0, "offset", "test").unwrap_err();
        assert_eq!(past.status, Status::InvalidArgument);
        assert!(past.detail.message.contains("2^53 - 1"), "{:?}", past);
        assert_eq!(to_u64(0.0, "offset", "test").unwrap(), 0);
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, -0.5, 1e300] {
            assert_eq!(
                to_u64(bad, "offset", "test").unwrap_err().status,
                Status::InvalidArgument,
                "{}",
                bad
            );
        }
    }

    #[test]
    fn ranges_and_page_spans() {
        assert!(check_range(0, 10, 10, "test").is_ok());
        assert_eq!(
            check_range(1, 10, 10, "test").unwrap_err().status,
            Status::OutOfRange
        );
        assert_eq!(
            check_range(usize::MAX, 2, 10, "test").unwrap_err().status,
            Status::OutOfRange
        );
        let page = os::page_size();
        assert_eq!(page_span(page, 10, 3.0, 0.0, "test").unwrap(), None);
        assert_eq!(
            page_span(page, 2 * page, 1.0, page as f64, "test").unwrap(),
            Some((page, 2 * page))
        );
        assert_eq!(whole_pages(page + 1, 1), (page, page));
    }

    #[test]
    fn text_is_cut_at_the_capacity_but_its_length_is_whole() {
        let mut buf = [0u8; 4];
        // SAFETY: `buf` has 4 writable bytes; null is allowed.
        unsafe {
            assert_eq!(write_text(buf.as_mut_ptr(), 4, b"abcdef"), 6);
            assert_eq!(write_text(std::ptr::null_mut(), 0, b"abc"), 3);
        }
        assert_eq!(&buf, b"abcd");
    }
}
