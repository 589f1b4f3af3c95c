//! Batch copies: many records per FFI crossing. `mmap_gather` copies a
//! record from each offset of a mapping into consecutive slots of a buffer;
//! `mmap_scatter` does the reverse. Records are all `len` bytes long, or each
//! has its own length (a lengths column).
//!
//! Why: a per-call copy pays the FFI crossing and its checks between two
//! cache misses, and the CPU overlaps the next miss with this one only if
//! that work fits in its reorder window. Here the loop between two copies is
//! a load of the offset, one compare and the copy, and the loop issues a
//! software prefetch a few records ahead, so the misses overlap.
//!
//! All or nothing: every offset and length is checked (pass 1) before any
//! byte moves, and the first bad one is named by its index. The columns are
//! the caller's memory and may change under the call (a `SharedArrayBuffer`
//! written by a worker, or JavaScript running while a batch copies on a
//! thread), so pass 2 reads each value once more, exactly once (volatile),
//! and checks it again before it copies: a change can make the call fail
//! half-way, never copy outside the mapping or the buffer.

use crate::abi::{to_usize, ELEMENT_F64, ELEMENT_U32, ELEMENT_U64, MAX_INDEX};
use crate::copy::prefetch;
use crate::error::{status_of, Failure, Result, Status};
use crate::registry::{self, Entry, FLAG_WRITABLE};

/// How many records ahead the copy loop prefetches, for records shorter
/// than `PREFETCH_BELOW`. Measured with 1,048,576 records of 64 B at random
/// row offsets of a warm 1 GiB file on a busy 2-core x86_64 VM (medians of
/// 9 gathers, builds interleaved): in the two quieter rounds of three,
/// 31–48 ns per record with 8 ahead (16 ahead: 38–51, 32 ahead: 36–87),
/// 68–76 ns without prefetch; in two later rounds 94–120 against 126–153.
const PREFETCH_AHEAD: usize = 8;

/// Records this long or longer are not prefetched: at 4 KiB (65,536
/// records) the same runs showed no gain (0.9–2.2 µs per record either
/// way, within the noise); the copy of one record is long enough to hide
/// the next one's first miss, and the hardware prefetcher follows the rest.
const PREFETCH_BELOW: usize = 4096;

/// The cache line size of x86_64 and of most aarch64 cores (Apple's are
/// 128 bytes: a second prefetch into the same line costs nothing but an
/// instruction).
const CACHE_LINE: usize = 64;

/// A column of the caller's numbers: offsets or lengths.
trait Column {
    /// Element `i` as an index, or `None` when it is not a whole number from
    /// 0 to 2^53 - 1 (or does not fit in memory). Reads the element once.
    ///
    /// # Safety
    /// `i` is below the count the column was made for.
    unsafe fn get(&self, i: usize) -> Option<usize>;
    /// Element `i` as text, for a message (cold).
    ///
    /// # Safety
    /// As for `get`.
    unsafe fn show(&self, i: usize) -> String;
}

/// Every record has the same length.
struct Fixed(usize);

impl Column for Fixed {
    #[inline(always)]
    unsafe fn get(&self, _: usize) -> Option<usize> {
        Some(self.0)
    }
    unsafe fn show(&self, _: usize) -> String {
        self.0.to_string()
    }
}

struct F64s(*const f64);
struct U32s(*const u32);
struct U64s(*const u64);

impl Column for F64s {
    #[inline(always)]
    unsafe fn get(&self, i: usize) -> Option<usize> {
        // SAFETY: per the trait's contract; volatile so that the value
        // checked is the value used (see the module's notes).
        let value = std::ptr::read_volatile(self.0.add(i));
        // NaN fails the range test; `as u64` truncates a fraction, which the
        // round trip catches (as `abi::to_u64`).
        if (0.0..=MAX_INDEX as f64).contains(&value) && value as u64 as f64 == value {
            usize::try_from(value as u64).ok()
        } else {
            None
        }
    }
    unsafe fn show(&self, i: usize) -> String {
        // SAFETY: per the trait's contract.
        std::ptr::read_volatile(self.0.add(i)).to_string()
    }
}

