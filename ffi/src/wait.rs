//! Waiting on a 32-bit word of a mapping until another thread or process
//! notifies it (`mmap_wait`, `mmap_notify`), the cross-process counterpart of
//! `Atomics.wait` / `Atomics.notify`.
//!
//! A wait cell is 8 bytes at a 4-byte aligned offset: the caller's `Int32`,
//! then a count of the threads (in any process) that sleep on it, kept here.
//! The count is why a `notify` nobody waits for costs no system call: it
//! lives in the mapping, so every process that maps the cell sees the same
//! one. A waiter spins on the word for a bounded number of checks first
//! (between running processes a change is seen in well under a microsecond,
//! while waking a sleeper costs tens), then counts itself in and sleeps
//! (`os::Sleeper`).
//!
//! Ordering: a waiter increments the count and then reads the word; a
//! notifier's caller writes the word and `mmap_notify` then reads the count,
//! both with sequentially consistent operations, so either the waiter sees
//! the new value or the notifier sees the sleeper (the Dekker pattern).
//!
//! A sleeper holds its mapping in use (`registry::Entry`), so the pages stay
//! mapped while the kernel may look at them. `close` and `resize` would wait
//! for it; they call `cancel` first, which wakes this process's sleepers on
//! that mapping, and they return `WAIT_CANCELLED`.

use std::sync::atomic::{fence, AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::abi::{WAIT_CANCELLED, WAIT_NOT_EQUAL, WAIT_OK, WAIT_TIMED_OUT};
use crate::error::{record, status_of, Failure, Result, Status};
use crate::os::{self, Woke};
use crate::registry::{self, Entry, FLAG_PRIVATE, FLAG_WRITABLE};

/// Bytes of a wait cell: the word and the count of its sleepers.
pub const CELL_BYTES: usize = 8;

/// Timeouts above this many milliseconds (about 31 years) wait without limit,
/// as no OS timeout can represent every `f64`.
const FOREVER_MS: f64 = 1e12;

/// While spinning, every this many looks the thread yields its CPU instead of
/// pausing (see `wait_cell`).
const YIELD_EVERY: u32 = 32;

/// A sleeper of this process, so that `cancel` can find and wake it.
struct Entered {
    index: usize,
    sleeper: Arc<os::Sleeper>,
    cancelled: Arc<AtomicBool>,
    ticket: u64,
}

struct Sleepers {
    list: Vec<Entered>,
    next_ticket: u64,
}

static SLEEPERS: Mutex<Sleepers> = Mutex::new(Sleepers {
    list: Vec::new(),
    next_ticket: 0,
});

fn sleepers() -> MutexGuard<'static, Sleepers> {
    // A poisoned lock only means a panic elsewhere (tests); the list is intact.
    SLEEPERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A registered sleeper; leaves the list on drop.
struct Registered {
    ticket: u64,
    cancelled: Arc<AtomicBool>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        sleepers().list.retain(|s| s.ticket != self.ticket);
    }
}

/// Enters `sleeper` of mapping `id` (slot `index`) in the list, or `None`
/// when the mapping was closed or is being resized: checked under the list's
/// lock, which `cancel` takes after clearing `LIVE`, so a sleeper is either
/// seen by `cancel` or sees the mapping gone.
fn register(id: u32, index: usize, sleeper: &Arc<os::Sleeper>) -> Option<Registered> {
    let mut all = sleepers();
    if !registry::is_live(id) {
        return None;
    }
    let ticket = all.next_ticket;
    all.next_ticket += 1;
    let cancelled = Arc::new(AtomicBool::new(false));
    all.list.push(Entered {
        index,
        sleeper: Arc::clone(sleeper),
        cancelled: Arc::clone(&cancelled),
        ticket,
    });
    Some(Registered { ticket, cancelled })
}

/// Wakes every sleeper of this process on slot `index` and returns once all
/// have left; called by `registry` after the mapping stopped being live and
/// before it waits for calls inside to finish. A wake can be lost when it
/// comes just before the sleeper enters the kernel, so the wake is repeated
/// until the list has no sleeper of the slot left.
pub fn cancel(index: usize) {
    loop {
        let found: Vec<Arc<os::Sleeper>> = {
            let all = sleepers();
            all.list
                .iter()
                .filter(|s| s.index == index)
                .map(|s| {
                    s.cancelled.store(true, Ordering::SeqCst);
                    Arc::clone(&s.sleeper)
                })
                .collect()
        };
        if found.is_empty() {
            return;
        }
        // Each sleeper holds its mapping in use until it leaves the list,
        // so the word is still mapped.
        for sleeper in found {
            sleeper.interrupt();
        }
        std::thread::yield_now();
    }
}

