//! Finding a byte sequence in a mapping without copying it out: the
//! `indexOf`/`lastIndexOf` of the TypeScript side.
//!
//! One byte is found with `memchr`/`memrchr` (16 bytes at a time with SSE2 on
//! x86_64, which every x86_64 CPU has; a word at a time elsewhere). Longer
//! patterns use the Two-Way algorithm (Crochemore and Perrin, 1991; what
//! glibc's `memmem` and Rust's `str::find` use): linear time and constant
//! space whatever the pattern, so a hostile pattern such as `aaa…ab` over
//! `aaa…a` cannot make a search quadratic. Whenever Two-Way has no partial
//! match to remember, it jumps to the next place where one byte of the
//! pattern occurs, found with `memchr`; for most patterns that is where the
//! time goes, at `memchr` speed.
//!
//! The bytes searched may change while they are read (another process
//! writing the file, or a pattern in shared memory): every index below
//! depends only on the lengths, never on the bytes, so the worst outcome is a
//! stale answer, never an access out of bounds.

use crate::abi::{check_range, to_usize};
use crate::error::{status_of, Failure, Status};
use crate::registry;

/// Where to look for `byte`: bytes `[0, len)` of a sequence that may be read
/// forwards or backwards, so that one Two-Way serves both directions.
trait Bytes {
    fn len(&self) -> usize;
    fn at(&self, i: usize) -> u8;
    /// The first `i >= from` with `at(i) == byte`.
    fn next(&self, byte: u8, from: usize) -> Option<usize>;
    /// The first `p` in `[from, last]` where both bytes of `pair` are in
    /// place (`at(p + pair.i1) == pair.b1`, the same for `i2`): where a match
    /// may start. Needs `last + max(i1, i2) < len()`.
    fn candidate(&self, pair: &Pair, from: usize, last: usize) -> Option<usize> {
        let mut from = from;
        while from <= last {
            let p = self.next(pair.b1, from + pair.i1)? - pair.i1;
            if p > last {
                return None;
            }
            if self.at(p + pair.i2) == pair.b2 {
                return Some(p);
            }
            from = p + 1;
        }
        None
    }
}

/// Two bytes of a pattern and where they are in it: what the search skips
/// to when it remembers nothing. Two bytes rather than one make a false
/// candidate rare (about 1 in 65,536 positions of random data, against 1 in
/// 256), as the `memchr` crate's "packed pair" does.
struct Pair {
    i1: usize,
    b1: u8,
    i2: usize,
    b2: u8,
}

struct Forward<'a>(&'a [u8]);

impl Bytes for Forward<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn at(&self, i: usize) -> u8 {
        self.0[i]
    }
    #[inline]
    fn next(&self, byte: u8, from: usize) -> Option<usize> {
        memchr(byte, &self.0[from..]).map(|i| from + i)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline]
    fn candidate(&self, pair: &Pair, from: usize, last: usize) -> Option<usize> {
        imp::find_pair(self.0, pair, from, last)
    }
}

/// A sequence read from its end: `at(0)` is the last byte.
struct Backward<'a>(&'a [u8]);

impl Bytes for Backward<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn at(&self, i: usize) -> u8 {
        self.0[self.0.len() - 1 - i]
    }
    #[inline]
    fn next(&self, byte: u8, from: usize) -> Option<usize> {
        let end = self.0.len() - from;
        memrchr(byte, &self.0[..end]).map(|i| self.0.len() - 1 - i)
    }
}

/// The critical factorization of a pattern and its period, for Two-Way.
struct Factorization {
    critical: usize,
    period: usize,
    /// The pattern is periodic (`period` is its period): a shift by the
    /// period keeps the matched prefix, which the search then remembers.
    periodic: bool,
}