impl Column for U32s {
    #[inline(always)]
    unsafe fn get(&self, i: usize) -> Option<usize> {
        // SAFETY: per the trait's contract.
        Some(std::ptr::read_volatile(self.0.add(i)) as usize)
    }
    unsafe fn show(&self, i: usize) -> String {
        // SAFETY: per the trait's contract.
        std::ptr::read_volatile(self.0.add(i)).to_string()
    }
}

impl Column for U64s {
    #[inline(always)]
    unsafe fn get(&self, i: usize) -> Option<usize> {
        // SAFETY: per the trait's contract.
        let value = std::ptr::read_volatile(self.0.add(i));
        if value <= MAX_INDEX {
            usize::try_from(value).ok()
        } else {
            None
        }
    }
    unsafe fn show(&self, i: usize) -> String {
        // SAFETY: per the trait's contract.
        format!("{}n", std::ptr::read_volatile(self.0.add(i)))
    }
}

/// Which way the bytes go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Mapping → buffer.
    Gather,
    /// Buffer → mapping.
    Scatter,
}

impl Direction {
    fn call(self) -> &'static str {
        match self {
            Direction::Gather => "gather",
            Direction::Scatter => "scatter",
        }
    }
}

/// Checks every record, then copies them. Returns nothing: the caller knows
/// how many records it gave.
///
/// # Safety
/// `offsets` and `lengths` hold `count` elements; `buf` points to `buf_len`
/// bytes (readable for a scatter, writable for a gather).
unsafe fn run<O: Column, L: Column>(
    entry: &Entry,
    direction: Direction,
    offsets: &O,
    lengths: &L,
    count: usize,
    buf: *mut u8,
    buf_len: usize,
) -> Result<()> {
    let call = direction.call();
    let size = entry.len();
    // Pass 1: all or nothing.
    let mut total: usize = 0;
    let mut max_end: usize = 0;
    for i in 0..count {
        // SAFETY: `i < count`.
        let offset = match offsets.get(i) {
            Some(offset) => offset,
            None => return Err(bad_value(call, "offsets", i, offsets.show(i))),
        };
        // SAFETY: `i < count`.
        let len = match lengths.get(i) {
            Some(len) => len,
            None => return Err(bad_value(call, "lengths", i, lengths.show(i))),
        };
        match offset.checked_add(len) {
            Some(end) if end <= size => max_end = max_end.max(end),
            _ => return Err(outside(call, i, offset, len, size)),
        }
        total = match total.checked_add(len) {
            Some(total) => total,
            None => return Err(too_small(call, direction, buf_len, None)),
        };
    }
    if total > buf_len {
        return Err(too_small(call, direction, buf_len, Some(total)));
    }
    if total == 0 {
        return Ok(());
    }
    if buf.is_null() {
        return Err(Failure::new(
            Status::InvalidArgument,
            call,
            "the buffer is missing",
        ));
    }
    if !entry.intact(0, max_end) {
        return Err(entry.fault(call));
    }
    // Pass 2: each value read once more, checked again, copied.
    let base = entry.base();
    let mut at: usize = 0;
    for i in 0..count {
        if i + PREFETCH_AHEAD < count {
            // SAFETY: `i + PREFETCH_AHEAD < count`. The prefetch never
            // faults; a value that changed meanwhile only wastes it.
            if let (Some(ahead), Some(len)) = (
                offsets.get(i + PREFETCH_AHEAD),
                lengths.get(i + PREFETCH_AHEAD),
            ) {
                if ahead < size && len < PREFETCH_BELOW {
                    let first = base.wrapping_add(ahead);
                    prefetch(first);
                    // The record's last byte may sit on another line.
                    let last = base.wrapping_add(ahead.saturating_add(len.max(1)).min(size) - 1);
                    if last / CACHE_LINE != first / CACHE_LINE {
                        prefetch(last);
                    }
                }
            }
        }
        // SAFETY: `i < count`.
        let (offset, len) = match (offsets.get(i), lengths.get(i)) {
            (Some(offset), Some(len))
                if offset <= size && len <= size - offset && len <= buf_len - at =>
            {
                (offset, len)
            }
            _ => return Err(changed(call, i)),
        };
        let mapped = (base + offset) as *mut u8;
        // SAFETY: `[offset, offset + len)` lies in the live mapping, pinned
        // by `entry`; `[at, at + len)` lies in the buffer (checked just
        // above against the values used). `copy` (memmove), because the
        // buffer may be a view of this mapping.
        match direction {
            Direction::Gather => std::ptr::copy(mapped, buf.add(at), len),
            Direction::Scatter => std::ptr::copy(buf.add(at), mapped, len),
        }
        at += len;
    }
    // Checked again after the copies: they may have faulted on pages lost
    // to a truncation meanwhile (os/unix/fault.rs).
    if !entry.intact(0, max_end) {
        return Err(entry.fault(call));
    }
    Ok(())
}