/// The address of the wait cell at `offset` of a live mapping, after the
/// checks every wait and notify makes.
fn cell(entry: &Entry, offset: f64, call: &'static str) -> Result<usize> {
    let offset = crate::abi::to_usize(offset, "offset", call)?;
    if offset % 4 != 0 {
        return Err(Failure::new(
            Status::OutOfRange,
            call,
            format!("offset {} is not a multiple of 4", offset),
        ));
    }
    if offset > entry.len() || entry.len() - offset < CELL_BYTES {
        return Err(Failure::new(
            Status::OutOfRange,
            call,
            format!(
                "a wait cell is {} bytes (the word and its sleeper count): {}..{} reaches past the mapping ({} bytes)",
                CELL_BYTES,
                offset,
                offset as u128 + CELL_BYTES as u128,
                entry.len()
            ),
        ));
    }
    // Copy-on-write pages stop being shared the moment they are written,
    // and read-only file mappings are copy-on-write (see `os::map`).
    let flags = entry.flags();
    if flags & FLAG_WRITABLE == 0 || flags & FLAG_PRIVATE != 0 {
        return Err(Failure::new(
            Status::ReadOnly,
            call,
            "waiting and notifying need a read-write shared mapping (the sleeper count is written; copy-on-write pages are not shared)",
        ));
    }
    if !entry.intact(offset, CELL_BYTES) {
        return Err(entry.fault(call));
    }
    Ok(entry.base() + offset)
}

/// The timeout as a duration, `None` for no limit.
fn timeout_of(timeout_ms: f64, call: &'static str) -> Result<Option<Duration>> {
    if timeout_ms.is_nan() || timeout_ms < 0.0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            call,
            format!("timeout must be 0 or more milliseconds: {}", timeout_ms),
        ));
    }
    if timeout_ms > FOREVER_MS {
        return Ok(None);
    }
    Ok(Some(Duration::from_nanos((timeout_ms * 1e6) as u64)))
}

fn wait_cell(id: u32, offset: f64, expected: u32, timeout_ms: f64, spin: u32) -> Result<u32> {
    const CALL: &str = "wait";
    let timeout = timeout_of(timeout_ms, CALL)?;
    let entry = registry::enter(id, CALL)?;
    let addr = cell(&entry, offset, CALL)?;
    // SAFETY: `cell` checked that the 8 bytes at `addr` lie in the mapping,
    // 4-byte aligned; `entry` keeps them mapped. Other processes change them
    // too, so they are only ever touched atomically.
    let (word, count) = unsafe {
        (
            &*(addr as *const AtomicU32),
            &*((addr + 4) as *const AtomicU32),
        )
    };
    if word.load(Ordering::SeqCst) != expected {
        return Ok(WAIT_NOT_EQUAL);
    }
    if timeout == Some(Duration::ZERO) {
        return Ok(WAIT_TIMED_OUT);
    }
    for look in 0..spin {
        // A peer on the same CPU (a busy machine) cannot answer while this
        // thread spins: let it run now and then.
        if look % YIELD_EVERY == YIELD_EVERY - 1 {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
        if word.load(Ordering::Acquire) != expected {
            return Ok(WAIT_OK);
        }
    }
    // A deadline the clock cannot represent is no deadline (`+` would panic).
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    // Made before the sleeper counts itself in: a notifier that sees the
    // count finds what to wake (Windows opens the sleeper's semaphore, and
    // making it lets the permits released earlier reach the sleepers they
    // were released for first).
    // SAFETY: `entry` keeps the word mapped for as long as the sleeper lives
    // (it is dropped below, before `entry`).
    let sleeper = Arc::new(unsafe { os::Sleeper::new(addr)? });
    let me = match register(id, entry.index(), &sleeper) {
        Some(me) => me,
        None => return Ok(WAIT_CANCELLED),
    };
    count.fetch_add(1, Ordering::SeqCst);
    let outcome = sleep(word, &sleeper, expected, deadline, &me.cancelled);
    count.fetch_sub(1, Ordering::SeqCst);
    drop(me);
    drop(sleeper);
    // A page lost to truncation while asleep reads as zeros: say so.
    if outcome.is_ok() && !entry.intact(addr - entry.base(), CELL_BYTES) {
        return Err(entry.fault(CALL));
    }
    outcome
}

/// The sleeping part of a wait, counted in as a sleeper.
fn sleep(
    word: &AtomicU32,
    sleeper: &os::Sleeper,
    expected: u32,
    deadline: Option<Instant>,
    cancelled: &AtomicBool,
) -> Result<u32> {
    loop {
        if cancelled.load(Ordering::SeqCst) {
            return Ok(WAIT_CANCELLED);
        }
        if word.load(Ordering::SeqCst) != expected {
            return Ok(WAIT_OK);
        }
        let left = match deadline {
            None => None,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => {
                    Some(left.as_nanos().min(u128::from(u64::MAX)) as u64)
                }
                _ => return Ok(WAIT_TIMED_OUT),
            },
        };
        // SAFETY: the caller's entry keeps the word mapped.
        match unsafe { sleeper.sleep(expected, left)? } {
            Woke::Interrupted => continue,
            Woke::TimedOut => return Ok(WAIT_TIMED_OUT),
            Woke::Woken | Woke::Changed => {
                return Ok(if cancelled.load(Ordering::SeqCst) {
                    WAIT_CANCELLED
                } else {
                    WAIT_OK
                })
            }
        }
    }
}

