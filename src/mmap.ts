/**
 * The mapping handle and the functions that open, copy, view, flush and close
 * mappings.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { isAbsolute, resolve } from "node:path";
import { describe, MAX_INDEX, toIndex } from "./_args.ts";
import { closedError, nativeError, Status } from "./errors.ts";
import {
  ADVICE,
  FlushMode as NativeFlushMode,
  library,
  librarySync,
  MapFlag,
  ShmFlag,
  type Symbols,
} from "./ffi.ts";

/**
 * A memory mapping, as the package's original API describes it. Every handle
 * returned by {@linkcode open} and its variants is an {@linkcode Mmap}, which
 * has this shape and more.
 */
export interface MmapHandle {
  /** Native address of the first mapped byte (`null` for an empty mapping). */
  readonly ptr: Deno.PointerValue;
  /** Mapped length in bytes. */
  readonly len: number;
  /** Absolute path of the mapped file. */
  readonly path: string;
}

/**
 * What a mapping shows: a file (or part of one), anonymous memory, or named
 * shared memory.
 */
export type MappingKind = "file" | "anonymous" | "shared";

/**
 * How a range will be used, for {@linkcode advise}: `"normal"`,
 * `"sequential"` (read ahead aggressively, drop pages behind), `"random"`
 * (no read-ahead), `"willneed"` (read the range in now), `"dontneed"` (the
 * range can leave memory; a file's pages are read back from the file later).
 */
export type Advice =
  | "normal"
  | "sequential"
  | "random"
  | "willneed"
  | "dontneed";

/**
 * How {@linkcode flush} writes back: `"sync"` waits for the write
 * (`msync(MS_SYNC)`, `FlushViewOfFile`); `"async"` only schedules it
 * (`MS_ASYNC`); `"durable"` waits and then flushes the file to the device
 * (`fsync`, `F_FULLFSYNC` on macOS, `FlushFileBuffers` on Windows), so the
 * data survives a power loss.
 */
export type FlushMode = "sync" | "async" | "durable";

/** A live mapping, as listed by {@linkcode stats}. */
export interface MappingInfo {
  /** The file's absolute path, the shared memory name, or `""`. */
  readonly path: string;
  /** What the mapping shows. */
  readonly kind: MappingKind;
  /** Mapped length in bytes. */
  readonly length: number;
  /** Whether the mapping can be written. */
  readonly writable: boolean;
}

/** Live mappings, for hunting leaks: see {@linkcode stats}. */
export interface MappingStats {
  /** Live mappings in the whole process (all threads and workers). */
  readonly count: number;
  /** Bytes those mappings show. */
  readonly bytes: number;
  /** This thread's live handles. */
  readonly mappings: MappingInfo[];
}

/** Options for {@linkcode stream}. */
export interface StreamOptions {
  /**
   * First byte to stream.
   *
   * @default {0}
   */
  offset?: number | bigint;
  /** Bytes to stream; by default, to the end of the mapping. */
  length?: number | bigint;
  /**
   * Bytes per chunk (when the reader brings no buffer of its own).
   *
   * @default {65536}
   */
  chunkSize?: number;
}

/** Options for {@linkcode open} and {@linkcode openSync}. */
export interface OpenOptions {
  /**
   * Map the file read-write: writes reach the file (shared mapping).
   * Needs write permission for the file.
   *
   * @default {false}
   */
  write?: boolean;
  /**
   * Create the file when it does not exist. Needs `write`.
   *
   * @default {false}
   */
  create?: boolean;
  /**
   * Grow the file to at least this many bytes before mapping; a larger file
   * is never shrunk. Needs `write`.
   */
  size?: number | bigint;
  /**
   * First byte of the file to map. Any offset works: alignment is handled
   * internally, and the handle shows exactly the bytes from here.
   *
   * @default {0}
   */
  offset?: number | bigint;
  /**
   * Number of bytes to map from `offset`. By default, to the end of the file.
   * The range must lie within the file (after growing it to `size`).
   */
  length?: number | bigint;
  /**
   * Copy-on-write: the mapping can be written, but writes stay in this
   * process and never reach the file. Needs only read permission. Cannot be
   * combined with `write`, `create` or `size`.
   *
   * @default {false}
   */
  private?: boolean;
  /**
   * Read the whole range into memory now (MAP_POPULATE on Linux, read-ahead
   * advice elsewhere) instead of on first touch.
   *
   * @default {false}
   */
  populate?: boolean;
}

// This thread's live handles, by native id, for stats(). Plain records, so
// that the list never keeps a handle alive.
const live = new Map<number, MappingInfo>();

/** What unmapping needs; shared by a handle and its finalizer. */
interface Remains {
  symbols: Symbols;
  id: number;
  /** Every buffer handed out by `view()` (pruned of collected ones). */
  views: WeakRef<ArrayBuffer>[];
}

/**
 * Whether a buffer handed out was detached by someone else: moved with
 * `ArrayBuffer.prototype.transfer`, `structuredClone` or `postMessage`. The
 * new buffer still points at the mapping and nothing tracks it, so unmapping
 * (or moving) the mapping would leave it dangling, a crash on its next
 * access: such a mapping is deliberately left in place until the process
 * exits. (A buffer collected already cannot be checked.)
 */
function escaped(views: WeakRef<ArrayBuffer>[]): boolean {
  return views.some((ref) => ref.deref()?.detached === true);
}

// When every handle and view is gone, the mapping is released.
const finalizer = new FinalizationRegistry<Remains>((remains) => {
  live.delete(remains.id);
  if (!escaped(remains.views)) remains.symbols.mmap_close(remains.id);
});

// A live view keeps its handle alive: the key (the view's buffer) holds the
// value (the handle) for as long as the buffer is reachable.
const owners = new WeakMap<ArrayBuffer, Mmap>();

const encoder = new TextEncoder();

/**
 * Async reads and writes of at least this many bytes run on a worker
 * thread. Measured on a 2-core x86_64 VM (docs/bench_readme_section.md):
 * the hop to a thread and back costs about 10 µs; an awaited 64 MiB copy
 * in place stalls the event loop for 5.6 ms, on a thread 2.7 ms (256 MiB:
 * 19 ms against 5 ms), while at 16 MiB the gain is within the noise.
 */
const THREAD_COPY_BYTES = 64 * 1024 * 1024;

/**
 * Whether an async copy of `bytes` goes to a worker thread: it is large, and
 * its memory cannot go away while the thread copies. A resizable buffer can
 * shrink, and a view of a mapping loses its memory when that mapping is
 * closed, so both are copied in place.
 */
function onThread(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.length < THREAD_COPY_BYTES) {
    return false;
  }
  const buffer = bytes.buffer;
  return !(buffer instanceof ArrayBuffer) ||
    (!buffer.resizable && !owners.has(buffer));
}

interface HandleFields {
  symbols: Symbols;
  id: number;
  ptr: Deno.PointerValue;
  len: number;
  path: string;
  name: string;
  writable: boolean;
  kind: MappingKind;
}

let createHandle: (fields: HandleFields) => Mmap;
let isHandle: (value: unknown) => value is Mmap;

/**
 * An open memory mapping of a file (or of part of one).
 *
 * Copy in and out with {@linkcode Mmap.readSync} and {@linkcode Mmap.writeSync}
 * (single native copies), or work on the bytes in place through
 * {@linkcode Mmap.view}. Close it with {@linkcode Mmap.close} or a `using`
 * declaration; views die with the mapping (their length becomes 0), so they
 * never point at freed memory. A handle that is dropped without being closed
 * is unmapped after garbage collection, once its views are gone too.
 *
 * Handles come from {@linkcode open}, {@linkcode openSync} and the other
 * `open…` functions; the constructor is not for use.
 *
 * @example Read a file through a mapping
 * ```ts
 * import { openSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "hello, mapping");
 * using m = openSync(path);
 * const bytes = new Uint8Array(5);
 * m.readSync(bytes, 7);
 * assert.equal(new TextDecoder().decode(bytes), "mappi");
 * ```
 */
export class Mmap implements MmapHandle, Disposable, AsyncDisposable {
  #symbols!: Symbols;
  #id = 0;
  #ptr: Deno.PointerValue = null;
  #len = 0;
  #path = "";
  #name = "";
  #writable = false;
  #kind: MappingKind = "file";
  #closed = false;
  #remains!: Remains;
  #pruneAt = 64;