#[cold]
fn bad_value(call: &'static str, what: &str, i: usize, value: String) -> Failure {
    Failure::new(
        Status::OutOfRange,
        call,
        format!(
            "{}[{}] must be a whole number from 0 to 2^53 - 1, got {}; nothing was copied",
            what, i, value
        ),
    )
}

#[cold]
fn outside(call: &'static str, i: usize, offset: usize, len: usize, size: usize) -> Failure {
    Failure::new(
        Status::OutOfRange,
        call,
        format!(
            "record {}: range {}..{} is outside the mapping of {} bytes; nothing was copied",
            i,
            offset,
            offset as u128 + len as u128,
            size
        ),
    )
}

#[cold]
fn too_small(
    call: &'static str,
    direction: Direction,
    buf_len: usize,
    total: Option<usize>,
) -> Failure {
    let what = match direction {
        Direction::Gather => "dst",
        Direction::Scatter => "src",
    };
    let need = total.map_or_else(|| "more than 2^64".to_string(), |t| t.to_string());
    Failure::new(
        Status::OutOfRange,
        call,
        format!(
            "{} holds {} bytes but the records need {}; nothing was copied",
            what, buf_len, need
        ),
    )
}

#[cold]
fn changed(call: &'static str, i: usize) -> Failure {
    Failure::new(
        Status::InvalidArgument,
        call,
        format!(
            "record {} changed during the call (offsets or lengths were written meanwhile); \
             records before it were copied",
            i
        ),
    )
}

/// A column pointer with its element kind, checked for null and alignment.
fn column_ptr(
    ptr: *const u8,
    kind: u32,
    count: usize,
    what: &str,
    call: &'static str,
) -> Result<(*const u8, u32)> {
    let align = match kind {
        ELEMENT_F64 | ELEMENT_U64 => 8,
        ELEMENT_U32 => 4,
        _ => {
            return Err(Failure::new(
                Status::InvalidArgument,
                call,
                format!("unknown element kind {} for {}", kind, what),
            ))
        }
    };
    if count > 0 && (ptr.is_null() || ptr as usize % align != 0) {
        return Err(Failure::new(
            Status::InvalidArgument,
            call,
            format!("{} is missing or misaligned", what),
        ));
    }
    Ok((ptr, kind))
}