/// The maximal suffix of `pattern` under the byte order (`greater` flips
/// it): its start and period (Crochemore and Perrin; the loop of Rust's
/// `TwoWaySearcher::maximal_suffix`).
fn maximal_suffix(pattern: &dyn Bytes, greater: bool) -> (usize, usize) {
    let (mut left, mut right, mut offset, mut period) = (0, 1, 0, 1);
    while right + offset < pattern.len() {
        let a = pattern.at(right + offset);
        let b = pattern.at(left + offset);
        if (a < b && !greater) || (a > b && greater) {
            right += offset + 1;
            offset = 0;
            period = right - left;
        } else if a == b {
            if offset + 1 == period {
                right += offset + 1;
                offset = 0;
            } else {
                offset += 1;
            }
        } else {
            left = right;
            right += 1;
            offset = 0;
            period = 1;
        }
    }
    (left, period)
}

fn factorize(pattern: &dyn Bytes) -> Factorization {
    let (left_a, period_a) = maximal_suffix(pattern, false);
    let (left_b, period_b) = maximal_suffix(pattern, true);
    let (critical, period) = if left_a > left_b {
        (left_a, period_a)
    } else {
        (left_b, period_b)
    };
    let m = pattern.len();
    // Periodic when the part before the critical position repeats one
    // period later.
    let periodic =
        critical + period <= m && (0..critical).all(|i| pattern.at(i) == pattern.at(i + period));
    if periodic {
        Factorization {
            critical,
            period,
            periodic,
        }
    } else {
        Factorization {
            critical,
            period: critical.max(m - critical) + 1,
            periodic,
        }
    }
}

/// The first position of `pattern` (at least 2 bytes) in `text`, by Two-Way.
fn two_way(text: &dyn Bytes, pattern: &dyn Bytes) -> Option<usize> {
    let (n, m) = (text.len(), pattern.len());
    if m > n {
        return None;
    }
    let Factorization {
        critical,
        period,
        periodic,
    } = factorize(pattern);
    // The bytes the skip looks for: the first of the right half, which the
    // search compares first, and the last byte of the pattern (or the first,
    // when the right half starts at the last).
    let other = if critical == m - 1 { 0 } else { m - 1 };
    let pair = Pair {
        i1: critical,
        b1: pattern.at(critical),
        i2: other,
        b2: pattern.at(other),
    };
    let mut pos = 0;
    // Bytes at the pattern's start already known to match (periodic case).
    let mut memory = 0;
    while pos + m <= n {
        if memory == 0 {
            // Nothing remembered: any match at or after `pos` has the pair's
            // bytes in place, so jump to the next such place.
            match text.candidate(&pair, pos, n - m) {
                Some(at) => pos = at,
                None => return None,
            }
        }
        let mut i = critical.max(memory);
        while i < m && pattern.at(i) == text.at(pos + i) {
            i += 1;
        }
        if i < m {
            pos += i - critical + 1;
            memory = 0;
            continue;
        }
        let mut j = critical;
        while j > memory && pattern.at(j - 1) == text.at(pos + j - 1) {
            j -= 1;
        }
        if j <= memory {
            return Some(pos);
        }
        pos += period;
        if periodic {
            memory = m - period;
        }
    }
    None
}

/// The first position of `pattern` in `text`.
pub fn find(text: &[u8], pattern: &[u8]) -> Option<usize> {
    match pattern.len() {
        0 => Some(0),
        1 => memchr(pattern[0], text),
        _ => two_way(&Forward(text), &Forward(pattern)),
    }
}

/// The last position of `pattern` in `text`.
pub fn rfind(text: &[u8], pattern: &[u8]) -> Option<usize> {
    match pattern.len() {
        0 => Some(text.len()),
        1 => memrchr(pattern[0], text),
        m => two_way(&Backward(text), &Backward(pattern)).map(|i| text.len() - i - m),
    }
}

const WORD: usize = std::mem::size_of::<usize>();
const LO: usize = usize::MAX / 255;
const HI: usize = LO << 7;

/// Whether some byte of `word` is zero (the classic bit trick: exact, with
/// no false positives).
#[inline]
fn has_zero(word: usize) -> bool {
    word.wrapping_sub(LO) & !word & HI != 0
}

/// The first `i` with `text[i] == byte`.
pub fn memchr(byte: u8, text: &[u8]) -> Option<usize> {
    imp::memchr(byte, text)
}

/// The last `i` with `text[i] == byte`.
pub fn memrchr(byte: u8, text: &[u8]) -> Option<usize> {
    imp::memrchr(byte, text)
}

