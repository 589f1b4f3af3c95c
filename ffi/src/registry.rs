//! The table of live mappings.
//!
//! JavaScript never hands native code a raw pointer to trust: it holds an id
//! (slot index + generation) and every export looks the id up here. The hot
//! fields are atomics in a fixed static array, so lookups take no lock and a
//! signal handler can scan the table safely. Slower, owned data (the open file)
//! lives in a mutex-protected side table by slot (`Owned`), filled by `insert`
//! and emptied by `free`; only open, close, durable flush and resize touch it.
//!
//! Each slot has one `state` word: generation (high 32 bits), `RESERVED` and
//! `LIVE` flags, and a count of calls currently using the mapping (low bits).
//! A call increments the count before it checks the generation and `LIVE`, and
//! `close` clears `LIVE` and then waits for the count to drain before it
//! unmaps, so a close racing a copy on another thread can never unmap memory
//! that is still being copied. The per-call copies (`pin`) say the same with
//! a plain store to their thread's mark instead of the locked increment
//! where the OS allows (`marks.rs`); `close` and `stop` wait for those too.
//!
//! The SIGBUS guard (`os/unix/fault.rs`) takes part in the same count: its handler
//! pins the slot it repairs (`hold_at`), so a range cannot be unmapped (and
//! the address reused) while the handler maps zero pages over it.
//!
//! Owners. A mapping's pages can outlive its handle: every zero-copy view is
//! an external `ArrayBuffer` (`napi.rs`) that may be moved beyond any
//! bookkeeping (`transfer()`, a BYOB reader, `postMessage`, an async op that
//! holds it on another thread). So each slot counts its owners: the handle
//! (1, from `insert` until `close`) plus one per external buffer still alive
//! (`Entry::own`, released by the buffer's finalizer on whatever thread the
//! engine frees it). `close` retires the handle at once (the id stops
//! resolving for every export) and drops the handle's owner; the OS mapping,
//! `map_base`/`map_len` (so the SIGBUS guard still repairs a truncated page
//! touched through a stale buffer) and the open file stay until the count
//! reaches 0 (`release`), and only then is the range unmapped and the slot
//! freed. The hot path (`enter`) never reads the count.

use std::fs::File;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Failure, Result, Status};
use crate::marks;
use crate::os;

/// Bits of an id that select the slot; the rest is the generation.
pub const SLOT_BITS: u32 = 14;
/// How many mappings can be live at once.
pub const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u32 = (SLOTS as u32) - 1;
/// Generations wrap within the bits an id has left for them (never zero).
const GEN_LIMIT: u32 = u32::MAX >> SLOT_BITS;

const LIVE: u64 = 1 << 31;
const GENERATION_MASK: u64 = 0xFFFF_FFFF << 32;
const RESERVED: u64 = 1 << 30;
const BUSY_MASK: u64 = RESERVED - 1;

/// Mapping flags kept per slot.
pub const FLAG_WRITABLE: u32 = 1;
/// Copy-on-write: writes never reach a file.
pub const FLAG_PRIVATE: u32 = 2;
/// Anonymous memory, backed by no file.
pub const FLAG_ANONYMOUS: u32 = 4;
/// Named shared memory.
pub const FLAG_SHARED_MEMORY: u32 = 8;
/// Maps a whole file from its first byte, so it can be resized.
pub const FLAG_WHOLE_FILE: u32 = 16;
/// Made read-only in place by `mmap_protect` (`FLAG_WRITABLE` is clear
/// meanwhile): native writes are refused until it is made writable again.
pub const FLAG_PROTECTED: u32 = 32;