/// Picks the loop for the columns' element kinds (one instance per pair, so
/// the kinds cost nothing inside it).
///
/// # Safety
/// As for `run`, with `lengths` null for fixed-length records.
#[allow(clippy::too_many_arguments)]
unsafe fn dispatch(
    id: u32,
    direction: Direction,
    offsets: *const u8,
    offsets_kind: u32,
    lengths: *const u8,
    lengths_kind: u32,
    count: f64,
    len: f64,
    buf: *mut u8,
    buf_len: f64,
) -> Result<()> {
    let call = direction.call();
    let entry = registry::enter(id, call)?;
    if direction == Direction::Scatter && entry.flags() & FLAG_WRITABLE == 0 {
        return Err(Failure::new(
            Status::ReadOnly,
            call,
            "the mapping is read-only",
        ));
    }
    let count = to_usize(count, "count", call)?;
    let len = to_usize(len, "length", call)?;
    let buf_len = to_usize(buf_len, "buffer length", call)?;
    let (offsets, offsets_kind) = column_ptr(offsets, offsets_kind, count, "offsets", call)?;
    macro_rules! with_lengths {
        ($o:expr) => {
            if lengths.is_null() {
                run(&entry, direction, &$o, &Fixed(len), count, buf, buf_len)
            } else {
                let (l, kind) = column_ptr(lengths, lengths_kind, count, "lengths", call)?;
                match kind {
                    ELEMENT_F64 => run(&entry, direction, &$o, &F64s(l as _), count, buf, buf_len),
                    ELEMENT_U32 => run(&entry, direction, &$o, &U32s(l as _), count, buf, buf_len),
                    _ => run(&entry, direction, &$o, &U64s(l as _), count, buf, buf_len),
                }
            }
        };
    }
    match offsets_kind {
        ELEMENT_F64 => with_lengths!(F64s(offsets as _)),
        ELEMENT_U32 => with_lengths!(U32s(offsets as _)),
        _ => with_lengths!(U64s(offsets as _)),
    }
}

/// Copies record `i` of mapping `id` — `len` bytes at `offsets[i]`, or
/// `lengths[i]` bytes when `lengths` is not null — into `dst`, one record
/// after another, for `i` in `0..count`. `offsets_kind` and `lengths_kind`
/// are `ELEMENT_*` (f64, u32 or u64 elements). All or nothing: a bad value
/// (the first is named by its index) or records that need more than
/// `dst_len` bytes copy nothing and return `OutOfRange`; a truncated file
/// returns `Truncated` as `mmap_read` does; a column that changes during the
/// call returns `InvalidArgument` (see the module's notes).
///
/// # Safety
/// `offsets` (and `lengths`, unless null) must hold `count` elements of
/// their kinds; `dst` must point to `dst_len` writable bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mmap_gather(
    id: u32,
    offsets: *const u8,
    offsets_kind: u32,
    lengths: *const u8,
    lengths_kind: u32,
    count: f64,
    len: f64,
    dst: *mut u8,
    dst_len: f64,
) -> i32 {
    status_of(dispatch(
        id,
        Direction::Gather,
        offsets,
        offsets_kind,
        lengths,
        lengths_kind,
        count,
        len,
        dst,
        dst_len,
    ))
}

/// The reverse of `mmap_gather`: record `i` of `src` (records one after
/// another) goes to `offsets[i]` of mapping `id`. All or nothing as for
/// `mmap_gather`; `ReadOnly` on a mapping opened read-only.
///
/// # Safety
/// As for `mmap_gather`, with `src` pointing to `src_len` readable bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mmap_scatter(
    id: u32,
    offsets: *const u8,
    offsets_kind: u32,
    lengths: *const u8,
    lengths_kind: u32,
    count: f64,
    len: f64,
    src: *const u8,
    src_len: f64,
) -> i32 {
    status_of(dispatch(
        id,
        Direction::Scatter,
        offsets,
        offsets_kind,
        lengths,
        lengths_kind,
        count,
        len,
        src as *mut u8,
        src_len,
    ))
}

#[cfg(test)]
mod tests {
    use crate::test_util::*;
    use crate::*;