/// Word at a time, for CPUs without SSE2 (and for the tails of the SSE2
/// loop's input, where it is short).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
mod swar {
    use super::{has_zero, LO, WORD};

    pub fn memchr(byte: u8, text: &[u8]) -> Option<usize> {
        let repeated = LO * byte as usize;
        let mut i = 0;
        while i + WORD <= text.len() {
            let mut bytes = [0u8; super::WORD];
            bytes.copy_from_slice(&text[i..i + WORD]);
            if has_zero(usize::from_ne_bytes(bytes) ^ repeated) {
                break;
            }
            i += WORD;
        }
        text[i..].iter().position(|&b| b == byte).map(|j| i + j)
    }

    pub fn memrchr(byte: u8, text: &[u8]) -> Option<usize> {
        let repeated = LO * byte as usize;
        let mut end = text.len();
        while end >= WORD {
            let mut bytes = [0u8; super::WORD];
            bytes.copy_from_slice(&text[end - WORD..end]);
            if has_zero(usize::from_ne_bytes(bytes) ^ repeated) {
                break;
            }
            end -= WORD;
        }
        text[..end].iter().rposition(|&b| b == byte)
    }
}

#[cfg(not(target_arch = "x86_64"))]
use swar as imp;

/// SSE2, part of the x86_64 baseline (no runtime detection needed): 64
/// bytes per step, compared 16 at a time.
#[cfg(target_arch = "x86_64")]
mod imp {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// Bit `k` is set when `text[at + k] == byte` (k < 16).
    ///
    /// # Safety
    /// `at + 16 <= text.len()`.
    #[inline(always)]
    unsafe fn mask(text: &[u8], at: usize, needle: __m128i) -> u32 {
        // SAFETY: per the contract; an unaligned load of 16 bytes inside `text`.
        let chunk = _mm_loadu_si128(text.as_ptr().add(at) as *const __m128i);
        _mm_movemask_epi8(_mm_cmpeq_epi8(chunk, needle)) as u32
    }