/// One registry entry. All fields are atomics so that readers never lock.
/// One cache line each: every call bumps its slot's `state`, so slots of
/// mappings used on different threads must not share a line, and the lookup
/// computes a slot's address with a shift rather than a multiply.
#[derive(Debug)]
#[repr(align(64))]
pub struct Slot {
    state: AtomicU64,
    /// Start of the bytes the caller sees (inside the OS mapping).
    pub base: AtomicUsize,
    /// Number of bytes the caller sees.
    pub len: AtomicUsize,
    /// `FLAG_*` bits.
    pub flags: AtomicU32,
    /// The id while the slot is live, else 0: what the copies' marked pin
    /// compares its id with, in one load (`pin_marked`). Slot 0 is never
    /// used, so no id (not even a forged 0) matches a slot that is not live.
    live_id: AtomicU32,
    /// Start and length of the whole OS mapping (page aligned), for unmapping
    /// and for the fault guard.
    pub map_base: AtomicUsize,
    pub map_len: AtomicUsize,
    /// Bytes at the end of the OS mapping that the fault guard replaced with
    /// zero pages because the file was truncated under them; 0 while the
    /// mapping is intact. It only grows (sticky until close): the lost tail is
    /// `[map_base + map_len - lost, map_base + map_len)`. The top bit
    /// (`SPACE_LOST`) says that the guard replaced page(s) the file still
    /// covers because the filesystem could not allocate them (out of space):
    /// every later call reports that, so `intact` needs only this one word.
    lost: AtomicUsize,
    /// The handle (until close) plus each live external buffer; see the
    /// module's notes. The slot stays `RESERVED` until this reaches 0.
    owners: AtomicUsize,
}

impl Slot {
    /// Whether external buffers (zero-copy views) reference the mapping
    /// besides its handle: it must then neither move nor shrink under them.
    fn shared(&self) -> bool {
        self.owners.load(Ordering::Acquire) > 1
    }
}

/// For the fault guard, by slot index: the mapped file (`os::file_key`, 0 for
/// none) and the file offset at `map_base`, to tell truncation from a page
/// the file still covers. Set by `insert`; a resize keeps both. A table of
/// its own, so that `Slot` stays one cache line.
#[derive(Debug)]
struct FileOfSlot {
    key: AtomicUsize,
    offset: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)]
const NO_FILE: FileOfSlot = FileOfSlot {
    key: AtomicUsize::new(0),
    offset: AtomicU64::new(0),
};

static FILES: [FileOfSlot; SLOTS] = [NO_FILE; SLOTS];

/// The bit of `Slot::lost` that records pages lost for want of space.
const SPACE_LOST: usize = 1 << (usize::BITS - 1);

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    state: AtomicU64::new(0),
    base: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    flags: AtomicU32::new(0),
    live_id: AtomicU32::new(0),
    map_base: AtomicUsize::new(0),
    map_len: AtomicUsize::new(0),
    lost: AtomicUsize::new(0),
    owners: AtomicUsize::new(0),
};

/// All zero at start, so the table lives in .bss and costs no file size.
static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];
/// Where the next allocation starts looking, to keep open O(1) in practice.
static CURSOR: AtomicUsize = AtomicUsize::new(0);

/// What a mapping owns besides its pages: the open file of a file mapping
/// (for durable flush and resize; `Arc` so that a long fsync does not hold
/// the table's lock) and how it was mapped.
#[derive(Clone, Debug, Default)]
pub struct Owned {
    pub file: Option<Arc<File>>,
    pub access: os::Access,
    /// Offset in the file of the OS mapping's first byte (0 without a file);
    /// for an empty mapping of a file, which has no OS mapping, the offset
    /// of the caller's window, from which `remap` maps it later.
    pub offset: u64,
}

/// `Owned` by slot index. Never touched by the fault handler.
static OWNED: Mutex<Vec<Option<Owned>>> = Mutex::new(Vec::new());

fn owned_table() -> MutexGuard<'static, Vec<Option<Owned>>> {
    // A poisoned lock only means a panic elsewhere (tests); the data is intact.
    OWNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn owned_at(index: usize) -> Option<Owned> {
    owned_table().get(index).cloned().flatten()
}

/// What a new mapping puts in its slot.
pub struct Fields {
    pub base: usize,
    pub len: usize,
    pub flags: u32,
    pub map_base: usize,
    pub map_len: usize,
}

fn generation(state: u64) -> u32 {
    (state >> 32) as u32
}

fn make_id(slot: usize, gen: u32) -> u32 {
    (gen << SLOT_BITS) | slot as u32
}