    fn numbered(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn gather(id: u32, offsets: &[f64], len: usize, dst: &mut [u8]) -> i32 {
        // SAFETY: the slices are live and as long as the counts passed.
        unsafe {
            mmap_gather(
                id,
                offsets.as_ptr() as *const u8,
                ELEMENT_F64,
                std::ptr::null(),
                0,
                offsets.len() as f64,
                len as f64,
                dst.as_mut_ptr(),
                dst.len() as f64,
            )
        }
    }

    #[test]
    fn gather_and_scatter_round_trip() {
        let contents = numbered(10_000);
        let file = TempFile::new("batch_round_trip", &contents);
        let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        let offsets: Vec<f64> = (0..100).map(|i| ((i * 97) % 9_000) as f64).collect();
        let mut dst = vec![0u8; 100 * 16];
        assert_eq!(gather(id, &offsets, 16, &mut dst), 0);
        for (i, &o) in offsets.iter().enumerate() {
            let o = o as usize;
            assert_eq!(
                &dst[i * 16..i * 16 + 16],
                &contents[o..o + 16],
                "record {}",
                i
            );
        }
        // Variable lengths, u32 offsets and u64 lengths.
        let offs: [u32; 3] = [5, 9_990, 0];
        let lens: [u64; 3] = [3, 10, 0];
        let mut dst = [0u8; 13];
        // SAFETY: the arrays are live and hold 3 elements; dst 13 bytes.
        let status = unsafe {
            mmap_gather(
                id,
                offs.as_ptr() as *const u8,
                ELEMENT_U32,
                lens.as_ptr() as *const u8,
                ELEMENT_U64,
                3.0,
                0.0,
                dst.as_mut_ptr(),
                13.0,
            )
        };
        assert_eq!(status, 0);
        assert_eq!(&dst[..3], &contents[5..8]);
        assert_eq!(&dst[3..], &contents[9_990..]);
        // Scatter the records back elsewhere.
        let src = b"abcdefgh";
        let to: [f64; 2] = [100.0, 200.0];
        // SAFETY: as above.
        let status = unsafe {
            mmap_scatter(
                id,
                to.as_ptr() as *const u8,
                ELEMENT_F64,
                std::ptr::null(),
                0,
                2.0,
                4.0,
                src.as_ptr(),
                8.0,
            )
        };
        assert_eq!(status, 0);
        assert_eq!(mmap_close(id), 0);
        let now = file.contents();
        assert_eq!(&now[100..104], b"abcd");
        assert_eq!(&now[200..204], b"efgh");
    }

    #[test]
    fn a_bad_record_copies_nothing() {
        let contents = numbered(1000);
        let file = TempFile::new("batch_bad", &contents);
        let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        let mut dst = vec![9u8; 40];
        for bad in [f64::NAN, -1.0, 0.5, 991.0, 1e300] {
            let offsets = [0.0, 10.0, bad, 20.0];
            assert_eq!(
                gather(id, &offsets, 10, &mut dst),
                Status::OutOfRange as i32,
                "{}",
                bad
            );
            assert!(dst.iter().all(|&b| b == 9), "{}", bad);
            let text = last_error().2;
            assert!(
                text.contains("offsets[2]") || text.contains("record 2:"),
                "{}",
                text
            );
        }
        assert_eq!(
            gather(id, &[0.0; 5], 10, &mut dst),
            Status::OutOfRange as i32
        );
        assert!(last_error().2.contains("dst holds 40 bytes"));
        assert_eq!(gather(id, &[], 10, &mut dst), 0);
        assert_eq!(gather(id, &[999.0, 1000.0], 0, &mut []), 0);
        assert_eq!(gather(id, &[1001.0], 0, &mut []), Status::OutOfRange as i32);
        assert_eq!(mmap_close(id), 0);
        assert_eq!(gather(id, &[0.0], 1, &mut dst), Status::BadHandle as i32);
    }

    #[test]
    fn scatter_refuses_read_only_mappings() {
        let file = TempFile::new("batch_ro", b"0123456789");
        let (status, out) = map(file.path(), 0, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        let to = [0.0f64];
        // SAFETY: live arrays of the lengths passed.
        let status = unsafe {
            mmap_scatter(
                id,
                to.as_ptr() as *const u8,
                ELEMENT_F64,
                std::ptr::null(),
                0,
                1.0,
                1.0,
                b"x".as_ptr(),
                1.0,
            )
        };
        assert_eq!(status, Status::ReadOnly as i32);
        assert_eq!(mmap_close(id), 0);
        assert_eq!(file.contents(), b"0123456789");
    }
}