/// Waits on the wait cell at `offset` of mapping `id` while its word holds
/// `expected` (compared as 32 bits), like `Atomics.wait`: spins for up to
/// `spin` checks, then sleeps until notified, for at most `timeout_ms`
/// milliseconds (`+∞`, or more than about 31 years: no limit). Writes the
/// outcome to `out[0]`: `WAIT_OK` (woken, or the word changed while
/// spinning), `WAIT_NOT_EQUAL`, `WAIT_TIMED_OUT` or `WAIT_CANCELLED` (the
/// mapping was closed or resized meanwhile).
///
/// # Safety
/// `out` must point to one writable `i32`.
#[no_mangle]
pub unsafe extern "C" fn mmap_wait(
    id: u32,
    offset: f64,
    expected: i32,
    timeout_ms: f64,
    spin: u32,
    out: *mut i32,
) -> i32 {
    if out.is_null() {
        return record(Failure::new(
            Status::InvalidArgument,
            "wait",
            "no place for the result",
        ));
    }
    match wait_cell(id, offset, expected as u32, timeout_ms, spin) {
        Ok(outcome) => {
            // SAFETY: per this function's contract.
            out.write(outcome as i32);
            Status::Ok as i32
        }
        Err(failure) => record(failure),
    }
}

fn notify_cell(id: u32, offset: f64, count: f64) -> Result<u32> {
    const CALL: &str = "notify";
    if count.is_nan() || count < 0.0 || (count.is_finite() && count.fract() != 0.0) {
        return Err(Failure::new(
            Status::InvalidArgument,
            CALL,
            format!("count must be a whole number from 0: {}", count),
        ));
    }
    let entry = registry::enter(id, CALL)?;
    let addr = cell(&entry, offset, CALL)?;
    // See `wait_cell`; pairs with the waiter's increment (module notes).
    fence(Ordering::SeqCst);
    // SAFETY: as in `wait_cell`.
    let sleeping = unsafe { &*((addr + 4) as *const AtomicU32) }.load(Ordering::SeqCst);
    if sleeping == 0 || count < 1.0 {
        return Ok(0);
    }
    let count = if count >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        count as u32
    };
    // Never more than sleep (a count that says so): Windows releases exactly
    // this many permits.
    // SAFETY: `entry` keeps the word mapped.
    unsafe { os::wake(addr, count.min(sleeping)) }
}

/// Wakes up to `count` (a whole number, `+∞` for all) sleepers on the wait
/// cell at `offset` of mapping `id`, in any process, like `Atomics.notify`,
/// and writes to `out[0]` how many woke (as the OS reports; 0 without a
/// system call when the cell's count says nobody sleeps).
///
/// # Safety
/// `out` must point to one writable `f64`.
#[no_mangle]
pub unsafe extern "C" fn mmap_notify(id: u32, offset: f64, count: f64, out: *mut f64) -> i32 {
    if out.is_null() {
        return record(Failure::new(
            Status::InvalidArgument,
            "notify",
            "no place for the result",
        ));
    }
    let result = notify_cell(id, offset, count).map(|woken| {
        // SAFETY: per this function's contract.
        out.write(f64::from(woken));
    });
    status_of(result)
}

#[cfg(test)]
mod tests {
    use crate::abi::{WAIT_CANCELLED, WAIT_NOT_EQUAL, WAIT_OK, WAIT_TIMED_OUT};
    use crate::error::Status;
    use crate::test_util::*;
    use crate::*;
    use std::time::{Duration, Instant};

    fn wait(id: u32, offset: f64, expected: i32, timeout_ms: f64, spin: u32) -> (i32, i32) {
        let mut out = -1;
        // SAFETY: `out` is one writable i32.
        let status = unsafe { mmap_wait(id, offset, expected, timeout_ms, spin, &mut out) };
        (status, out)
    }

    fn notify(id: u32, offset: f64, count: f64) -> (i32, f64) {
        let mut out = -1.0;
        // SAFETY: `out` is one writable f64.
        let status = unsafe { mmap_notify(id, offset, count, &mut out) };
        (status, out)
    }

    fn word(id: u32, offset: usize, value: i32) {
        // SAFETY: four bytes, live for the call.
        let status = unsafe { mmap_write(id, offset as f64, value.to_le_bytes().as_ptr(), 4.0) };
        assert_eq!(status, 0);
    }