/// Reserves a free slot, fills it (and its `Owned` record) and makes it
/// live. Returns the new id.
pub fn insert(fields: Fields, owned: Owned) -> Result<u32> {
    let start = CURSOR.load(Ordering::Relaxed);
    for step in 0..SLOTS {
        let index = (start + step) % SLOTS;
        if index == 0 {
            // Never used; see `Slot::live_id`.
            continue;
        }
        let slot = &TABLE[index];
        let state = slot.state.load(Ordering::Relaxed);
        // A stray lookup of a dead id may have its count up for a moment;
        // such a slot is skipped rather than waited for.
        if state & (LIVE | RESERVED | BUSY_MASK) != 0 {
            continue;
        }
        let gen = match generation(state) {
            g if g >= GEN_LIMIT => 1,
            g => g + 1,
        };
        let reserved = (u64::from(gen) << 32) | RESERVED;
        if slot
            .state
            .compare_exchange(state, reserved, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        slot.base.store(fields.base, Ordering::Relaxed);
        slot.len.store(fields.len, Ordering::Relaxed);
        slot.flags.store(fields.flags, Ordering::Relaxed);
        slot.lost.store(0, Ordering::Relaxed);
        let key = owned.file.as_deref().map_or(0, os::file_key);
        FILES[index].key.store(key, Ordering::Relaxed);
        FILES[index].offset.store(owned.offset, Ordering::Relaxed);
        slot.owners.store(1, Ordering::Relaxed);
        {
            let mut table = owned_table();
            if table.len() <= index {
                table.resize(index + 1, None);
            }
            table[index] = Some(owned);
        }
        slot.map_len.store(fields.map_len, Ordering::Relaxed);
        slot.map_base.store(fields.map_base, Ordering::Release);
        // Lookups may have bumped the count since the exchange; keep it.
        slot.state.fetch_or(LIVE, Ordering::Release);
        slot.live_id.store(make_id(index, gen), Ordering::Release);
        CURSOR.store((index + 1) % SLOTS, Ordering::Relaxed);
        return Ok(make_id(index, gen));
    }
    Err(Failure::new(
        Status::TooManyMappings,
        "open",
        format!(
            "all {} mapping slots are in use; close some mappings",
            SLOTS - 1
        ),
    ))
}

/// How a pinned mapping lets go of its slot when the `Entry` is dropped.
pub trait Release {
    fn release(&self, slot: &Slot);
}

/// The release of an `Entry` from `enter` or `pin`: the thread's mark when
/// `pin` used it, else the count.
#[derive(Debug)]
pub struct Counted(Option<&'static marks::Mark>);

impl Release for Counted {
    #[inline(always)]
    fn release(&self, slot: &Slot) {
        match self.0 {
            Some(mark) => mark.clear(),
            None => {
                slot.state.fetch_sub(1, Ordering::Release);
            }
        }
    }
}

impl Release for &'static marks::Mark {
    #[inline(always)]
    fn release(&self, _slot: &Slot) {
        self.clear();
    }
}

/// A mapping pinned with this thread's mark (`pin_marked`), for the small
/// copies: no branch when dropped.
pub type Marked = Entry<&'static marks::Mark>;

/// A live mapping in use by one call. While it exists the mapping cannot be
/// unmapped; dropping it releases the mapping (`R` says how).
#[derive(Debug)]
pub struct Entry<R: Release = Counted> {
    slot: &'static Slot,
    index: usize,
    release: R,
}

impl<R: Release> Entry<R> {
    pub fn base(&self) -> usize {
        self.slot.base.load(Ordering::Relaxed)
    }
    pub fn len(&self) -> usize {
        self.slot.len.load(Ordering::Relaxed)
    }
    pub fn flags(&self) -> u32 {
        self.slot.flags.load(Ordering::Relaxed)
    }
    /// What the mapping owns (its file, how it was mapped).
    pub fn owned(&self) -> Option<Owned> {
        owned_at(self.index)
    }
    /// Start of the OS mapping (page aligned; 0 for an empty mapping).
    pub fn map_base(&self) -> usize {
        self.slot.map_base.load(Ordering::Acquire)
    }
    /// The slot's index, which `close` and `resize` name to `wait::cancel`.
    pub fn index(&self) -> usize {
        self.index
    }
    /// Whether external buffers reference the mapping now (`Slot::shared`):
    /// a look before taking exclusive use, so that a change refused for it
    /// wakes no sleeper.
    pub fn shared(&self) -> bool {
        self.slot.shared()
    }

    /// Adds an owner (an external buffer over the mapping) and returns the
    /// slot index its `release` takes. The mapping is live and pinned, so the
    /// handle's owner is still counted and the count cannot reach 0 first.
    pub fn own(&self) -> usize {
        // Relaxed as in `Arc::clone`: the release in `release` orders it.
        self.slot.owners.fetch_add(1, Ordering::Relaxed);
        self.index
    }

    /// Whether `[offset, offset + len)` (caller's coordinates, already checked
    /// against `len()`) lies wholly before the tail the fault guard replaced.
    /// Call it after touching the bytes too: the acquire fence orders this
    /// check after the copy, so a zero page read during the copy (mapped by a
    /// handler on any thread, which marks the loss before it maps) is seen.
    pub fn intact(&self, offset: usize, len: usize) -> bool {
        fence(Ordering::Acquire);
        let lost = self.slot.lost.load(Ordering::Acquire);
        if lost == 0 {
            return true;
        }
        if lost & SPACE_LOST != 0 {
            return false;
        }
        let map_end =
            self.slot.map_base.load(Ordering::Relaxed) + self.slot.map_len.load(Ordering::Relaxed);
        self.base() + offset + len <= map_end - lost
    }

    /// Whether the fault guard has never replaced a page of this mapping:
    /// `intact` for every range at once, in one load. Ordered after the copy
    /// by the acquire fence, as in `intact`.
    #[inline(always)]
    pub fn untouched(&self) -> bool {
        fence(Ordering::Acquire);
        self.slot.lost.load(Ordering::Acquire) == 0
    }

    /// For writes through the file (`copy.rs`): the file offset of byte
    /// `offset` of the caller's range. (The file stays open while the entry
    /// exists: it is closed only after the last owner, see `release`.)
    pub fn file_position(&self, offset: usize) -> u64 {
        let inside = self.base() - self.slot.map_base.load(Ordering::Relaxed);
        FILES[self.index].offset.load(Ordering::Relaxed) + (inside + offset) as u64
    }

    /// The failure of a call that found the mapping not `intact`: out of
    /// space when the guard lost a page the file still covers (whatever the
    /// range), else truncated. Off the hot path: the entry stays in
    /// registers, only the word read here reaches the cold call.
    #[inline]
    pub fn fault(&self, call: &'static str) -> Failure {
        fault_failure(self.slot.lost.load(Ordering::Acquire), call)
    }

    /// Fails when the guard lost a page of this mapping for want of space,
    /// for calls that copy no bytes (advice, residency, locking).
    pub fn check_space(&self, call: &'static str) -> Result<()> {
        match self.slot.lost.load(Ordering::Acquire) {
            lost if lost & SPACE_LOST != 0 => Err(fault_failure(lost, call)),
            _ => Ok(()),
        }
    }
}

#[cold]
#[inline(never)]
fn fault_failure(lost: usize, call: &'static str) -> Failure {
    if lost & SPACE_LOST != 0 {
        Failure::out_of_space(call)
    } else {
        Failure::truncated(call)
    }
}

impl<R: Release> Drop for Entry<R> {
    fn drop(&mut self) {
        self.release.release(self.slot);
    }
}

fn bad_handle(call: &'static str) -> Failure {
    Failure::new(
        Status::BadHandle,
        call,
        "the mapping is closed or the handle is not valid",
    )
}

/// Looks up a live mapping by id and pins it for the duration of a call.
pub fn enter(id: u32, call: &'static str) -> Result<Entry> {
    counted(id).ok_or_else(|| bad_handle(call))
}

/// `enter` for the copy path (`copy.rs`): the same test, with no failure to
/// build, and no locked instruction where this thread has a mark
/// (`marks.rs`): `pin_marked`'s plain store of the id in the mark and one
/// compare with `Slot::live_id`; elsewhere the counted pin. A thread must
/// not hold two of these at once (its one mark covers one copy); nothing
/// else calls it.
#[inline(always)]
pub fn pin(id: u32) -> Option<Entry> {
    let mark = match marks::mine() {
        Some(mark) => mark,
        None => return pin_first(id),
    };
    let marked = pin_marked(mark, id)?;
    let entry = Entry {
        slot: marked.slot,
        index: marked.index,
        release: Counted(Some(mark)),
    };
    // The entry clears the mark instead.
    std::mem::forget(marked);
    Some(entry)
}

/// `pin` with this thread's mark (`marks::mine`): a plain store of the id
/// in the mark, then one load and one compare (`Slot::live_id`).
#[inline(always)]
pub fn pin_marked(mark: &'static marks::Mark, id: u32) -> Option<Marked> {
    let index = (id & SLOT_MASK) as usize;
    let slot = &TABLE[index];
    mark.set(id);
    // Acquire pairs with the release that makes a slot live (`insert`, the
    // end of `Exclusive`), so `base` and `len` are the live mapping's.
    if slot.live_id.load(Ordering::Acquire) != id {
        mark.clear();
        return None;
    }
    Some(Entry {
        slot,
        index,
        release: mark,
    })
}

/// The address of byte `offset` of the live mapping `id`, for a prefetch
/// hint only (`copy::mmap_prefetch`): read without a pin, so the mapping may
/// be closed or moved by the time the address is used. `None` when `id` is
/// not live or `offset` is past the end.
#[inline(always)]
pub fn hint_address(id: u32, offset: usize) -> Option<usize> {
    let slot = &TABLE[(id & SLOT_MASK) as usize];
    if slot.live_id.load(Ordering::Relaxed) != id || offset >= slot.len.load(Ordering::Relaxed) {
        return None;
    }
    Some(slot.base.load(Ordering::Relaxed) + offset)
}

/// `pin` on a thread without a mark: claims one (once per thread), or pins
/// with the count where marks are off.
#[cold]
#[inline(never)]
fn pin_first(id: u32) -> Option<Entry> {
    if marks::claim().is_some() {
        return pin(id);
    }
    counted(id)
}

/// The state word of the live slot `id` names, under `GENERATION_MASK | LIVE`.
#[inline(always)]
fn expected_state(id: u32) -> u64 {
    (u64::from(id >> SLOT_BITS) << 32) | LIVE
}

/// Pins with the count: one locked add, one compare.
#[inline(always)]
fn counted(id: u32) -> Option<Entry> {
    let index = (id & SLOT_MASK) as usize;
    let slot = &TABLE[index];
    let before = slot.state.fetch_add(1, Ordering::Acquire);
    if before & (GENERATION_MASK | LIVE) != expected_state(id) {
        slot.state.fetch_sub(1, Ordering::Release);
        return None;
    }
    Some(Entry {
        slot,
        index,
        release: Counted(None),
    })
}

/// Whether `id` still names a live mapping (not closed, not being resized).
pub fn is_live(id: u32) -> bool {
    let slot = &TABLE[(id & SLOT_MASK) as usize];
    let state = slot.state.load(Ordering::SeqCst);
    let gen = id >> SLOT_BITS;
    gen != 0 && generation(state) == gen && state & LIVE != 0
}

/// Clears `LIVE` on the slot of `id`: from here on the id resolves for no
/// export. Returns the slot and its index.
fn unlive(id: u32, call: &'static str) -> Result<(&'static Slot, usize)> {
    let index = (id & SLOT_MASK) as usize;
    let gen = id >> SLOT_BITS;
    let slot = &TABLE[index];
    let mut state = slot.state.load(Ordering::Acquire);
    loop {
        if gen == 0 || generation(state) != gen || state & LIVE == 0 {
            return Err(bad_handle(call));
        }
        match slot.state.compare_exchange_weak(
            state,
            state & !LIVE,
            // SeqCst: ordered before `marks::drain`'s look at the claims.
            Ordering::SeqCst,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // SeqCst, as the exchange: before `marks::drain` looks.
                slot.live_id.store(0, Ordering::SeqCst);
                return Ok((slot, index));
            }
            Err(now) => state = now,
        }
    }
}

