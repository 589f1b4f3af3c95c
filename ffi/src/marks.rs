//! Per-thread in-use marks: how a copy pins its mapping without a locked
//! instruction.
//!
//! Why. A locked read-modify-write (the count in `registry::Slot::state`) is
//! a full barrier: the unpin after a copy waits for the copy's cache miss,
//! so no two calls' misses overlap. Measured on the benchmark VM (2-core
//! Xeon), the counted pin made a random 64-byte `writeSync` cost 1.9× the
//! raw FFI copy, and a build with plain stores instead cost 1.0× (but was
//! not safe against a racing close).
//!
//! How. Every thread that copies claims one mark, a word of its own in
//! `TABLE`. A copy stores its mapping's id in the mark (a plain store),
//! loads the slot's live id (live, right generation), copies, and stores 0. A
//! closer clears `LIVE`, then issues the process-wide barrier
//! (`os::process_barrier`: every thread of the process runs a full memory
//! barrier), and then waits until no mark names the slot. Either the copier's
//! mark store is seen by the closer's scan (which then waits for the copy to
//! end), or the copier's state load comes after the barrier and sees `LIVE`
//! clear (the copy never starts). This is the asymmetric-fence scheme of
//! userspace RCU's membarrier flavour: the barrier's cost moves from every
//! copy to every close, and a close pays it only when another thread holds a
//! mark.
//!
//! Where the OS offers no such barrier (macOS; Windows, whose
//! `FlushProcessWriteBuffers` is a stub under the wine this project tests
//! on), or it cannot be registered, no marks are handed out and copies take
//! the counted pin. A thread that finds its mark held by another thread does
//! the same.
//!
//! A mark covers one copy at a time: only `copy.rs`'s fast path uses marks,
//! and it never pins twice on one thread. Everything else (batches, waits,
//! views, the fault guard) takes the counted pin.

// The clippy of Rust 1.63 (the cross checks) takes the const-initialised
// thread-local below for an interior-mutable `const` item; newer ones ask
// for the const initialiser.
#![allow(clippy::declare_interior_mutable_const)]

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};

use crate::os;

/// How many threads can hold a mark at once; a power of two. A thread whose
/// mark would be taken (see `home`) uses the count.
const MARKS: usize = 256;
/// `Mark::owner` of a free mark. (Not 0: that is the thread pointer where
/// there is none, and such a thread must never match a free mark.)
const NOBODY: usize = usize::MAX;

/// One mark per cache line: each is stored by its thread on every copy.
#[derive(Debug)]
#[repr(align(64))]
pub struct Mark {
    /// 0 while the thread is not copying; else the id it is copying from or
    /// to (never 0: slot 0 is never used).
    word: AtomicU32,
    /// The thread pointer (`os::thread_pointer`) of the thread holding the
    /// mark, or `NOBODY`.
    owner: AtomicUsize,
}

const FREE: Mark = Mark {
    word: AtomicU32::new(0),
    owner: AtomicUsize::new(NOBODY),
};

static TABLE: [Mark; MARKS] = [FREE; MARKS];
/// How many marks are claimed now.
static CLAIMED: AtomicUsize = AtomicUsize::new(0);
/// Whether the process barrier works here: `UNKNOWN` until the first claim.
static BARRIER: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

thread_local! {
    /// Gives the mark back when the thread ends. Touched only when a mark
    /// is claimed and when the thread ends, never by a copy.
    static CLAIM: Claim = const { Claim(Cell::new(usize::MAX)) };
}

struct Claim(Cell<usize>);

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(mark) = TABLE.get(self.0.get()) {
            // A thread ends between calls, so the word is already 0.
            CLAIMED.fetch_sub(1, Ordering::SeqCst);
            mark.owner.store(NOBODY, Ordering::Release);
        }
    }
}

/// The one mark a thread may hold: picked by its thread pointer, so that
/// finding it is a shift, a mask and a compare. Thread pointers sit at the
/// top of each thread's stack (or in a heap block), and stacks are whole
/// pages apart plus one guard page, so consecutive threads land on
/// neighbouring marks.
#[inline(always)]
fn home(thread: usize) -> usize {
    (thread >> 12) & (MARKS - 1)
}

impl Mark {
    /// Says this thread is about to use the mapping `id`. The caller then
    /// loads the slot's state: the compiler fence keeps that load after this
    /// store in the program, and the closer's process barrier does the rest.
    #[inline(always)]
    pub fn set(&self, id: u32) {
        self.word.store(id, Ordering::Relaxed);
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    }

    /// Says this thread is done with the slot: everything the copy did is
    /// ordered before it, for the closer's acquire load.
    #[inline(always)]
    pub fn clear(&self) {
        self.word.store(0, Ordering::Release);
    }
}

/// This thread's mark, if it holds one: no call, one load and a compare.
/// (Only the thread a mark names ever finds it: thread pointers are
/// distinct among live threads, and a thread that ended gave its mark
/// back, or its pointer belongs to one thread again, which then owns it.)
#[inline(always)]
pub fn mine() -> Option<&'static Mark> {
    let thread = os::thread_pointer();
    let mark = &TABLE[home(thread)];
    if mark.owner.load(Ordering::Relaxed) == thread {
        return Some(mark);
    }
    None
}