    /// Whether any of the 64 bytes from `at` is `byte`.
    ///
    /// # Safety
    /// `at + 64 <= text.len()`.
    #[inline(always)]
    unsafe fn any64(text: &[u8], at: usize, needle: __m128i) -> bool {
        let p = text.as_ptr().add(at) as *const __m128i;
        // SAFETY: per the contract; four unaligned loads inside `text`.
        let a = _mm_cmpeq_epi8(_mm_loadu_si128(p), needle);
        let b = _mm_cmpeq_epi8(_mm_loadu_si128(p.add(1)), needle);
        let c = _mm_cmpeq_epi8(_mm_loadu_si128(p.add(2)), needle);
        let d = _mm_cmpeq_epi8(_mm_loadu_si128(p.add(3)), needle);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) != 0
    }

    pub fn memchr(byte: u8, text: &[u8]) -> Option<usize> {
        let n = text.len();
        if n >= 256 && std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { memchr_avx2(byte, text) };
        }
        memchr_sse2(byte, text)
    }

    /// `memchr` with AVX2: 128 bytes per step, 32 at a time, the width
    /// glibc's own `memchr` uses here. The SSE2 loop (64 bytes per step)
    /// measured 1.36× glibc's time on a 64 MiB scan; the search is bound by
    /// how many loads are in flight, not by the compares.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn memchr_avx2(byte: u8, text: &[u8]) -> Option<usize> {
        use std::arch::x86_64::{
            __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256,
            _mm256_set1_epi8,
        };
        let n = text.len();
        let base = text.as_ptr();
        let needle = _mm256_set1_epi8(byte as i8);
        let mut at = 0;
        while at + 128 <= n {
            let p = base.add(at) as *const __m256i;
            // SAFETY: four loads inside `text` (at + 128 <= n).
            let a = _mm256_cmpeq_epi8(_mm256_loadu_si256(p), needle);
            let b = _mm256_cmpeq_epi8(_mm256_loadu_si256(p.add(1)), needle);
            let c = _mm256_cmpeq_epi8(_mm256_loadu_si256(p.add(2)), needle);
            let d = _mm256_cmpeq_epi8(_mm256_loadu_si256(p.add(3)), needle);
            let any = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d));
            if _mm256_movemask_epi8(any) != 0 {
                break;
            }
            at += 128;
        }
        while at + 32 <= n {
            let m = mask32(base, at, needle);
            if m != 0 {
                return Some(at + m.trailing_zeros() as usize);
            }
            at += 32;
        }
        if at == n {
            return None;
        }
        // The last 32 bytes, overlapping what was already searched (n >= 256).
        let m = mask32(base, n - 32, needle) >> (32 - (n - at));
        if m != 0 {
            return Some(at + m.trailing_zeros() as usize);
        }
        None
    }

    /// Bit `k` is set when `base[at + k] == byte` (k < 32).
    ///
    /// # Safety
    /// The CPU must support AVX2; `at + 32` bytes from `base` are readable.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn mask32(base: *const u8, at: usize, needle: std::arch::x86_64::__m256i) -> u32 {
        use std::arch::x86_64::{
            __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
        };
        let chunk = _mm256_loadu_si256(base.add(at) as *const __m256i);
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(chunk, needle)) as u32
    }

    fn memchr_sse2(byte: u8, text: &[u8]) -> Option<usize> {
        let n = text.len();
        if n < 16 {
            return text.iter().position(|&b| b == byte);
        }
        // SAFETY: every load below is checked to end within `text`.
        unsafe {
            let needle = _mm_set1_epi8(byte as i8);
            let mut at = 0;
            while at + 64 <= n && !any64(text, at, needle) {
                at += 64;
            }
            while at + 16 <= n {
                let m = mask(text, at, needle);
                if m != 0 {
                    return Some(at + m.trailing_zeros() as usize);
                }
                at += 16;
            }
            // The last 16 bytes, overlapping what was already searched.
            let m = mask(text, n - 16, needle) >> (16 - (n - at));
            if m != 0 {
                return Some(at + m.trailing_zeros() as usize);
            }
        }
        None
    }

    /// `Bytes::candidate` for a forward sequence, 16 positions per step.
    pub(super) fn find_pair(
        text: &[u8],
        pair: &super::Pair,
        from: usize,
        last: usize,
    ) -> Option<usize> {
        let mut p = from;
        // SAFETY: each step covers positions p..p + 16, all at most `last`,
        // so both loads end at most at last + 16 + max(i1, i2) <= len
        // (the caller's contract: last + max(i1, i2) < len).
        unsafe {
            let v1 = _mm_set1_epi8(pair.b1 as i8);
            let v2 = _mm_set1_epi8(pair.b2 as i8);
            let base = text.as_ptr();
            while p + 15 <= last {
                let a = _mm_loadu_si128(base.add(p + pair.i1) as *const __m128i);
                let b = _mm_loadu_si128(base.add(p + pair.i2) as *const __m128i);
                let both = _mm_and_si128(_mm_cmpeq_epi8(a, v1), _mm_cmpeq_epi8(b, v2));
                let m = _mm_movemask_epi8(both) as u32;
                if m != 0 {
                    return Some(p + m.trailing_zeros() as usize);
                }
                p += 16;
            }
        }
        while p <= last {
            if text[p + pair.i1] == pair.b1 && text[p + pair.i2] == pair.b2 {
                return Some(p);
            }
            p += 1;
        }
        None
    }

    pub fn memrchr(byte: u8, text: &[u8]) -> Option<usize> {
        let n = text.len();
        if n < 16 {
            return text.iter().rposition(|&b| b == byte);
        }
        // SAFETY: every load below is checked to start within `text`.
        unsafe {
            let needle = _mm_set1_epi8(byte as i8);
            let mut end = n;
            while end >= 64 && !any64(text, end - 64, needle) {
                end -= 64;
            }
            while end >= 16 {
                let m = mask(text, end - 16, needle);
                if m != 0 {
                    return Some(end - 16 + (31 - m.leading_zeros() as usize));
                }
                end -= 16;
            }
            // The first 16 bytes, overlapping what was already searched.
            let m = mask(text, 0, needle) & ((1u32 << end) - 1);
            if m != 0 {
                return Some(31 - m.leading_zeros() as usize);
            }
        }
        None
    }
}