/// Clears `LIVE` on the slot of `id`, then waits until no call (and no fault
/// handler) is using the mapping. Returns the slot, its index and the OS
/// mapping's base, which is hidden from the fault guard meanwhile.
fn stop(id: u32, call: &'static str) -> Result<(&'static Slot, usize, usize)> {
    let (slot, index) = unlive(id, call)?;
    // Sleepers on a word of the mapping hold it in use: wake them first.
    crate::wait::cancel(index);
    drain_marks(index);
    wait_idle(slot);
    // A fault handler that saw the old range may still be working on it.
    // SeqCst pairs with `hold_at` (increment, then load the range): either the
    // handler's increment is seen by the wait below, or it sees the range gone.
    let map_base = slot.map_base.swap(0, Ordering::SeqCst);
    wait_idle(slot);
    Ok((slot, index, map_base))
}

/// Waits for the marked copies of slot `index` (those whose mark holds an
/// id of that slot) to end; call it once the slot is not live.
fn drain_marks(index: usize) {
    marks::drain(|id| id != 0 && (id & SLOT_MASK) as usize == index);
}

/// Closes the handle `id`: no new call can enter it, calls already inside
/// finish first, and the handle's owner is released. The pages go with the
/// last owner (see `release`); until then only external buffers reach them.
pub fn close(id: u32, call: &'static str) -> Result<()> {
    let (slot, index) = unlive(id, call)?;
    // Sleepers on a word of the mapping hold it in use: wake them first.
    crate::wait::cancel(index);
    drain_marks(index);
    wait_idle(slot);
    let out_of_space = slot.lost.load(Ordering::Acquire) & SPACE_LOST != 0;
    release(index)?;
    if out_of_space {
        // The handle is released (the pages go with the last owner), but
        // pages written through the mapping never reached the file: say so.
        return Err(Failure::out_of_space(call));
    }
    Ok(())
}