  static {
    createHandle = (fields) => {
      const handle = new Mmap(Mmap.#key);
      handle.#symbols = fields.symbols;
      handle.#id = fields.id;
      handle.#ptr = fields.ptr;
      handle.#len = fields.len;
      handle.#path = fields.path;
      handle.#name = fields.name;
      handle.#writable = fields.writable;
      handle.#kind = fields.kind;
      live.set(fields.id, handle.#info());
      handle.#remains = { symbols: fields.symbols, id: fields.id, views: [] };
      finalizer.register(handle, handle.#remains, handle);
      return handle;
    };
    isHandle = (value): value is Mmap =>
      typeof value === "object" && value !== null && #id in value;
  }

  static readonly #key = Symbol("Mmap");

  /**
   * Not for use: handles come from {@linkcode open} and its variants.
   *
   * @param key A private token.
   * @throws {TypeError} Always, when called from outside the package.
   */
  constructor(key: unknown) {
    if (key !== Mmap.#key) {
      throw new TypeError("Mmap cannot be constructed: use open() instead");
    }
  }

  /**
   * Native address of the first mapped byte; `null` for an empty mapping
   * and after close. **UNSAFE**: memory behind it is freed on close.
   */
  get ptr(): Deno.PointerValue {
    return this.#closed ? null : this.#ptr;
  }

  /** Mapped length in bytes. */
  get len(): number {
    return this.#len;
  }

  /** Absolute path of the mapped file. */
  get path(): string {
    return this.#path;
  }

  /** Whether the mapping can be written (read-write or copy-on-write). */
  get writable(): boolean {
    return this.#writable;
  }

  /** Whether {@linkcode Mmap.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** What the mapping shows: a file, anonymous memory or shared memory. */
  get kind(): MappingKind {
    return this.#kind;
  }

  #info(): MappingInfo {
    return {
      path: this.#path,
      kind: this.#kind,
      length: this.#len,
      writable: this.#writable,
    };
  }

  #where(call: string): string {
    return `mmap ${call} "${this.#name}"`;
  }

  /**
   * `toIndex` for the hot calls: a plain whole number passes without
   * building the error context (about 2.5 ns of a 28 ns `readSync`).
   */
  #index(value: unknown, call: string): number {
    if (
      typeof value === "number" && value >= 0 && value <= MAX_INDEX &&
      Number.isInteger(value)
    ) {
      return value;
    }
    return toIndex(value, "offset", this.#where(call));
  }

  #fail(status: number, call: string): never {
    throw nativeError(this.#symbols, status, call, this.#name);
  }

  /** Checks `[offset, offset + length)` against the mapping. */
  #range(offset: number, length: number, call: string): void {
    if (length > this.#len || offset > this.#len - length) {
      throw new RangeError(
        `${this.#where(call)}: range ${offset}..${
          offset + length
        } is outside the mapping of ${this.#len} bytes`,
      );
    }
  }