    fn sleepers(id: u32, offset: usize) -> u32 {
        let (status, bytes) = read_at(id, offset + 4, 4);
        assert_eq!(status, 0);
        u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    fn until(what: &str, check: impl Fn() -> bool) {
        let end = Instant::now() + Duration::from_secs(20);
        while !check() {
            assert!(Instant::now() < end, "timed out waiting for {}", what);
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn wait_is_woken_by_notify_from_another_thread_over_a_file() {
        let file = TempFile::new("wait", &[0u8; 4096]);
        let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let id = out[0] as u32;
        assert_eq!(wait(id, 16.0, 1, 0.0, 0), (0, WAIT_NOT_EQUAL as i32));
        assert_eq!(wait(id, 16.0, 0, 0.0, 0), (0, WAIT_TIMED_OUT as i32));
        assert_eq!(wait(id, 16.0, 0, 5.0, 10), (0, WAIT_TIMED_OUT as i32));
        assert_eq!(notify(id, 16.0, f64::INFINITY), (0, 0.0));
        let sleeper = std::thread::spawn(move || wait(id, 16.0, 0, 20_000.0, 0));
        until("the sleeper", || sleepers(id, 16) == 1);
        word(id, 16, 1);
        assert_eq!(notify(id, 16.0, 1.0), (0, 1.0));
        assert_eq!(sleeper.join().unwrap(), (0, WAIT_OK as i32));
        assert_eq!(sleepers(id, 16), 0);
        assert_eq!(mmap_close(id), 0);
    }

    #[test]
    fn close_and_resize_wake_sleepers_with_cancelled() {
        let mut out = [0u64; 3];
        // SAFETY: the out array is live and as long as the call needs.
        assert_eq!(unsafe { mmap_anonymous(4096.0, out.as_mut_ptr()) }, 0);
        let id = out[0] as u32;
        let sleeper = std::thread::spawn(move || wait(id, 0.0, 0, f64::INFINITY, 0));
        until("the sleeper", || sleepers(id, 0) == 1);
        let mut moved = [0u64; 2];
        // SAFETY: the out array is live and as long as the call needs.
        assert_eq!(unsafe { mmap_resize(id, 8192.0, moved.as_mut_ptr()) }, 0);
        assert_eq!(sleeper.join().unwrap(), (0, WAIT_CANCELLED as i32));
        let sleeper = std::thread::spawn(move || wait(id, 0.0, 0, f64::INFINITY, 0));
        until("the sleeper", || sleepers(id, 0) == 1);
        assert_eq!(mmap_close(id), 0);
        assert_eq!(sleeper.join().unwrap(), (0, WAIT_CANCELLED as i32));
    }

    #[test]
    fn bad_arguments_are_refused() {
        let mut out = [0u64; 3];
        // SAFETY: the out array is live and as long as the call needs.
        assert_eq!(unsafe { mmap_anonymous(64.0, out.as_mut_ptr()) }, 0);
        let id = out[0] as u32;
        let range = Status::OutOfRange as i32;
        let invalid = Status::InvalidArgument as i32;
        assert_eq!(wait(id, 2.0, 0, 0.0, 0).0, range);
        assert_eq!(wait(id, 60.0, 0, 0.0, 0).0, range);
        assert_eq!(wait(id, 56.0, 0, 0.0, 0).0, 0);
        assert_eq!(wait(id, -4.0, 0, 0.0, 0).0, invalid);
        assert_eq!(wait(id, 0.0, 0, f64::NAN, 0).0, invalid);
        assert_eq!(wait(id, 0.0, 0, -1.0, 0).0, invalid);
        assert_eq!(notify(id, 0.0, -1.0).0, invalid);
        assert_eq!(notify(id, 0.0, 0.5).0, invalid);
        assert_eq!(notify(id, 64.0, 1.0).0, range);
        // SAFETY: a null result slot is refused, not written.
        assert_eq!(
            unsafe { mmap_wait(id, 0.0, 0, 0.0, 0, std::ptr::null_mut()) },
            invalid
        );
        assert_eq!(mmap_close(id), 0);
        assert_eq!(wait(id, 0.0, 0, 0.0, 0).0, Status::BadHandle as i32);
        // Read-only file mappings are copy-on-write: refused.
        let file = TempFile::new("wait_ro", &[0u8; 64]);
        let (status, out) = map(file.path(), 0, 0.0, 0.0, 0.0);
        assert_eq!(status, 0);
        let ro = out[0] as u32;
        assert_eq!(wait(ro, 0.0, 0, 0.0, 0).0, Status::ReadOnly as i32);
        assert_eq!(notify(ro, 0.0, 1.0).0, Status::ReadOnly as i32);
        assert_eq!(mmap_close(ro), 0);
    }
}