/// Drops one owner of slot `index` (the handle's, from `close`, or an
/// external buffer's, from its finalizer, on any thread). The last one
/// unmaps the range, closes the file and frees the slot.
pub fn release(index: usize) -> Result<()> {
    let slot = match TABLE.get(index) {
        Some(slot) => slot,
        None => return Ok(()),
    };
    // AcqRel as in `Arc`'s drop: every use through another owner happens
    // before the unmap below.
    if slot.owners.fetch_sub(1, Ordering::AcqRel) != 1 {
        return Ok(());
    }
    // Hidden from the fault guard first; see `stop`.
    let map_base = slot.map_base.swap(0, Ordering::SeqCst);
    wait_idle(slot);
    let map_len = slot.map_len.load(Ordering::Relaxed);
    let result = if map_base == 0 || map_len == 0 {
        Ok(())
    } else {
        // SAFETY: no owner is left: the handle is closed (no export resolves
        // the id, and no call is inside) and no buffer references the range.
        unsafe { os::unmap(map_base, map_len) }
    };
    // Closes the file too, after the pages it backed are unmapped.
    free(index);
    result
}

/// Exclusive use of a live mapping, for changing it (resize): no other call
/// is inside, and none can enter until the guard is dropped.
#[derive(Debug)]
pub struct Exclusive {
    slot: &'static Slot,
    index: usize,
    map_base: usize,
    /// The id, live again when this is dropped.
    id: u32,
}