  #checkWritable(): void {
    if (!this.#writable) {
      throw new TypeError(
        `${
          this.#where("write")
        }: the mapping is read-only: open it with openWrite() or { write: true }`,
      );
    }
  }

  #buffer(value: unknown, what: string, call: string): Uint8Array {
    if (value instanceof Uint8Array) return value;
    throw new TypeError(
      `${this.#where(call)}: ${what} must be a Uint8Array: received ${
        describe(value)
      }`,
    );
  }

  /**
   * Copies bytes from the mapping at `offset` into `dst`, filling it.
   *
   * @param dst Where the bytes go; its length is how many are copied.
   * @param offset Position in the mapping of the first byte to copy.
   * @returns The number of bytes copied (`dst.length`).
   * @throws {RangeError} When the range reaches past the mapping (nothing is
   * copied), or `offset` is not a whole number from 0 to 2^53 - 1.
   * @throws {TypeError} When `dst` is not a Uint8Array.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   * @throws {Deno.errors.UnexpectedEof} When the file was truncated under
   * the mapping and the range lost its bytes.
   */
  readSync(dst: Uint8Array, offset: number | bigint = 0): number {
    if (this.#closed) throw closedError("read", this.#name);
    const buffer = this.#buffer(dst, "dst", "read");
    const at = this.#index(offset, "read");
    const length = buffer.length;
    this.#range(at, length, "read");
    const status = this.#symbols.mmap_read(this.#id, at, buffer, length);
    if (status !== 0) this.#fail(status, "read");
    return length;
  }

  /**
   * Like {@linkcode Mmap.readSync}, as a promise. A copy of 64 MiB or more
   * runs on a worker thread, so the event loop keeps running meanwhile:
   * leave `dst` alone (do not transfer or resize its buffer) until the
   * promise settles. Smaller copies are done at once.
   *
   * @param dst Where the bytes go; its length is how many are copied.
   * @param offset Position in the mapping of the first byte to copy.
   * @returns The number of bytes copied.
   */
  read(dst: Uint8Array, offset: number | bigint = 0): Promise<number> {
    try {
      if (onThread(dst)) return this.#copyOnThread(dst, offset, "read");
      return Promise.resolve(this.readSync(dst, offset));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Copies all of `src` into the mapping at `offset`.
   *
   * @param src The bytes to write.
   * @param offset Position in the mapping of the first byte written.
   * @returns The number of bytes copied (`src.length`).
   * @throws {RangeError} When the range reaches past the mapping (nothing is
   * written), or `offset` is invalid.
   * @throws {TypeError} When `src` is not a Uint8Array or the mapping is
   * read-only.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   * @throws {Deno.errors.UnexpectedEof} When the file was truncated under
   * the mapping.
   */
  writeSync(src: Uint8Array, offset: number | bigint = 0): number {
    if (this.#closed) throw closedError("write", this.#name);
    const buffer = this.#buffer(src, "src", "write");
    const at = this.#index(offset, "write");
    this.#checkWritable();
    const length = buffer.length;
    this.#range(at, length, "write");
    const status = this.#symbols.mmap_write(this.#id, at, buffer, length);
    if (status !== 0) this.#fail(status, "write");
    return length;
  }

  /**
   * Like {@linkcode Mmap.writeSync}, as a promise. A copy of 64 MiB or more
   * runs on a worker thread, so the event loop keeps running meanwhile:
   * leave `src` alone (do not change, transfer or resize it) until the
   * promise settles. Smaller copies are done at once.
   *
   * @param src The bytes to write.
   * @param offset Position in the mapping of the first byte written.
   * @returns The number of bytes copied.
   */
  write(src: Uint8Array, offset: number | bigint = 0): Promise<number> {
    try {
      if (onThread(src)) return this.#copyOnThread(src, offset, "write");
      return Promise.resolve(this.writeSync(src, offset));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A large async copy, on a worker thread (`nonblocking` symbols) so that
   * the event loop keeps running. The native registry keeps the mapping
   * mapped until the copy ends (a `close()` meanwhile waits for it), and
   * `buffer` stays reachable from this frame until then.
   */
  async #copyOnThread(
    buffer: Uint8Array,
    offset: number | bigint,
    call: "read" | "write",
  ): Promise<number> {
    if (this.#closed) throw closedError(call, this.#name);
    const at = this.#index(offset, call);
    if (call === "write") this.#checkWritable();
    const length = buffer.length;
    this.#range(at, length, call);
    const symbols = this.#symbols;
    let status = call === "read"
      ? await symbols.mmap_read_nonblocking(this.#id, at, buffer, length)
      : await symbols.mmap_write_nonblocking(this.#id, at, buffer, length);
    if (status !== 0) {
      // Failure details are kept per thread: repeat the call here (it fails
      // before copying, as the first did) so that they can be read. This
      // use of `buffer` also keeps it alive across the await.
      status = call === "read"
        ? symbols.mmap_read(this.#id, at, buffer, length)
        : symbols.mmap_write(this.#id, at, buffer, length);
      if (status !== 0) this.#fail(status, call);
    }
    return length;
  }

  #flushRange(
    offset: number | bigint,
    length: number | bigint | undefined,
    call: string,
  ): [number, number] {
    if (this.#closed) throw closedError(call, this.#name);
    const at = toIndex(offset, "offset", this.#where(call));
    const count = length === undefined
      ? Math.max(this.#len - at, 0)
      : toIndex(length, "length", this.#where(call));
    this.#range(at, count, call);
    return [at, count];
  }

  #mode(mode: unknown, call: string): number {
    if (typeof mode === "string" && Object.hasOwn(NativeFlushMode, mode)) {
      return NativeFlushMode[mode as FlushMode];
    }
    throw new TypeError(
      `${
        this.#where(call)
      }: mode must be "sync", "async" or "durable": received ${describe(mode)}`,
    );
  }

  /**
   * Writes modified pages in `[offset, offset + length)` back to the file
   * (see {@linkcode FlushMode}; by default waiting for the write, Unix
   * `msync(MS_SYNC)`, Windows `FlushViewOfFile`). Unaligned ranges are
   * widened to whole pages. Copy-on-write and anonymous mappings have no
   * file to write to, so it does nothing for them.
   *
   * @param offset First byte of the range.
   * @param length Bytes in the range; by default, to the end of the mapping.
   * @param mode `"sync"`, `"async"` or `"durable"`.
   * @throws {RangeError} When the range reaches past the mapping.
   * @throws {TypeError} When `mode` is not one of the three.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   * @throws {Deno.errors.UnexpectedEof} When the file was truncated under
   * the mapping and the range reaches the lost pages: what was written
   * there never reaches the file (the rest of the range is flushed).
   */
  flushSync(
    offset: number | bigint = 0,
    length?: number | bigint,
    mode: FlushMode = "sync",
  ): void {
    const [at, count] = this.#flushRange(offset, length, "flush");
    const native = this.#mode(mode, "flush");
    const status = this.#symbols.mmap_flush(this.#id, at, count, native);
    if (status !== 0) this.#fail(status, "flush");
  }

  /**
   * Like {@linkcode Mmap.flushSync}, run on a worker thread so that a long
   * write-back does not block the event loop.
   *
   * @param offset First byte of the range.
   * @param length Bytes in the range; by default, to the end of the mapping.
   * @param mode `"sync"`, `"async"` or `"durable"`.
   */
  async flush(
    offset: number | bigint = 0,
    length?: number | bigint,
    mode: FlushMode = "sync",
  ): Promise<void> {
    const [at, count] = this.#flushRange(offset, length, "flush");
    const native = this.#mode(mode, "flush");
    const status = await this.#symbols.mmap_flush_nonblocking(
      this.#id,
      at,
      count,
      native,
    );
    if (status === 0) return;
    // The failure's details stay with the worker thread that ran the call:
    // flushing again here (harmless: a flush can be repeated) records them
    // on this thread, or succeeds if the cause has gone.
    if (this.#closed) throw closedError("flush", this.#name);
    const again = this.#symbols.mmap_flush(this.#id, at, count, native);
    if (again !== 0) this.#fail(again, "flush");
  }

  /**
   * Makes the whole mapping durable: writes modified pages back and flushes
   * the file to the device, like `Deno.FsFile.syncSync()` (the
   * `"durable"` {@linkcode FlushMode}).
   *
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   */
  syncSync(): void {
    this.flushSync(0, undefined, "durable");
  }

  /**
   * Like {@linkcode Mmap.syncSync}, on a worker thread.
   *
   * @returns A promise that settles when the data is on the device.
   */
  sync(): Promise<void> {
    return this.flush(0, undefined, "durable");
  }

  /**
   * Tells the kernel how a range will be used (`madvise`; on Windows only
   * `"willneed"` has an effect, via `PrefetchVirtualMemory`). `"dontneed"` is
   * ignored for anonymous and copy-on-write memory, where it would discard
   * the contents.
   *
   * @param advice See {@linkcode Advice}.
   * @param offset First byte of the range.
   * @param length Bytes in the range; by default, to the end of the mapping.
   * @throws {TypeError} When `advice` is not one of the names.
   * @throws {RangeError} When the range reaches past the mapping.
   */
  advise(
    advice: Advice,
    offset: number | bigint = 0,
    length?: number | bigint,
  ): void {
    const index = (ADVICE as readonly unknown[]).indexOf(advice);
    if (index < 0) {
      throw new TypeError(
        `${this.#where("advise")}: advice must be one of ${
          ADVICE.map((a) => `"${a}"`).join(", ")
        }: received ${describe(advice)}`,
      );
    }
    const [at, count] = this.#flushRange(offset, length, "advise");
    const status = this.#symbols.mmap_advise(this.#id, at, count, index);
    if (status !== 0) this.#fail(status, "advise");
  }

  /**
   * How many bytes of a range are in memory right now (`mincore`,
   * `QueryWorkingSetEx`), counted in whole pages and clipped to the range.
   *
   * @param offset First byte of the range.
   * @param length Bytes in the range; by default, to the end of the mapping.
   * @returns Resident bytes, from 0 to the range's length.
   */
  residency(offset: number | bigint = 0, length?: number | bigint): number {
    const [at, count] = this.#flushRange(offset, length, "residency");
    const out = new Float64Array(1);
    const status = this.#symbols.mmap_resident(this.#id, at, count, out);
    if (status !== 0) this.#fail(status, "residency");
    return out[0];
  }

  /**
   * Pins a range in memory so it is never paged out (`mlock`,
   * `VirtualLock`). The OS limits how much a process may lock; when the
   * limit refuses, the error names it (`RLIMIT_MEMLOCK`, `ulimit -l`).
   *
   * @param offset First byte of the range.
   * @param length Bytes in the range; by default, to the end of the mapping.
   * @throws {Deno.errors.PermissionDenied | MmapError} When the OS refuses.
   */
  lock(offset: number | bigint = 0, length?: number | bigint): void {
    const [at, count] = this.#flushRange(offset, length, "lock");
    const status = this.#symbols.mmap_lock(this.#id, at, count, 1);
    if (status !== 0) this.#fail(status, "lock");
  }

  /**
   * Releases pages pinned by {@linkcode Mmap.lock}.
   *
   * @param offset First byte of the range.
   * @param length Bytes in the range; by default, to the end of the mapping.
   */
  unlock(offset: number | bigint = 0, length?: number | bigint): void {
    const [at, count] = this.#flushRange(offset, length, "unlock");
    const status = this.#symbols.mmap_lock(this.#id, at, count, 0);
    if (status !== 0) this.#fail(status, "unlock");
  }

  /**
   * Changes the mapping's length. For a read-write mapping of a whole file
   * the file grows or shrinks with it; anonymous memory just changes size.
   * Contents are kept up to the shorter length; new bytes are zero. The
   * mapping may move, so views handed out before become empty (take new
   * ones).
   *
   * @param length The new length in bytes.
   * @throws {TypeError} For read-only, copy-on-write, shared-memory and
   * window mappings, which cannot be resized.
   * @throws {RangeError} When `length` is not a whole number from 0 to
   * 2^53 - 1.
   */
  resizeSync(length: number | bigint): void {
    if (this.#closed) throw closedError("resize", this.#name);
    const count = toIndex(length, "length", this.#where("resize"));
    if (escaped(this.#remains.views)) {
      // The mapping may move: a transferred buffer would be left dangling.
      throw new Deno.errors.Busy(
        `${
          this.#where("resize")
        }: a view's buffer was transferred away, so the mapping cannot move`,
      );
    }
    this.#detachViews();
    const out = new BigUint64Array(2);
    const status = this.#symbols.mmap_resize(this.#id, count, out);
    this.#ptr = out[0] === 0n ? null : Deno.UnsafePointer.create(out[0]);
    this.#len = Number(out[1]);
    live.set(this.#id, this.#info());
    if (status !== 0) this.#fail(status, "resize");
  }

  /**
   * Like {@linkcode Mmap.resizeSync}, as a promise.
   *
   * @param length The new length in bytes.
   * @returns A promise that settles when the mapping has its new length.
   */
  resize(length: number | bigint): Promise<void> {
    try {
      this.resizeSync(length);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A `Uint8Array` over the mapped bytes themselves: no copy. Reading it
   * reads the file's pages; writing it (on a writable mapping) changes them.
   *
   * The view dies with the mapping: after {@linkcode Mmap.close} its length
   * is 0. While a view is reachable, its mapping is not garbage-collected.
   * Do not transfer its buffer (`transfer()`, `structuredClone` or
   * `postMessage` with a transfer list): the moved buffer escapes the
   * handle. `close()` notices and leaves such a mapping in place; a handle
   * dropped without `close()` cannot, and its mapping is unmapped under the
   * moved buffer. Copy the bytes instead (`slice()`).
   *
   * If the file is truncated by someone else, reading past its new end gives
   * zeros and writes there are lost (see {@linkcode Mmap.readSync}).
   *
   * @param offset First byte of the view.
   * @param length Bytes in the view; by default, to the end of the mapping.
   * @returns The view.
   * @throws {RangeError} When the range reaches past the mapping.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   *
   * @example Change a file in place
   * ```ts
   * import { openSync } from "@riaskov/mmap";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempFileSync();
   * Deno.writeTextFileSync(path, "abc");
   * const m = openSync(path, { write: true });
   * const bytes = m.view();
   * bytes[0] = 0x41; // "A"
   * m.close();
   * assert.equal(bytes.length, 0);
   * assert.equal(Deno.readTextFileSync(path), "Abc");
   * ```
   */
  view(offset: number | bigint = 0, length?: number | bigint): Uint8Array {
    const [at, count] = this.#flushRange(offset, length, "view");
    if (count === 0 || this.#ptr === null) return new Uint8Array(0);
    const buffer = Deno.UnsafePointerView.getArrayBuffer(this.#ptr, count, at);
    owners.set(buffer, this);
    const remains = this.#remains;
    remains.views.push(new WeakRef(buffer));
    if (remains.views.length >= this.#pruneAt) {
      remains.views = remains.views.filter((ref) => ref.deref() !== undefined);
      this.#pruneAt = Math.max(64, remains.views.length * 2);
    }
    return new Uint8Array(buffer);
  }

  /**
   * Unmaps the file and releases its native resources. Every view handed out
   * becomes empty first. Closing twice does nothing.
   *
   * A view's buffer must not be transferred (`ArrayBuffer.prototype.transfer`,
   * `structuredClone` or `postMessage` with a transfer list): the moved
   * buffer would outlive the mapping. When close finds one, it leaves the
   * mapping in place (until the process exits) instead of unmapping it.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const keep = escaped(this.#remains.views);
    this.#detachViews();
    live.delete(this.#id);
    finalizer.unregister(this);
    if (keep) return;
    const status = this.#symbols.mmap_close(this.#id);
    if (status !== 0 && status !== Status.badHandle) {
      this.#fail(status, "close");
    }
  }

  /**
   * A byte stream over a range of the mapping, for piping into a
   * `Response`, a file or a compression stream. Each chunk is one copy out
   * of the mapping (straight into the reader's buffer for BYOB readers), so
   * chunks stay valid after the mapping closes. Closing the mapping while
   * the stream is read makes the stream fail with `BadResource`.
   *
   * @param options Range and chunk size.
   * @returns A `ReadableStream` of type `"bytes"`.
   * @throws {RangeError} When the range reaches past the mapping.
   */
  stream(options: StreamOptions = {}): ReadableStream<Uint8Array<ArrayBuffer>> {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `${this.#where("stream")}: options must be an object: received ${
          describe(options)
        }`,
      );
    }
    // Only a missing option takes its default: null is refused, as everywhere.
    const [at, count] = this.#flushRange(
      options.offset === undefined ? 0 : options.offset,
      options.length,
      "stream",
    );
    const chunkSize = toIndex(
      options.chunkSize === undefined ? 65536 : options.chunkSize,
      "chunkSize",
      this.#where("stream"),
    );
    if (chunkSize === 0) {
      throw new RangeError(
        `${this.#where("stream")}: chunkSize must be at least 1`,
      );
    }
    let position = at;
    const end = at + count;
    return new ReadableStream({
      type: "bytes",
      // Never more than the range: a huge chunkSize would fail to allocate.
      autoAllocateChunkSize: Math.max(1, Math.min(chunkSize, count)),
      start: (controller) => {
        if (count === 0) controller.close();
      },
      pull: (controller) => {
        // With autoAllocateChunkSize every pull comes with a buffer to fill.
        const request = controller.byobRequest!;
        const target = request.view!;
        const room = new Uint8Array(
          target.buffer,
          target.byteOffset,
          Math.min(target.byteLength, end - position),
        );
        this.readSync(room, position);
        position += room.length;
        request.respond(room.length);
        if (position >= end) controller.close();
      },
    });
  }

  /** Empties every view handed out, before the memory behind it goes. */
  #detachViews(): void {
    for (const ref of this.#remains.views) {
      const buffer = ref.deref();
      // Detach: the buffer keeps its identity but loses its bytes.
      if (buffer !== undefined && !buffer.detached) buffer.transfer(0);
    }
    this.#remains.views = [];
  }

  /** Closes the mapping at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the mapping at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Resolves a path argument to an absolute path. */
function absolutePath(path: unknown, call: string): [string, string] {
  let name: string;
  if (path instanceof URL) {
    if (path.protocol !== "file:") {
      throw new TypeError(
        `mmap ${call}: a URL path must use the file: protocol: received "${path.href}"`,
      );
    }
    name = fileURLToPath(path);
  } else if (typeof path === "string") {
    name = path;
  } else {
    throw new TypeError(
      `mmap ${call}: path must be a string or a file URL: received ${
        describe(path)
      }`,
    );
  }
  if (name === "") throw new TypeError(`mmap ${call}: path must not be empty`);
  if (name.includes("\0")) {
    throw new TypeError(
      `mmap ${call} ${JSON.stringify(name)}: path must not contain NUL`,
    );
  }
  return [name, isAbsolute(name) ? resolve(name) : resolve(Deno.cwd(), name)];
}

/**
 * Native code can open any file, so Deno's permissions are asked here, as
 * `Deno.open` would, before anything is opened.
 */
function checkPermission(
  name: "read" | "write",
  path: string,
  call: string,
  shown: string,
): void {
  let { state } = Deno.permissions.querySync({ name, path });
  if (state === "prompt") {
    state = Deno.permissions.requestSync({ name, path }).state;
  }
  if (state !== "granted") {
    throw new Deno.errors.NotCapable(
      `mmap ${call} "${shown}": requires ${name} access to "${path}", run again with the --allow-${name} flag`,
    );
  }
}

function flag(value: unknown, what: string, call: string): boolean {
  if (value === undefined) return false;
  if (typeof value === "boolean") return value;
  throw new TypeError(
    `mmap ${call}: option "${what}" must be a boolean: received ${
      describe(value)
    }`,
  );
}

/** Native arguments for a mapping request. */
interface Request {
  name: string;
  path: string;
  flags: number;
  size: number;
  offset: number;
  length: number;
}

function request(path: unknown, options: unknown, call: string): Request {
  const [name, absolute] = absolutePath(path, call);
  if (
    options !== undefined && (typeof options !== "object" || options === null)
  ) {
    throw new TypeError(
      `mmap ${call} "${name}": options must be an object: received ${
        describe(options)
      }`,
    );
  }
  const o = (options ?? {}) as OpenOptions;
  const where = `mmap ${call} "${name}"`;
  const write = flag(o.write, "write", call);
  const create = flag(o.create, "create", call);
  const copyOnWrite = flag(o.private, "private", call);
  let flags = 0;
  if (write) flags |= MapFlag.write;
  if (create) flags |= MapFlag.create;
  if (copyOnWrite) flags |= MapFlag.private;
  if (flag(o.populate, "populate", call)) flags |= MapFlag.populate;
  let size = 0;
  if (o.size !== undefined) {
    size = toIndex(o.size, "size", where);
    flags |= MapFlag.grow;
  }
  const offset = o.offset === undefined
    ? 0
    : toIndex(o.offset, "offset", where);
  let length = 0;
  if (o.length !== undefined) {
    length = toIndex(o.length, "length", where);
    flags |= MapFlag.length;
  }
  if (copyOnWrite && (write || create || o.size !== undefined)) {
    throw new TypeError(
      `${where}: option "private" (copy-on-write) cannot be combined with "write", "create" or "size"`,
    );
  }
  if (!write && (create || o.size !== undefined)) {
    throw new TypeError(
      `${where}: options "create" and "size" need "write: true"`,
    );
  }
  checkPermission("read", absolute, call, name);
  if (write) checkPermission("write", absolute, call, name);
  return { name, path: absolute, flags, size, offset, length };
}

/** Runs a native open and wraps the result in a handle. */
function mapWith(
  symbols: Symbols,
  req: Request,
  call: string,
  native: (path: Uint8Array, out: BigUint64Array) => number,
): Mmap {
  const bytes = encoder.encode(req.path);
  const out = new BigUint64Array(3);
  const status = native(bytes, out);
  if (status !== 0) throw nativeError(symbols, status, call, req.name);
  return createHandle({
    symbols,
    id: Number(out[0]),
    ptr: out[1] === 0n ? null : Deno.UnsafePointer.create(out[1]),
    len: Number(out[2]),
    path: req.path,
    name: req.name,
    writable: (req.flags & (MapFlag.write | MapFlag.private)) !== 0,
    kind: "file",
  });
}

// Each `…With` checks the arguments and Deno's permissions first and returns
// the step that maps, given the library: the library is loaded (or
// downloaded) only for a request that is allowed, so `--allow-ffi` without
// read permission fails with NotCapable, not with a library lookup error.

function openWith(path: unknown, options: unknown): (s: Symbols) => Mmap {
  const req = request(path, options, "open");
  return (symbols) => openMapping(symbols, req, options === undefined);
}

function openMapping(symbols: Symbols, req: Request, plain: boolean): Mmap {
  if (plain) {
    return mapWith(
      symbols,
      req,
      "open",
      (bytes, out) => symbols.mmap_open(bytes, bytes.length, out),
    );
  }
  return mapWith(
    symbols,
    req,
    "open",
    (bytes, out) =>
      symbols.mmap_map(
        bytes,
        bytes.length,
        req.flags,
        req.size,
        req.offset,
        req.length,
        out,
      ),
  );
}

function openWriteWith(path: unknown): (s: Symbols) => Mmap {
  const req = request(path, { write: true }, "openWrite");
  return (symbols) => openWriteMapping(symbols, req);
}

function openWriteMapping(symbols: Symbols, req: Request): Mmap {
  return mapWith(
    symbols,
    req,
    "openWrite",
    (bytes, out) => symbols.mmap_open_write(bytes, bytes.length, out),
  );
}

function openWriteWithSizeWith(
  path: unknown,
  size: unknown,
): (s: Symbols) => Mmap {
  const call = "openWriteWithSize";
  const [name] = absolutePath(path, call);
  const bytesWanted = toIndex(size, "size", `mmap ${call} "${name}"`);
  const req = request(
    path,
    { write: true, create: true, size: bytesWanted },
    call,
  );
  return (symbols) => openWriteWithSizeMapping(symbols, req, bytesWanted);
}

function openWriteWithSizeMapping(
  symbols: Symbols,
  req: Request,
  bytesWanted: number,
): Mmap {
  const call = "openWriteWithSize";
  const native = symbols.mmap_open_write_with_size;
  if (native !== null) {
    return mapWith(
      symbols,
      req,
      call,
      (bytes, out) => native(bytes, bytes.length, bytesWanted, out),
    );
  }
  // A library from before this export: size the file from here, never
  // shrinking it, then map it as openWrite does.
  const file = Deno.openSync(req.path, { write: true, create: true });
  try {
    if (file.statSync().size < bytesWanted) file.truncateSync(bytesWanted);
  } finally {
    file.close();
  }
  return openWriteMapping(symbols, { ...req, flags: MapFlag.write });
}

function handle(value: unknown, call: string): Mmap {
  if (isHandle(value)) return value;
  throw new TypeError(
    `mmap ${call}: expected a handle returned by open(): received ${
      describe(value)
    }`,
  );
}

/**
 * Maps a file. With no options, read-only (native `mmap_open`); the file
 * must exist. Options map it read-write, create or grow it, map a window of
 * it, or make a copy-on-write mapping.
 *
 * Needs `--allow-ffi` and read permission for the file (write permission
 * too with `write`); on first use the native library may be downloaded,
 * which needs `--allow-net`.
 *
 * @param path The file, as a path or a `file:` URL.
 * @param options How to map it.
 * @returns The mapping.
 * @throws {Deno.errors.NotFound} When the file does not exist (without
 * `create`).
 * @throws {Deno.errors.NotCapable} When Deno's permissions forbid the access.
 * @throws {TypeError} When an argument has the wrong type or options
 * conflict.
 * @throws {RangeError} When a size, offset or length is out of range.
 *
 * @example Map a file and read from it
 * ```ts
 * import { close, open, read } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array([1, 2, 3, 4]));
 * const h = await open(path);
 * const buf = new Uint8Array(h.len);
 * await read(h, buf);
 * await close(h);
 * assert.deepEqual([...buf], [1, 2, 3, 4]);
 * ```
 */
export async function open(
  path: string | URL,
  options?: OpenOptions,
): Promise<Mmap> {
  const mapping = openWith(path, options);
  return mapping(await library());
}

/**
 * Like {@linkcode open}, without a promise. It never downloads the native
 * library: in a fresh install call an async function once first, or build
 * the library locally, or set `MMAP_LIB_PATH`.
 *
 * @param path The file, as a path or a `file:` URL.
 * @param options How to map it.
 * @returns The mapping.
 * @throws {Deno.errors.NotFound} When the file does not exist (without
 * `create`).
 * @throws {Deno.errors.NotCapable} When Deno's permissions forbid the access.
 *
 * @example Map part of a file
 * ```ts
 * import { openSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "0123456789");
 * using m = openSync(path, { offset: 3, length: 4 });
 * assert.equal(new TextDecoder().decode(m.view()), "3456");
 * ```
 */
export function openSync(path: string | URL, options?: OpenOptions): Mmap {
  return openWith(path, options)(librarySync());
}

/**
 * Maps an existing file read-write (native `mmap_open_write`); its length is
 * the file's size. Needs read and write permission for the file.
 *
 * @param path The file, as a path or a `file:` URL.
 * @returns The mapping.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 *
 * @example Change bytes of a file
 * ```ts
 * import { close, flush, openWrite, write } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hello");
 * const h = await openWrite(path);
 * await write(h, new TextEncoder().encode("J"), 0);
 * await flush(h);
 * await close(h);
 * assert.equal(await Deno.readTextFile(path), "Jello");
 * ```
 */
export async function openWrite(path: string | URL): Promise<Mmap> {
  const mapping = openWriteWith(path);
  return mapping(await library());
}

/**
 * Like {@linkcode openWrite}, without a promise.
 *
 * @param path The file, as a path or a `file:` URL.
 * @returns The mapping.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 *
 * @example Overwrite the start of a file
 * ```ts
 * import { openWriteSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "....");
 * using h = openWriteSync(path);
 * h.view().set([0x41, 0x42]);
 * h.flushSync();
 * assert.equal(Deno.readTextFileSync(path), "AB..");
 * ```
 */
export function openWriteSync(path: string | URL): Mmap {
  return openWriteWith(path)(librarySync());
}

/**
 * Maps a file read-write after making sure it is at least `size` bytes:
 * creates it when missing and grows it when shorter, never shrinking it
 * (native `mmap_open_write_with_size`, which sizes the file with `ftruncate`
 * or `SetFilePointerEx` + `SetEndOfFile`; with an older library that lacks
 * it, the file is sized from TypeScript first).
 *
 * @param path The file, as a path or a `file:` URL.
 * @param size The least length the file must have.
 * @returns The mapping, as long as the file.
 * @throws {RangeError} When `size` is negative, fractional or too large.
 *
 * @example Create a file of a given size
 * ```ts
 * import { close, openWriteWithSize } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = (await Deno.makeTempDir()) + "/out.bin";
 * const h = await openWriteWithSize(path, 4096);
 * assert.equal(h.len, 4096);
 * await close(h);
 * assert.equal((await Deno.stat(path)).size, 4096);
 * ```
 */
export async function openWriteWithSize(
  path: string | URL,
  size: number | bigint,
): Promise<Mmap> {
  const mapping = openWriteWithSizeWith(path, size);
  return mapping(await library());
}

/**
 * Like {@linkcode openWriteWithSize}, without a promise.
 *
 * @param path The file, as a path or a `file:` URL.
 * @param size The least length the file must have.
 * @returns The mapping, as long as the file.
 *
 * @example Create a sized file without a promise
 * ```ts
 * import { openWriteWithSizeSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempDirSync() + "/sized.bin";
 * using h = openWriteWithSizeSync(path, 100n);
 * assert.equal(h.len, 100);
 * ```
 */
export function openWriteWithSizeSync(
  path: string | URL,
  size: number | bigint,
): Mmap {
  return openWriteWithSizeWith(path, size)(librarySync());
}

/**
 * Copies from the mapping at `offset` into `dst`, filling it (one native
 * memcpy). From 64 MiB up the copy runs on a worker thread, so the event
 * loop keeps running: leave `dst` alone until the promise settles.
 *
 * @param h The mapping.
 * @param dst Where the bytes go; its length is how many are copied.
 * @param offset Position in the mapping of the first byte to copy.
 * @returns The number of bytes copied.
 * @throws {RangeError} When the range reaches past `h.len`; nothing is
 * copied.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Read a slice
 * ```ts
 * import { close, open, read } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abcdef");
 * const h = await open(path);
 * const window = new Uint8Array(2);
 * assert.equal(await read(h, window, 2n), 2);
 * await close(h);
 * assert.equal(new TextDecoder().decode(window), "cd");
 * ```
 */
export function read(
  h: MmapHandle,
  dst: Uint8Array,
  offset: number | bigint = 0n,
): Promise<number> {
  try {
    return handle(h, "read").read(dst, offset);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Like {@linkcode read}, without a promise: the fastest way to copy bytes
 * out of a mapping.
 *
 * @param h The mapping.
 * @param dst Where the bytes go; its length is how many are copied.
 * @param offset Position in the mapping of the first byte to copy.
 * @returns The number of bytes copied.
 * @throws {RangeError} When the range reaches past `h.len`.
 *
 * @example Copy bytes out in a hot loop
 * ```ts
 * import { openSync, readSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeFileSync(path, new Uint8Array([10, 20, 30, 40]));
 * using h = openSync(path);
 * const two = new Uint8Array(2);
 * let sum = 0;
 * for (let off = 0; off < h.len; off += 2) {
 *   readSync(h, two, off);
 *   sum += two[0] + two[1];
 * }
 * assert.equal(sum, 100);
 * ```
 */
export function readSync(
  h: MmapHandle,
  dst: Uint8Array,
  offset: number | bigint = 0,
): number {
  return handle(h, "read").readSync(dst, offset);
}

/**
 * Copies all of `src` into the mapping at `offset` (one native memcpy).
 * From 64 MiB up the copy runs on a worker thread, so the event loop keeps
 * running: leave `src` alone until the promise settles.
 *
 * @param h The mapping; it must be writable.
 * @param src The bytes to write.
 * @param offset Position in the mapping of the first byte written.
 * @returns The number of bytes written.
 * @throws {RangeError} When the range reaches past `h.len`; nothing is
 * written.
 * @throws {TypeError} When the mapping is read-only.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Write at an offset
 * ```ts
 * import { close, openWriteWithSize, write } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = (await Deno.makeTempDir()) + "/w.bin";
 * const h = await openWriteWithSize(path, 8);
 * assert.equal(await write(h, new Uint8Array([7, 7]), 6n), 2);
 * await close(h);
 * assert.deepEqual([...(await Deno.readFile(path))], [0, 0, 0, 0, 0, 0, 7, 7]);
 * ```
 */
export function write(
  h: MmapHandle,
  src: Uint8Array,
  offset: number | bigint = 0n,
): Promise<number> {
  try {
    return handle(h, "write").write(src, offset);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Like {@linkcode write}, without a promise.
 *
 * @param h The mapping; it must be writable.
 * @param src The bytes to write.
 * @param offset Position in the mapping of the first byte written.
 * @returns The number of bytes written.
 * @throws {RangeError} When the range reaches past `h.len`.
 *
 * @example A write past the end copies nothing
 * ```ts
 * import { openWriteWithSizeSync, writeSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempDirSync() + "/ws.bin";
 * using h = openWriteWithSizeSync(path, 4);
 * assert.throws(() => writeSync(h, new Uint8Array(3), 2), RangeError);
 * assert.equal(writeSync(h, new Uint8Array([1, 2]), 2), 2);
 * ```
 */
export function writeSync(
  h: MmapHandle,
  src: Uint8Array,
  offset: number | bigint = 0,
): number {
  return handle(h, "write").writeSync(src, offset);
}

/**
 * Writes modified pages in `[offset, offset + length)` back to the file and
 * waits for it (Unix `msync(MS_SYNC)`, Windows `FlushViewOfFile`), on a
 * worker thread. Any offset and length work: the range is widened to whole
 * pages.
 *
 * @param h The mapping.
 * @param offset First byte of the range.
 * @param length Bytes in the range; by default, to the end of the mapping.
 * @param mode `"sync"` (the default: wait for the write), `"async"` (only
 * schedule it) or `"durable"` (wait, then flush the file to the device); see
 * {@linkcode FlushMode}.
 * @throws {RangeError} When the range reaches past `h.len`.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Write back part of a mapping
 * ```ts
 * import { flush, openWriteWithSize } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = (await Deno.makeTempDir()) + "/f.bin";
 * await using h = await openWriteWithSize(path, 10_000);
 * h.view(5000, 3).set([1, 2, 3]);
 * await flush(h, 5000, 3); // the page around these bytes is written
 * assert.deepEqual((await Deno.readFile(path)).subarray(5000, 5003), new Uint8Array([1, 2, 3]));
 * ```
 */
export async function flush(
  h: MmapHandle,
  offset: number | bigint = 0n,
  length?: number | bigint,
  mode: FlushMode = "sync",
): Promise<void> {
  await handle(h, "flush").flush(offset, length, mode);
}

/**
 * Like {@linkcode flush}, on the calling thread.
 *
 * @param h The mapping.
 * @param offset First byte of the range.
 * @param length Bytes in the range; by default, to the end of the mapping.
 * @param mode `"sync"`, `"async"` or `"durable"`; see {@linkcode FlushMode}.
 * @throws {RangeError} When the range reaches past `h.len`.
 *
 * @example Schedule a write-back without waiting
 * ```ts
 * import { flushSync, openWriteWithSizeSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempDirSync() + "/fs.bin";
 * using h = openWriteWithSizeSync(path, 4096);
 * h.view().fill(1);
 * flushSync(h, 0, undefined, "async");
 * flushSync(h); // and this one waits
 * assert.equal(Deno.readFileSync(path)[4095], 1);
 * ```
 */
export function flushSync(
  h: MmapHandle,
  offset: number | bigint = 0,
  length?: number | bigint,
  mode: FlushMode = "sync",
): void {
  handle(h, "flush").flushSync(offset, length, mode);
}

/**
 * Unmaps the region and releases native resources; views of it become
 * empty. Closing a closed mapping does nothing.
 *
 * @param h The mapping.
 * @throws {TypeError} When `h` is not a handle from {@linkcode open}.
 *
 * @example Views are empty after close
 * ```ts
 * import { close, open, view } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "data");
 * const h = await open(path);
 * const bytes = view(h);
 * await close(h);
 * await close(h); // a second close does nothing
 * assert.equal(bytes.length, 0);
 * ```
 */
export function close(h: MmapHandle): Promise<void> {
  try {
    handle(h, "close").close();
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Like {@linkcode close}, without a promise.
 *
 * @param h The mapping.
 * @throws {TypeError} When `h` is not a handle from {@linkcode open}.
 *
 * @example Close without a promise
 * ```ts
 * import { closeSync, openSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "data");
 * const h = openSync(path);
 * closeSync(h);
 * assert.equal(h.closed, true);
 * ```
 */
export function closeSync(h: MmapHandle): void {
  handle(h, "close").close();
}

/**
 * A zero-copy `Uint8Array` over the mapping (see {@linkcode Mmap.view}); it
 * becomes empty when the mapping closes.
 *
 * @param h The mapping.
 * @param offset First byte of the view.
 * @param length Bytes in the view; by default, to the end of the mapping.
 * @returns The view.
 * @throws {RangeError} When the range reaches past `h.len`.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Sum the bytes of a file without copying them
 * ```ts
 * import { openSync, view } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeFileSync(path, new Uint8Array([1, 2, 3]));
 * using h = openSync(path);
 * assert.equal(view(h).reduce((a, b) => a + b, 0), 6);
 * ```
 */
export function view(
  h: MmapHandle,
  offset: number | bigint = 0,
  length?: number | bigint,
): Uint8Array {
  return handle(h, "view").view(offset, length);
}

/**
 * Makes the whole mapping durable: writes its modified pages back and
 * flushes the file to the device (`fsync`; `F_FULLFSYNC` on macOS;
 * `FlushFileBuffers` on Windows), so the data survives a crash of the
 * machine, not just of the process. Runs on a worker thread.
 *
 * @param h The mapping.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Write, then make it durable
 * ```ts
 * import { openWriteWithSize, sync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = (await Deno.makeTempDir()) + "/journal.bin";
 * await using h = await openWriteWithSize(path, 8);
 * h.writeSync(new Uint8Array([1, 2, 3]));
 * await sync(h);
 * assert.deepEqual((await Deno.readFile(path)).subarray(0, 3), new Uint8Array([1, 2, 3]));
 * ```
 */
export function sync(h: MmapHandle): Promise<void> {
  try {
    return handle(h, "flush").sync();
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Like {@linkcode sync}, on the calling thread.
 *
 * @param h The mapping.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Make a write durable without a promise
 * ```ts
 * import { openWriteWithSizeSync, syncSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempDirSync() + "/durable.bin";
 * using h = openWriteWithSizeSync(path, 16);
 * h.writeSync(new Uint8Array([42]));
 * syncSync(h);
 * assert.equal(Deno.readFileSync(path)[0], 42);
 * ```
 */
export function syncSync(h: MmapHandle): void {
  handle(h, "flush").syncSync();
}

/**
 * Tells the kernel how a range of the mapping will be used; see
 * {@linkcode Mmap.advise}.
 *
 * @param h The mapping.
 * @param advice `"normal"`, `"sequential"`, `"random"`, `"willneed"` or
 * `"dontneed"`.
 * @param offset First byte of the range.
 * @param length Bytes in the range; by default, to the end of the mapping.
 * @throws {TypeError} When `advice` is not one of the names.
 * @throws {RangeError} When the range reaches past `h.len`.
 *
 * @example Read a file front to back
 * ```ts
 * import { advise, openSync } from "@riaskov/mmap";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeFileSync(path, new Uint8Array(1 << 20));
 * using h = openSync(path);
 * advise(h, "sequential");
 * ```
 */
export function advise(
  h: MmapHandle,
  advice: Advice,
  offset: number | bigint = 0,
  length?: number | bigint,
): void {
  handle(h, "advise").advise(advice, offset, length);
}

/**
 * How many bytes of a range are in memory right now; see
 * {@linkcode Mmap.residency}.
 *
 * @param h The mapping.
 * @param offset First byte of the range.
 * @param length Bytes in the range; by default, to the end of the mapping.
 * @returns Resident bytes, from 0 to the range's length.
 *
 * @example After reading a file, it is in memory
 * ```ts
 * import { openSync, residency } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeFileSync(path, new Uint8Array(65536).fill(1));
 * using h = openSync(path);
 * h.readSync(new Uint8Array(h.len));
 * assert.equal(residency(h), 65536);
 * ```
 */
export function residency(
  h: MmapHandle,
  offset: number | bigint = 0,
  length?: number | bigint,
): number {
  return handle(h, "residency").residency(offset, length);
}

/**
 * Pins a range in memory; see {@linkcode Mmap.lock}.
 *
 * @param h The mapping.
 * @param offset First byte of the range.
 * @param length Bytes in the range; by default, to the end of the mapping.
 * @throws {Deno.errors.PermissionDenied | MmapError} When the OS refuses;
 * the message names the lock limit.
 *
 * @example Keep a hot table in memory
 * ```ts
 * import { lock, openAnonymousSync, unlock } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * using table = openAnonymousSync(64 * 1024);
 * lock(table, 0, 4096);
 * assert.equal(table.residency(0, 4096), 4096);
 * unlock(table, 0, 4096);
 * ```
 */
export function lock(
  h: MmapHandle,
  offset: number | bigint = 0,
  length?: number | bigint,
): void {
  handle(h, "lock").lock(offset, length);
}

/**
 * Releases pages pinned by {@linkcode lock}.
 *
 * @param h The mapping.
 * @param offset First byte of the range.
 * @param length Bytes in the range; by default, to the end of the mapping.
 *
 * @example Release what was pinned
 * ```ts
 * import { lock, openAnonymousSync, unlock } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * using buffer = openAnonymousSync(8192);
 * lock(buffer);
 * unlock(buffer);
 * assert.equal(buffer.len, 8192);
 * ```
 */
export function unlock(
  h: MmapHandle,
  offset: number | bigint = 0,
  length?: number | bigint,
): void {
  handle(h, "unlock").unlock(offset, length);
}

/**
 * Changes the length of a read-write whole-file mapping (and of its file) or
 * of anonymous memory; see {@linkcode Mmap.resizeSync}. Views handed out
 * before become empty.
 *
 * @param h The mapping.
 * @param length The new length in bytes.
 * @throws {TypeError} When the mapping cannot be resized.
 *
 * @example Grow a file through its mapping
 * ```ts
 * import { openWriteWithSize, resize } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = (await Deno.makeTempDir()) + "/grow.bin";
 * await using h = await openWriteWithSize(path, 4);
 * await resize(h, 8192);
 * assert.equal(h.len, 8192);
 * assert.equal((await Deno.stat(path)).size, 8192);
 * ```
 */
export function resize(h: MmapHandle, length: number | bigint): Promise<void> {
  try {
    return handle(h, "resize").resize(length);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Like {@linkcode resize}, without a promise.
 *
 * @param h The mapping.
 * @param length The new length in bytes.
 * @throws {TypeError} When the mapping cannot be resized.
 *
 * @example Shrink anonymous memory
 * ```ts
 * import { openAnonymousSync, resizeSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * using m = openAnonymousSync(1 << 20);
 * m.view()[10] = 1;
 * resizeSync(m, 4096);
 * assert.equal(m.len, 4096);
 * assert.equal(m.view()[10], 1);
 * ```
 */
export function resizeSync(h: MmapHandle, length: number | bigint): void {
  handle(h, "resize").resizeSync(length);
}

function anonymousWith(symbols: Symbols, size: unknown): Mmap {
  const call = "openAnonymous";
  const bytes = toIndex(size, "size", `mmap ${call}`);
  const out = new BigUint64Array(3);
  const status = symbols.mmap_anonymous(bytes, out);
  if (status !== 0) throw nativeError(symbols, status, call, "<anonymous>");
  return createHandle({
    symbols,
    id: Number(out[0]),
    ptr: out[1] === 0n ? null : Deno.UnsafePointer.create(out[1]),
    len: Number(out[2]),
    path: "",
    name: "<anonymous>",
    writable: true,
    kind: "anonymous",
  });
}

/**
 * Maps `size` bytes of zeroed memory backed by no file: a large buffer
 * outside the V8 heap, released on close (or after garbage collection).
 * Reach it through {@linkcode Mmap.view}, or copy with `readSync` and
 * `writeSync`; {@linkcode resize} changes its size. Needs `--allow-ffi` and
 * no file permission beyond what finding the native library takes (read
 * access to it, see the README's loader section).
 *
 * @param size Bytes to map.
 * @returns The mapping (`kind` `"anonymous"`, `path` `""`).
 * @throws {RangeError} When `size` is not a whole number from 0 to 2^53 - 1.
 * @throws {MmapError} When the OS has no memory to give.
 *
 * @example A 64 MiB scratch buffer
 * ```ts
 * import { openAnonymous } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * await using scratch = await openAnonymous(64 * 1024 * 1024);
 * const bytes = scratch.view();
 * bytes[123] = 7;
 * assert.equal(bytes[123], 7);
 * ```
 */
export async function openAnonymous(size: number | bigint): Promise<Mmap> {
  return anonymousWith(await library(), size);
}

/**
 * Like {@linkcode openAnonymous}, without a promise.
 *
 * @param size Bytes to map.
 * @returns The mapping.
 *
 * @example A buffer that is released on close
 * ```ts
 * import { openAnonymousSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const m = openAnonymousSync(4096);
 * const bytes = m.view();
 * bytes.fill(0xff);
 * m.close();
 * assert.equal(bytes.length, 0);
 * ```
 */
export function openAnonymousSync(size: number | bigint): Mmap {
  return anonymousWith(librarySync(), size);
}

/** Options for {@linkcode openShared}. */
export interface SharedOptions {
  /**
   * Create the region if it does not exist.
   *
   * @default {false}
   */
  create?: boolean;
  /**
   * With `create`: fail with `Deno.errors.AlreadyExists` if it exists.
   *
   * @default {false}
   */
  exclusive?: boolean;
  /**
   * The least size in bytes; required (and at least 1) with `create`. An
   * existing region is grown to it where the system allows (Linux); on
   * macOS and Windows a region keeps the size it was created with.
   */
  size?: number | bigint;
}

/** Checks a shared memory name and the permissions it needs. */
function sharedName(name: unknown, call: string): string {
  if (typeof name !== "string") {
    throw new TypeError(
      `mmap ${call}: name must be a string: received ${describe(name)}`,
    );
  }
  // "." and ".." would name /dev/shm and /dev (glibc's shm_open refuses
  // them too).
  if (
    name === "" || name === "." || name === ".." || name.includes("/") ||
    name.includes("\0")
  ) {
    throw new TypeError(
      `mmap ${call} ${
        JSON.stringify(name)
      }: name must be non-empty, not "." or "..", without "/" or NUL`,
    );
  }
  // POSIX shared memory lives in /dev/shm on Linux, so Deno's path
  // permissions apply to it there; elsewhere it has no path, and full read
  // and write permission are required.
  const path = Deno.build.os === "linux" ? `/dev/shm/${name}` : undefined;
  for (const kind of ["read", "write"] as const) {
    const descriptor = path === undefined
      ? { name: kind }
      : { name: kind, path };
    let { state } = Deno.permissions.querySync(descriptor);
    if (state === "prompt") {
      state = Deno.permissions.requestSync(descriptor).state;
    }
    if (state !== "granted") {
      throw new Deno.errors.NotCapable(
        `mmap ${call} "${name}": requires ${kind} access${
          path === undefined ? "" : ` to "${path}"`
        }, run again with the --allow-${kind} flag`,
      );
    }
  }
  return name;
}

// As for the open functions, names, options and permissions are checked
// before the library is loaded.
function sharedWith(name: unknown, options: unknown): (s: Symbols) => Mmap {
  const call = "openShared";
  const checked = sharedName(name, call);
  const where = `mmap ${call} "${checked}"`;
  if (
    options !== undefined && (typeof options !== "object" || options === null)
  ) {
    throw new TypeError(
      `${where}: options must be an object: received ${describe(options)}`,
    );
  }
  const o = (options ?? {}) as SharedOptions;
  const create = flag(o.create, "create", call);
  const exclusive = flag(o.exclusive, "exclusive", call);
  const size = o.size === undefined ? 0 : toIndex(o.size, "size", where);
  if (exclusive && !create) {
    throw new TypeError(`${where}: option "exclusive" needs "create: true"`);
  }
  if (create && size === 0) {
    throw new TypeError(
      `${where}: option "create" needs a "size" of at least 1`,
    );
  }
  return (symbols) => sharedMapping(symbols, checked, create, exclusive, size);
}

function sharedMapping(
  symbols: Symbols,
  checked: string,
  create: boolean,
  exclusive: boolean,
  size: number,
): Mmap {
  const call = "openShared";
  const bytes = encoder.encode(checked);
  const out = new BigUint64Array(3);
  const flags = (create ? ShmFlag.create : 0) |
    (exclusive ? ShmFlag.exclusive : 0);
  const status = symbols.mmap_shm_open(bytes, bytes.length, flags, size, out);
  if (status !== 0) throw nativeError(symbols, status, call, checked);
  return createHandle({
    symbols,
    id: Number(out[0]),
    ptr: out[1] === 0n ? null : Deno.UnsafePointer.create(out[1]),
    len: Number(out[2]),
    path: checked,
    name: checked,
    writable: true,
    kind: "shared",
  });
}

/**
 * Maps named shared memory read-write, for exchanging data between
 * processes: POSIX `shm_open` on Linux and macOS, a named section on Windows
 * (use a `Local\` or `Global\` prefix there as Windows expects). Every
 * process that opens the same name sees the same bytes; coordinate with
 * `Atomics.load`/`store`/`add`/`compareExchange` on an `Int32Array` over
 * {@linkcode Mmap.view}. (`Atomics.wait` needs a `SharedArrayBuffer`, which
 * memory from a native library cannot be: poll instead.) The name lasts
 * until {@linkcode unlinkShared} (on Windows, until the last handle closes).
 *
 * Needs read and write permission: for `/dev/shm/<name>` on Linux,
 * unrestricted elsewhere.
 *
 * @param name The region's name, without "/".
 * @param options Whether to create it, and its size.
 * @returns The mapping (`kind` `"shared"`, `path` the name).
 * @throws {Deno.errors.NotFound} When it does not exist (without `create`).
 * @throws {Deno.errors.AlreadyExists} With `exclusive`, when it exists.
 *
 * @example Two handles on one region
 * ```ts
 * import { openShared, unlinkShared } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const name = `doc-example-${Deno.pid}`;
 * await using a = await openShared(name, { create: true, size: 4096 });
 * await using b = await openShared(name);
 * a.view()[0] = 42;
 * assert.equal(b.view()[0], 42);
 * await unlinkShared(name);
 * ```
 */
export async function openShared(
  name: string,
  options?: SharedOptions,
): Promise<Mmap> {
  const mapping = sharedWith(name, options);
  return mapping(await library());
}

/**
 * Like {@linkcode openShared}, without a promise.
 *
 * @param name The region's name, without "/".
 * @param options Whether to create it, and its size.
 * @returns The mapping.
 *
 * @example Create, open and remove a region
 * ```ts
 * import { openSharedSync, unlinkSharedSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const name = `doc-sync-${Deno.pid}`;
 * using writer = openSharedSync(name, { create: true, size: 64 });
 * using reader = openSharedSync(name);
 * writer.writeSync(new Uint8Array([1, 2, 3]));
 * assert.deepEqual([...reader.view(0, 3)], [1, 2, 3]);
 * unlinkSharedSync(name);
 * ```
 */
export function openSharedSync(name: string, options?: SharedOptions): Mmap {
  return sharedWith(name, options)(librarySync());
}

function unlinkWith(name: unknown): (s: Symbols) => void {
  const checked = sharedName(name, "unlinkShared");
  return (symbols) => unlinkName(symbols, checked);
}

function unlinkName(symbols: Symbols, checked: string): void {
  const call = "unlinkShared";
  const bytes = encoder.encode(checked);
  const status = symbols.mmap_shm_unlink(bytes, bytes.length);
  if (status !== 0) throw nativeError(symbols, status, call, checked);
}

/**
 * Removes a shared memory name; mappings already open keep working, and the
 * memory goes when the last one closes. On Windows there is no name to
 * remove (a section lasts while any handle or view does), so this does
 * nothing there.
 *
 * @param name The region's name.
 * @throws {Deno.errors.NotFound} When no region has that name.
 *
 * @example Remove a name while it is still mapped
 * ```ts
 * import { openShared, unlinkShared } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const name = `doc-unlink-${Deno.pid}`;
 * await using region = await openShared(name, { create: true, size: 16 });
 * await unlinkShared(name);
 * region.view()[0] = 1; // the mapping still works
 * assert.equal(region.view()[0], 1);
 * ```
 */
export async function unlinkShared(name: string): Promise<void> {
  const unlink = unlinkWith(name);
  unlink(await library());
}

/**
 * Like {@linkcode unlinkShared}, without a promise.
 *
 * @param name The region's name.
 *
 * @example Remove a name without a promise
 * ```ts
 * import { openSharedSync, unlinkSharedSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const name = `doc-unlink-sync-${Deno.pid}`;
 * openSharedSync(name, { create: true, size: 16 }).close();
 * unlinkSharedSync(name);
 * assert.throws(() => unlinkSharedSync(name), Deno.errors.NotFound);
 * ```
 */
export function unlinkSharedSync(name: string): void {
  unlinkWith(name)(librarySync());
}

/**
 * Live mappings, for hunting leaks: the count and bytes of every mapping in
 * the process (all threads and workers, as the native library counts them)
 * and the list of this thread's open handles.
 *
 * @returns The numbers and the list.
 *
 * @example Nothing left open
 * ```ts
 * import { openAnonymousSync, stats } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const before = stats().mappings.length;
 * const m = openAnonymousSync(4096);
 * assert.equal(stats().mappings.length, before + 1);
 * m.close();
 * assert.equal(stats().mappings.length, before);
 * ```
 */
export function stats(): MappingStats {
  const out = new Float64Array(2);
  librarySync().mmap_stats(out);
  return { count: out[0], bytes: out[1], mappings: [...live.values()] };
}

/**
 * A byte stream over a range of the mapping; see {@linkcode Mmap.stream}.
 *
 * @param h The mapping.
 * @param options Range and chunk size.
 * @returns A `ReadableStream` of type `"bytes"`.
 * @throws {RangeError} When the range reaches past `h.len`.
 *
 * @example Serve a mapped file, compressed
 * ```ts
 * import { openSync, stream } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "hello ".repeat(1000));
 * using h = openSync(path);
 * const gzipped = stream(h).pipeThrough(new CompressionStream("gzip"));
 * const text = await new Response(
 *   gzipped.pipeThrough(new DecompressionStream("gzip")),
 * ).text();
 * assert.equal(text, "hello ".repeat(1000));
 * ```
 */
export function stream(
  h: MmapHandle,
  options?: StreamOptions,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  return handle(h, "stream").stream(options);
}