/// Finds `pattern` (`pattern_len` bytes) in `[offset, offset + len)` of
/// mapping `id`: the first occurrence, or with `reverse` != 0 the last one,
/// wholly inside the range. Writes its position in the mapping to `out`, or
/// -1 when there is none; an empty pattern is found at the range's start (its
/// end with `reverse`). A range that reaches pages lost to a truncation of the
/// file returns `Truncated`, as a read of it would.
///
/// # Safety
/// `pattern` must point to `pattern_len` readable bytes (it may be null when
/// `pattern_len` is 0); `out` must point to one writable `f64`.
#[no_mangle]
pub unsafe extern "C" fn mmap_find(
    id: u32,
    offset: f64,
    len: f64,
    pattern: *const u8,
    pattern_len: f64,
    reverse: u32,
    out: *mut f64,
) -> i32 {
    const CALL: &str = "indexOf";
    status_of((|| {
        let entry = registry::enter(id, CALL)?;
        let offset = to_usize(offset, "offset", CALL)?;
        let len = to_usize(len, "length", CALL)?;
        let pattern_len = to_usize(pattern_len, "pattern length", CALL)?;
        check_range(offset, len, entry.len(), CALL)?;
        if out.is_null() || (pattern.is_null() && pattern_len > 0) {
            return Err(Failure::new(
                Status::InvalidArgument,
                CALL,
                "a buffer is missing",
            ));
        }
        let found = if pattern_len > len {
            None
        } else if len == 0 {
            Some(0)
        } else {
            if !entry.intact(offset, len) {
                return Err(entry.fault(CALL));
            }
            // SAFETY: the range was checked against the live mapping, which
            // cannot be unmapped while `entry` exists; the pattern is valid per
            // the contract. The bytes may change meanwhile (see the module's
            // notes), which only changes the answer.
            let text = std::slice::from_raw_parts((entry.base() + offset) as *const u8, len);
            let needle: &[u8] = if pattern_len == 0 {
                &[]
            } else {
                std::slice::from_raw_parts(pattern, pattern_len)
            };
            let found = if reverse != 0 {
                rfind(text, needle)
            } else {
                find(text, needle)
            };
            // A page lost during the search read as zeros: say so.
            if !entry.intact(offset, len) {
                return Err(entry.fault(CALL));
            }
            found
        };
        out.write(found.map_or(-1.0, |i| (offset + i) as f64));
        Ok(())
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(text: &[u8], pattern: &[u8]) -> Option<usize> {
        if pattern.len() > text.len() {
            return None;
        }
        (0..=text.len() - pattern.len()).find(|&i| &text[i..i + pattern.len()] == pattern)
    }

    fn naive_last(text: &[u8], pattern: &[u8]) -> Option<usize> {
        if pattern.len() > text.len() {
            return None;
        }
        (0..=text.len() - pattern.len())
            .rev()
            .find(|&i| &text[i..i + pattern.len()] == pattern)
    }

    /// xorshift64*: deterministic, no crates.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn one_byte_at_every_position_and_length() {
        for n in 0..200 {
            for at in 0..n {
                let mut text = vec![0u8; n];
                text[at] = 7;
                assert_eq!(memchr(7, &text), Some(at), "n {} at {}", n, at);
                assert_eq!(memrchr(7, &text), Some(at), "n {} at {}", n, at);
                assert_eq!(swar::memchr(7, &text), Some(at));
                assert_eq!(swar::memrchr(7, &text), Some(at));
            }
            let text = vec![1u8; n];
            assert_eq!(memchr(7, &text), None);
            assert_eq!(memrchr(7, &text), None);
            let text = vec![7u8; n];
            assert_eq!(memchr(7, &text), if n > 0 { Some(0) } else { None });
            assert_eq!(memrchr(7, &text), n.checked_sub(1));
        }
        // The AVX2 loop (from 256 bytes): every position near each end and
        // around the 128-byte steps, and every tail length.
        for n in 256..700 {
            for at in (0..n).filter(|&at| at < 300 || at + 300 > n) {
                let mut text = vec![0u8; n];
                text[at] = 0xfe;
                assert_eq!(memchr(0xfe, &text), Some(at), "n {} at {}", n, at);
            }
            assert_eq!(memchr(0xfe, &vec![0u8; n]), None, "n {}", n);
        }
        // Bytes with the top bit set (signed in SSE2's view).
        let text = [0x80u8, 0xff, 0x7f, 0xff];
        assert_eq!(memchr(0xff, &text), Some(1));
        assert_eq!(memrchr(0xff, &text), Some(3));
    }

    #[test]
    fn patterns_agree_with_a_naive_search() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..20_000 {
            // Small alphabets make many partial matches and periodic patterns.
            let alphabet = 1 + rng.below(if round % 2 == 0 { 2 } else { 4 });
            let n = rng.below(300);
            let text: Vec<u8> = (0..n).map(|_| b'a' + rng.below(alphabet) as u8).collect();
            let m = rng.below(12);
            let pattern: Vec<u8> = if m <= n && n > 0 && rng.below(2) == 0 {
                let at = rng.below(n - m + 1);
                text[at..at + m].to_vec()
            } else {
                (0..m).map(|_| b'a' + rng.below(alphabet) as u8).collect()
            };
            assert_eq!(
                find(&text, &pattern),
                naive(&text, &pattern),
                "{:?} in {:?}",
                pattern,
                text
            );
            assert_eq!(
                rfind(&text, &pattern),
                naive_last(&text, &pattern),
                "{:?} in {:?}",
                pattern,
                text
            );
        }
    }

    #[test]
    fn hostile_patterns_stay_linear() {
        // `a…ab` in `a…a`: quadratic for a first-byte scan and compare.
        let text = vec![b'a'; 1 << 20];
        let mut pattern = vec![b'a'; 1 << 12];
        pattern.push(b'b');
        let start = std::time::Instant::now();
        assert_eq!(find(&text, &pattern), None);
        pattern.reverse();
        assert_eq!(rfind(&text, &pattern), None);
        // Quadratic would be 2^32 comparisons (seconds); linear is ~ms.
        assert!(start.elapsed().as_secs_f64() < 1.0, "{:?}", start.elapsed());
    }

    #[test]
    fn finds_in_a_mapping_window() {
        use crate::test_util::*;
        use crate::*;
        let file = TempFile::new("find", b"xxabcxxabcxx");
        let (status, out) = map(file.path(), 0, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        let mut at = [0f64; 1];
        let call = |offset: f64, len: f64, p: &[u8], reverse: u32, at: &mut [f64; 1]| {
            // SAFETY: live buffers of the lengths passed.
            unsafe {
                mmap_find(
                    id,
                    offset,
                    len,
                    p.as_ptr(),
                    p.len() as f64,
                    reverse,
                    at.as_mut_ptr(),
                )
            }
        };
        assert_eq!(call(0.0, 12.0, b"abc", 0, &mut at), 0);
        assert_eq!(at[0], 2.0);
        assert_eq!(call(0.0, 12.0, b"abc", 1, &mut at), 0);
        assert_eq!(at[0], 7.0);
        assert_eq!(call(3.0, 9.0, b"abc", 0, &mut at), 0);
        assert_eq!(at[0], 7.0);
        // Wholly inside the range: [3, 9) holds "bcxxab", no whole "abc".
        assert_eq!(call(3.0, 6.0, b"abc", 0, &mut at), 0);
        assert_eq!(at[0], -1.0);
        assert_eq!(call(3.0, 6.0, b"", 1, &mut at), 0);
        assert_eq!(at[0], 9.0);
        assert_eq!(call(8.0, 5.0, b"a", 0, &mut at), Status::OutOfRange as i32);
        assert_eq!(
            call(f64::NAN, 1.0, b"a", 0, &mut at),
            Status::InvalidArgument as i32
        );
        assert_eq!(mmap_close(id), 0);
        assert_eq!(call(0.0, 1.0, b"a", 0, &mut at), Status::BadHandle as i32);
    }
}