impl Exclusive {
    pub fn base(&self) -> usize {
        self.slot.base.load(Ordering::Relaxed)
    }
    pub fn flags(&self) -> u32 {
        self.slot.flags.load(Ordering::Relaxed)
    }
    /// What the mapping owns (its file, how it was mapped).
    pub fn owned(&self) -> Option<Owned> {
        owned_at(self.index)
    }
    pub fn map_base(&self) -> usize {
        self.map_base
    }
    pub fn map_len(&self) -> usize {
        self.slot.map_len.load(Ordering::Relaxed)
    }
    /// Whether external buffers still reference the mapping (`Slot::shared`).
    pub fn shared(&self) -> bool {
        self.slot.shared()
    }
    /// Why the fault guard replaced part of the mapping (see `Slot::lost`),
    /// or `None` while it is intact.
    pub fn lost(&self, call: &'static str) -> Option<Failure> {
        match self.slot.lost.load(Ordering::Acquire) {
            0 => None,
            lost => Some(fault_failure(lost, call)),
        }
    }
    /// Replaces the mapping's `FLAG_*` bits (published on drop).
    pub fn set_flags(&mut self, flags: u32) {
        self.slot.flags.store(flags, Ordering::Relaxed);
    }
    /// Forgets the pages the fault guard replaced: for a mapping made afresh
    /// (`remap`), whose pages are the file's again.
    pub fn clear_lost(&mut self) {
        self.slot.lost.store(0, Ordering::Release);
    }
    /// Records where in the file the mapping now starts (`Owned::offset`
    /// and the fault guard's copy of it), for a mapping made afresh.
    pub fn set_offset(&mut self, offset: u64) {
        if let Some(Some(owned)) = owned_table().get_mut(self.index) {
            owned.offset = offset;
        }
        FILES[self.index].offset.store(offset, Ordering::Relaxed);
    }
    /// Records the mapping's new place and size (published on drop).
    pub fn set(&mut self, fields: Fields) {
        self.slot.base.store(fields.base, Ordering::Relaxed);
        self.slot.len.store(fields.len, Ordering::Relaxed);
        self.slot.flags.store(fields.flags, Ordering::Relaxed);
        self.slot.map_len.store(fields.map_len, Ordering::Relaxed);
        self.map_base = fields.map_base;
    }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        self.slot.map_base.store(self.map_base, Ordering::Release);
        self.slot.state.fetch_or(LIVE, Ordering::Release);
        self.slot.live_id.store(self.id, Ordering::Release);
    }
}