/// Claims this thread's mark: `None` when marks are off here, another live
/// thread holds it, or the thread is ending. Off the hot path (once per
/// thread, and on every copy of a thread that found its mark taken).
#[cold]
#[inline(never)]
pub fn claim() -> Option<&'static Mark> {
    if !barrier_ready() {
        return None;
    }
    let thread = os::thread_pointer();
    let index = home(thread);
    let mark = &TABLE[index];
    if mark.owner.load(Ordering::Relaxed) == thread {
        return Some(mark);
    }
    if mark
        .owner
        .compare_exchange(NOBODY, thread, Ordering::SeqCst, Ordering::Relaxed)
        .is_err()
    {
        return None;
    }
    // Given back when the thread ends. A thread whose thread-locals are
    // already gone gives it straight back and uses the count.
    if CLAIM.try_with(|claim| claim.0.set(index)).is_err() {
        mark.owner.store(NOBODY, Ordering::Release);
        return None;
    }
    // SeqCst with the closer's load in `drain`: a closer that does not see
    // this claim cleared `LIVE` before it, in the single order of SeqCst
    // operations, so this thread's state loads see `LIVE` clear.
    CLAIMED.fetch_add(1, Ordering::SeqCst);
    Some(mark)
}

fn barrier_ready() -> bool {
    match BARRIER.load(Ordering::Acquire) {
        ON => true,
        OFF => false,
        _ => {
            let state = if os::thread_pointer() != 0 && os::process_barrier_register() {
                ON
            } else {
                OFF
            };
            BARRIER.store(state, Ordering::Release);
            state == ON
        }
    }
}

/// Waits until no thread's copy can be using a slot: until no mark holds an
/// id for which `of_slot` is true. Call it after the slot stopped being live
/// (and before unmapping or changing the range). Free when no other thread
/// holds a mark.
pub fn drain(of_slot: impl Fn(u32) -> bool) {
    let claimed = CLAIMED.load(Ordering::SeqCst);
    let own = usize::from(mine().is_some());
    if claimed <= own {
        // No other thread holds a mark, and one that claims from now on
        // sees `LIVE` clear (see `claim`). This thread is not in a copy.
        return;
    }
    os::process_barrier();
    for mark in TABLE.iter() {
        while of_slot(mark.word.load(Ordering::Acquire)) {
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;
    use crate::test_util::*;
    use crate::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn linux_copies_pin_with_a_mark() {
        if cfg!(target_os = "linux") {
            assert!(claim().is_some(), "membarrier should be offered here");
            assert!(mine().is_some());
        }
    }

    #[test]
    // Every copier must start before the first join: the collect is needed.
    #[allow(clippy::needless_collect)]
    fn closes_racing_marked_copies_never_unmap_under_them_nor_hand_out_foreign_bytes() {
        // Threads copy 64 B and 64 KiB from and to every mapping they find
        // (ids forged from slot and generation, as a hostile caller would),
        // while this thread keeps closing mappings and opening new ones over
        // files of another byte. A copy that succeeds must have read only
        // the byte of the file it was given; a crash fails the test run.
        const SIZE: usize = 1 << 20;
        let files: Vec<TempFile> = (0..4u8)
            .map(|i| TempFile::new(&format!("marks_race_{}", i), &vec![i + 1; SIZE]))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let ids = Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
        let copiers: Vec<_> = (0..2)
            .map(|t| {
                let stop = stop.clone();
                let ids = ids.clone();
                std::thread::spawn(move || {
                    let mut small = [0u8; 64];
                    let mut big = vec![0u8; 65_536];
                    let mut ok = 0u64;
                    let mut round = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let known: Vec<u32> = ids.lock().unwrap().clone();
                        for id in known {
                            round += 1;
                            let buffer: &mut [u8] =
                                if round % 4 == 0 { &mut big } else { &mut small };
                            let len = buffer.len();
                            let offset = ((round * 4096) % (SIZE - len)) as f64;
                            // SAFETY: the buffer is live and `len` bytes long.
                            let status = unsafe {
                                if t == 1 && round % 3 == 0 {
                                    // Writes put back the byte the file has.
                                    let mut probe = [0u8; 1];
                                    if mmap_read(id, 0.0, probe.as_mut_ptr(), 1.0) != 0 {
                                        continue;
                                    }
                                    buffer.fill(probe[0]);
                                    mmap_write(id, offset, buffer.as_ptr(), len as f64)
                                } else {
                                    mmap_read(id, offset, buffer.as_mut_ptr(), len as f64)
                                }
                            };
                            if status == Status::Ok as i32 {
                                let first = buffer[0];
                                assert!((1..=4).contains(&first), "a byte of no file: {}", first);
                                assert!(
                                    buffer.iter().all(|&b| b == first),
                                    "bytes of two files in one copy"
                                );
                                ok += 1;
                            } else {
                                assert_eq!(status, Status::BadHandle as i32);
                            }
                        }
                    }
                    ok
                })
            })
            .collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1500);
        let mut round = 0;
        while std::time::Instant::now() < deadline || round < 50 {
            let file = &files[round % files.len()];
            let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
            assert_eq!(status, 0);
            let id = out[0] as u32;
            ids.lock().unwrap().push(id);
            std::thread::yield_now();
            ids.lock().unwrap().retain(|&known| known != id);
            // Closed while the copiers may still be inside a copy of it.
            ids.lock().unwrap().push(id);
            assert_eq!(mmap_close(id), 0);
            std::thread::sleep(std::time::Duration::from_micros(200));
            ids.lock().unwrap().retain(|&known| known != id);
            round += 1;
        }
        stop.store(true, Ordering::Relaxed);
        let copied: u64 = copiers.into_iter().map(|c| c.join().unwrap()).sum();
        assert!(copied > 0, "the copiers never got a copy in");
        for (i, file) in files.iter().enumerate() {
            assert!(
                file.contents().iter().all(|&b| b == i as u8 + 1),
                "file {} changed",
                i
            );
        }
    }
}