/// The refusal of a change that would move or shrink the pages under a
/// zero-copy view's buffer, which may be anywhere (moved, sent to a worker,
/// held by an async op).
pub fn busy(call: &'static str) -> Failure {
    Failure::new(
        Status::Busy,
        call,
        "views of the mapping are still referenced, so it cannot move: drop them (or let them be collected) first",
    )
}

/// Takes exclusive use of a live mapping; see `Exclusive`.
pub fn exclusive(id: u32, call: &'static str) -> Result<Exclusive> {
    let (slot, index, map_base) = stop(id, call)?;
    Ok(Exclusive {
        slot,
        index,
        map_base,
        id,
    })
}

/// Makes a slot whose last owner is gone available again, and closes what it
/// owned (the file) once the record is out of the table.
fn free(index: usize) {
    let owned = owned_table().get_mut(index).and_then(Option::take);
    drop(owned);
    let slot = &TABLE[index];
    slot.base.store(0, Ordering::Relaxed);
    slot.len.store(0, Ordering::Relaxed);
    slot.map_len.store(0, Ordering::Relaxed);
    slot.state.fetch_and(!RESERVED, Ordering::Release);
}

fn wait_idle(slot: &Slot) {
    while slot.state.load(Ordering::SeqCst) & BUSY_MASK != 0 {
        std::thread::yield_now();
    }
}

/// A slot pinned by the fault handler (see `hold_at`); released on drop.
/// Everything here is an atomic operation, safe in a signal handler.
/// Only Unix has such a handler (`os/unix/fault.rs`; see `guard_faults` in
/// `os/windows.rs` for why Windows needs none), so elsewhere this is unused.
#[cfg_attr(not(unix), allow(dead_code))]
pub struct Held {
    slot: &'static Slot,
    file: &'static FileOfSlot,
    map_base: usize,
    map_len: usize,
}

#[cfg_attr(not(unix), allow(dead_code))]
impl Held {
    /// Start of the OS mapping (page aligned).
    pub fn map_base(&self) -> usize {
        self.map_base
    }
    /// End of the OS mapping as given to mmap (not rounded to a page).
    pub fn map_end(&self) -> usize {
        self.map_base + self.map_len
    }
    /// Whether `addr` already lies in the lost tail.
    pub fn is_lost(&self, addr: usize) -> bool {
        let tail = self.slot.lost.load(Ordering::Acquire) & !SPACE_LOST;
        tail != 0 && addr >= self.map_end() - tail
    }
    /// Records that everything from `from` (inside the mapping) to the end is
    /// lost. Done before the zero pages are mapped; see `Entry::intact`.
    pub fn mark_lost(&self, from: usize) {
        let tail = self.map_end() - from;
        let mut lost = self.slot.lost.load(Ordering::SeqCst);
        // fetch_max on the tail alone, keeping the SPACE_LOST bit.
        while lost & !SPACE_LOST < tail {
            let new = (lost & SPACE_LOST) | tail;
            match self.slot.lost.compare_exchange_weak(
                lost,
                new,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return,
                Err(now) => lost = now,
            }
        }
    }
    /// Records that a page the file still covers was lost because the
    /// filesystem could not allocate it. Done before the zero page is mapped.
    pub fn mark_space_lost(&self) {
        self.slot.lost.fetch_or(SPACE_LOST, Ordering::SeqCst);
    }
    /// The mapped file as `os::file_key` gave it (0 for none).
    pub fn file_key(&self) -> usize {
        self.file.key.load(Ordering::Relaxed)
    }
    /// Offset in the file of `map_base`.
    pub fn file_offset(&self) -> u64 {
        self.file.offset.load(Ordering::Relaxed)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.slot.state.fetch_sub(1, Ordering::Release);
    }
}

/// For the SIGBUS handler: finds the mapping whose OS range contains `addr`
/// and pins it, so that `release` waits until the handler is done with it.
/// Lock-free and allocation-free (async-signal-safe); scans the table, which
/// is fine for a path taken once per truncation. Unix only, as `Held`.
#[cfg_attr(not(unix), allow(dead_code))]
pub fn hold_at(addr: usize) -> Option<Held> {
    let contains = |base: usize, len: usize| base != 0 && addr >= base && addr - base < len;
    for (slot, file) in TABLE.iter().zip(FILES.iter()) {
        // Cheap unpinned look first; most slots are empty.
        if !contains(
            slot.map_base.load(Ordering::Relaxed),
            slot.map_len.load(Ordering::Relaxed),
        ) {
            continue;
        }
        // Pin, then look again: the slot may have been retired (range swapped
        // to 0) or reused for another mapping in between.
        slot.state.fetch_add(1, Ordering::SeqCst);
        let map_base = slot.map_base.load(Ordering::SeqCst);
        let map_len = slot.map_len.load(Ordering::Acquire);
        if contains(map_base, map_len) {
            return Some(Held {
                slot,
                file,
                map_base,
                map_len,
            });
        }
        slot.state.fetch_sub(1, Ordering::Release);
    }
    None
}

/// Counts live mappings and the bytes they show.
pub fn totals() -> (usize, usize) {
    TABLE
        .iter()
        .filter(|slot| slot.state.load(Ordering::Acquire) & LIVE != 0)
        .fold((0, 0), |(count, bytes), slot| {
            (count + 1, bytes + slot.len.load(Ordering::Relaxed))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot with made-up addresses and nothing owned.
    fn insert_test(fields: Fields) -> Result<u32> {
        insert(fields, Owned::default())
    }

    /// No OS range (`map_len` 0), so that releasing the last owner unmaps
    /// nothing.
    fn fields(base: usize, len: usize) -> Fields {
        Fields {
            base,
            len,
            flags: 0,
            map_base: base,
            map_len: 0,
        }
    }

    fn owners(id: u32) -> usize {
        TABLE[(id & SLOT_MASK) as usize]
            .owners
            .load(Ordering::SeqCst)
    }

    fn reserved(id: u32) -> bool {
        TABLE[(id & SLOT_MASK) as usize]
            .state
            .load(Ordering::SeqCst)
            & RESERVED
            != 0
    }

    #[test]
    fn insert_enter_close() {
        let id = insert_test(fields(0x1000, 10)).unwrap();
        {
            let entry = enter(id, "test").unwrap();
            assert_eq!(entry.base(), 0x1000);
            assert_eq!(entry.len(), 10);
        }
        assert_eq!(owners(id), 1);
        close(id, "test").unwrap();
        assert!(!reserved(id));
        assert_eq!(enter(id, "test").unwrap_err().status, Status::BadHandle);
        assert_eq!(close(id, "test").unwrap_err().status, Status::BadHandle);
    }

    #[test]
    fn buffers_keep_a_closed_slot_until_the_last_is_released() {
        let id = insert_test(fields(0x5000, 10)).unwrap();
        let (a, b) = {
            let entry = enter(id, "test").unwrap();
            (entry.own(), entry.own())
        };
        assert_eq!(owners(id), 3);
        close(id, "test").unwrap();
        // The handle is gone at once; the slot (and its range) stay.
        assert_eq!(enter(id, "test").unwrap_err().status, Status::BadHandle);
        assert_eq!(close(id, "test").unwrap_err().status, Status::BadHandle);
        assert!(reserved(id));
        assert_eq!(TABLE[a].map_base.load(Ordering::SeqCst), 0x5000);
        release(a).unwrap();
        assert!(reserved(id));
        release(b).unwrap();
        assert!(!reserved(id));
        assert_eq!(TABLE[b].map_base.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn stale_and_forged_ids_are_refused() {
        assert_eq!(enter(0, "test").unwrap_err().status, Status::BadHandle);
        assert_eq!(
            enter(u32::MAX, "test").unwrap_err().status,
            Status::BadHandle
        );
        let id = insert_test(fields(0x2000, 1)).unwrap();
        let forged = id ^ (1 << SLOT_BITS);
        assert_eq!(enter(forged, "test").unwrap_err().status, Status::BadHandle);
        close(id, "test").unwrap();
        // The slot may be reused with a new generation; the old id stays dead.
        let again = insert_test(fields(0x3000, 2)).unwrap();
        assert_ne!(again, id);
        assert_eq!(enter(id, "test").unwrap_err().status, Status::BadHandle);
        close(again, "test").unwrap();
    }

    #[test]
    fn close_waits_for_calls_in_flight() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        let id = insert_test(fields(0x4000, 1)).unwrap();
        let entry = enter(id, "test").unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let closer = std::thread::spawn(move || {
            close(id, "test").unwrap();
            flag.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!done.load(Ordering::SeqCst), "close must wait for the call");
        drop(entry);
        closer.join().unwrap();
        assert!(done.load(Ordering::SeqCst));
    }
}
