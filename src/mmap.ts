/**
 * The `Mmap` class: one open mapping, with its fields, copies, views,
 * write-back, page advice, resize and close. How a mapping is opened lives
 * in `open.ts`, `anonymous.ts` and `shared.ts`; they all end in `adopt`
 * (`_handles.ts`), which turns a native result into a handle.
 *
 * @module
 */

import {
  checkRange,
  toAdvice,
  toBytes,
  toFlag,
  toFlushMode,
  toIndex,
  toOptions,
  toRange,
  where,
} from "./_args.ts";
import { promised, resolved } from "./_async.ts";
import { isUint8Array, typedArrayLength } from "./_intrinsics.ts";
import { copyOnThread, onThread, THREAD_COPY_BYTES } from "./_thread.ts";
import { Views } from "./_views.ts";
import { closedError, nativeError, Status } from "./errors.ts";
import { adoptMapping, MapFlag, mappedBuffer, type Symbols } from "./ffi.ts";
import { hooks, live } from "./_handles.ts";
import type { MappingInfo } from "./stats.ts";
import type {
  Advice,
  FlushMode,
  MappingKind,
  MmapHandle,
  PreallocateOptions,
} from "./types.ts";
import { byteStream, type StreamOptions } from "./stream.ts";
import { planView, type ViewOf, type ViewType } from "./view_as.ts";
import { type Pattern, search } from "./find.ts";
import { type ProtectMode, toProtection } from "./protect.ts";
import {
  batchAsync,
  type BatchIndices,
  batchSync,
  type BatchTarget,
} from "./batch.ts";
import {
  notifyOn,
  waitOn,
  waitOnAsync,
  type WaitOptions,
  type WaitOutcome,
  type WaitTarget,
} from "./wait.ts";

/** What closing needs; shared by a handle and its finalizer. */
interface Remains {
  symbols: Symbols;
  id: number;
}

// A handle dropped without close() is closed once it is collected (a view
// reachable here keeps it alive): its owner of the pages goes, and the pages
// with the last buffer still referencing them.
const finalizer = new FinalizationRegistry<Remains>((remains) => {
  live.delete(remains.id);
  remains.symbols.mmap_close(remains.id);
});

/**
 * An open memory mapping of a file (or of part of one).
 *
 * Copy in and out with {@linkcode Mmap.readSync} and {@linkcode Mmap.writeSync}
 * (single native copies), or work on the bytes in place through
 * {@linkcode Mmap.view}. Close it with {@linkcode Mmap.close} or a `using`
 * declaration; the views it can reach become empty (length 0), and the
 * memory behind any view lives as long as the last reference to it, so no
 * view ever points at freed memory. A handle that is dropped without being
 * closed is closed after garbage collection, once its views are gone too;
 * a handle opened in a worker is closed when the worker ends.
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
  #views = new Views();

  static {
    hooks.create = (symbols, out, meta) => {
      const handle = new Mmap(Mmap.#key);
      handle.#symbols = symbols;
      handle.#id = Number(out[0]);
      handle.#ptr = out[1] === 0n ? null : Deno.UnsafePointer.create(out[1]);
      handle.#len = Number(out[2]);
      handle.#path = meta.path;
      handle.#name = meta.name;
      handle.#writable = meta.writable;
      handle.#kind = meta.kind;
      live.set(handle.#id, handle.#info());
      const remains = { symbols, id: handle.#id };
      finalizer.register(handle, remains, handle);
      // Closed when this thread (a worker, say) ends.
      adoptMapping(handle.#id);
      return handle;
    };
    hooks.isHandle = (value): value is Mmap =>
      typeof value === "object" && value !== null && #id in value;
    hooks.nameOf = (handle) => handle.#name;
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
   * and after close. **UNSAFE**: memory behind it is unmapped on close (or
   * when the last view's buffer that outlives the handle is collected), and
   * nothing tracks a raw pointer: views are the safe way to reach it.
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

  #fail(status: number, call: string): never {
    throw nativeError(this.#symbols, status, call, this.#name);
  }

  /**
   * The real length of a copy's buffer, after checking that the handle is
   * open and the buffer is a real `Uint8Array`.
   */
  #bytes(bytes: unknown, call: "read" | "write"): number {
    if (this.#closed) throw closedError(call, this.#name);
    return toBytes(bytes, call === "read" ? "dst" : "src", call, this.#name);
  }

  #checkWritable(): void {
    if (this.#writable) return;
    if (this.#protected) throw this.#protectedError("write");
    throw new TypeError(
      `${
        where("write", this.#name)
      }: the mapping is read-only: open it with openWrite() or { write: true }`,
    );
  }

  /** `[offset, length]` of a range of an open mapping, after checking it. */
  #span(offset: unknown, length: unknown, call: string): [number, number] {
    if (this.#closed) throw closedError(call, this.#name);
    return toRange(offset, length, this.#len, call, this.#name);
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
    // The common case, kept short (DESIGN.md, "The hot path is short end to
    // end"): two intrinsics and the native copy, which checks the id, the
    // offset and the range itself (ffi/src/copy.rs). Everything else, and
    // every failure, is in #copyFailed. The prefetch hint comes first, so
    // that a cold line's cache miss overlaps the checks and Deno's handling
    // of `dst` rather than starting after them (`mmap_prefetch`).
    if (typeof offset === "number" && isUint8Array(dst)) {
      this.#symbols.mmap_prefetch(this.#id, offset);
      const length = typedArrayLength(dst);
      const status = this.#symbols.mmap_read(this.#id, offset, dst, length);
      if (status === 0) return length;
      return this.#copyFailed(dst, offset, "read", status);
    }
    return this.#copyFailed(dst, offset, "read", undefined);
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
    if (typeof offset === "number" && isUint8Array(dst)) {
      const length = typedArrayLength(dst);
      if (length < THREAD_COPY_BYTES) {
        this.#symbols.mmap_prefetch(this.#id, offset);
        const status = this.#symbols.mmap_read(this.#id, offset, dst, length);
        if (status === 0) return resolved(length);
        return promised(() => this.#copyFailed(dst, offset, "read", status));
      }
    }
    return this.#copy(dst, offset, "read");
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
    if (typeof offset === "number" && isUint8Array(src)) {
      const length = typedArrayLength(src);
      const status = this.#symbols.mmap_write(this.#id, offset, src, length);
      if (status === 0) return length;
      return this.#copyFailed(src, offset, "write", status);
    }
    return this.#copyFailed(src, offset, "write", undefined);
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
    if (typeof offset === "number" && isUint8Array(src)) {
      const length = typedArrayLength(src);
      if (length < THREAD_COPY_BYTES) {
        const status = this.#symbols.mmap_write(this.#id, offset, src, length);
        if (status === 0) return resolved(length);
        return promised(() => this.#copyFailed(src, offset, "write", status));
      }
    }
    return this.#copy(src, offset, "write");
  }

  /**
   * A copy off the common path: an argument the fast path does not take (a
   * bigint offset, anything but a Uint8Array), or a native failure
   * (`status`). Checks every argument in order, as the copy would, so that
   * each mistake gets its own error, then copies (when `status` is
   * `undefined`: nothing was tried yet) or reports `status`. A failed
   * native call copied nothing, or (truncation, a full disk) failed after
   * the copy: it is never repeated.
   */
  #copyFailed(
    bytes: unknown,
    offset: unknown,
    call: "read" | "write",
    status: number | undefined,
  ): number {
    const length = this.#bytes(bytes, call);
    const at = toIndex(offset, "offset", call, this.#name);
    if (call === "write") this.#checkWritable();
    checkRange(at, length, this.#len, call, this.#name);
    if (status === undefined) {
      const buffer = bytes as Uint8Array;
      status = call === "read"
        ? this.#symbols.mmap_read(this.#id, at, buffer, length)
        : this.#symbols.mmap_write(this.#id, at, buffer, length);
      if (status === 0) return length;
    }
    this.#fail(status, call);
  }

  /**
   * The async copies off the common path: large ones on a worker thread
   * (see `_thread.ts`), the rest at once.
   */
  async #copy(
    bytes: Uint8Array,
    offset: number | bigint,
    call: "read" | "write",
  ): Promise<number> {
    if (!onThread(bytes)) {
      return this.#copyFailed(bytes, offset, call, undefined);
    }
    const length = this.#bytes(bytes, call);
    const at = toIndex(offset, "offset", call, this.#name);
    if (call === "write") this.#checkWritable();
    checkRange(at, length, this.#len, call, this.#name);
    const symbols = this.#symbols;
    const status = await copyOnThread(
      symbols,
      call,
      this.#id,
      at,
      bytes,
      length,
    );
    if (status !== 0) this.#fail(status, call);
    return length;
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
    const [at, count] = this.#span(offset, length, "flush");
    const native = toFlushMode(mode, "flush", this.#name);
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
    const [at, count] = this.#span(offset, length, "flush");
    const native = toFlushMode(mode, "flush", this.#name);
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
    const index = toAdvice(advice, "advise", this.#name);
    const [at, count] = this.#span(offset, length, "advise");
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
    const [at, count] = this.#span(offset, length, "residency");
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
    const [at, count] = this.#span(offset, length, "lock");
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
    const [at, count] = this.#span(offset, length, "unlock");
    const status = this.#symbols.mmap_lock(this.#id, at, count, 0);
    if (status !== 0) this.#fail(status, "unlock");
  }

  /**
   * Changes the mapping's length. For a read-write mapping of a whole file
   * the file grows or shrinks with it; anonymous memory just changes size.
   * Contents are kept up to the shorter length; new bytes are zero. The
   * mapping may move, so views handed out before become empty first (take
   * new ones). A view whose buffer escaped this handle (transferred, sent
   * to a worker, held by a pending async op) still references the pages,
   * which must not move under it: resize then refuses with `Busy` until
   * that buffer is collected.
   *
   * A window that covers the whole file (offset 0, length = the file's
   * size) resizes like a mapping of the whole file.
   *
   * @param length The new length in bytes.
   * @param options `preallocate`: allocate the file's new blocks first, so
   * that a full disk fails this call (and changes nothing) instead of a
   * later write through the mapping.
   * @throws {TypeError} For read-only, copy-on-write, shared-memory and
   * window mappings, which cannot be resized.
   * @throws {RangeError} When `length` is not a whole number from 0 to
   * 2^53 - 1.
   * @throws {MmapError} With `code` ENOSPC when `preallocate` finds the
   * disk full, or when a page of the mapping was already lost for want of
   * space.
   * @throws {Deno.errors.Busy} When a view's buffer that close() cannot
   * reach still references the mapping.
   */
  resizeSync(
    length: number | bigint,
    options?: PreallocateOptions | null,
  ): void {
    if (this.#closed) throw closedError("resize", this.#name);
    if (this.#protected) throw this.#protectedError("resize");
    const count = toIndex(length, "length", "resize", this.#name);
    const o = toOptions<PreallocateOptions>(options, "resize", this.#name);
    const flags = toFlag(o.preallocate, "preallocate", "resize")
      ? MapFlag.preallocate
      : 0;
    const resizeWith = this.#symbols.mmap_resize_with;
    if (flags !== 0 && resizeWith === null) {
      throw new Deno.errors.NotSupported(
        `${
          where("resize", this.#name)
        }: the native library predates "preallocate"; update it`,
      );
    }
    this.#views.detach();
    const out = new BigUint64Array(2);
    const status = flags === 0
      ? this.#symbols.mmap_resize(this.#id, count, out)
      : resizeWith!(this.#id, count, flags, out);
    this.#ptr = out[0] === 0n ? null : Deno.UnsafePointer.create(out[0]);
    this.#len = Number(out[1]);
    live.set(this.#id, this.#info());
    if (status !== 0) this.#fail(status, "resize");
  }

  /**
   * Like {@linkcode Mmap.resizeSync}, as a promise.
   *
   * @param length The new length in bytes.
   * @param options `preallocate`: allocate the file's new blocks first.
   * @returns A promise that settles when the mapping has its new length.
   */
  resize(
    length: number | bigint,
    options?: PreallocateOptions | null,
  ): Promise<void> {
    return promised(() => this.resizeSync(length, options));
  }

  /**
   * A `Uint8Array` over the mapped bytes themselves: no copy. Reading it
   * reads the file's pages; writing it (on a writable mapping) changes them.
   *
   * After {@linkcode Mmap.close} the view's length is 0. While a view is
   * reachable, its handle is not garbage-collected. The memory behind a
   * view lives as long as the last reference to its buffer: a buffer moved
   * beyond the handle's reach (`transfer()`, a BYOB reader, `postMessage`
   * with a transfer list, an async op such as `file.write(view)`) keeps the
   * pages mapped, with their bytes, until it is collected, even after
   * close (and, on Windows, keeps the file from being deleted or truncated
   * meanwhile). Copy the bytes (`slice()`) to let the mapping go at once.
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
  view(
    offset: number | bigint = 0,
    length?: number | bigint,
  ): Uint8Array<ArrayBuffer> {
    const [at, count] = this.#span(offset, length, "view");
    if (count === 0 || this.#ptr === null) return new Uint8Array(0);
    const buffer = mappedBuffer(this.#id, at, count);
    this.#views.add(buffer, this);
    return new Uint8Array(buffer);
  }

  /**
   * Closes the handle: from here on every call on it throws `BadResource`,
   * and every view it handed out that is still reachable here becomes
   * empty. The pages are unmapped (and the file closed) now, or, while a
   * view's buffer that escaped (transferred, sent to a worker, held by an
   * async op) still references them, when the last such buffer is
   * collected. Closing twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    let status: number;
    try {
      this.#views.detach();
    } finally {
      status = this.#symbols.mmap_close(this.#id);
    }
    live.delete(this.#id);
    finalizer.unregister(this);
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
  stream(
    options?: StreamOptions | null,
  ): ReadableStream<Uint8Array<ArrayBuffer>> {
    return byteStream(this, options);
  }

  /** Closes the mapping at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the mapping at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return promised(() => this.close());
  }

  // ------------------------------------------ batch copies (see batch.ts)

  /** What batch.ts needs of this handle, after checking that it is open. */
  #batch(call: "gather" | "scatter"): BatchTarget {
    if (this.#closed) throw closedError(call, this.#name);
    return {
      symbols: this.#symbols,
      id: this.#id,
      name: this.#name,
      writable: this.#writable,
    };
  }

  /**
   * Copies `length` bytes from each offset into consecutive slots of `dst`,
   * in one native call; see {@linkcode gatherSync}.
   *
   * @param offsets Where each record starts.
   * @param length Bytes per record.
   * @param dst Where the records go, one after another.
   * @returns The number of records copied.
   * @throws {RangeError} When an offset is bad or `dst` too small; nothing
   * is copied.
   */
  gatherSync(offsets: BatchIndices, length: number, dst: Uint8Array): number {
    return batchSync(
      this.#batch("gather"),
      "gather",
      offsets,
      length,
      dst,
      false,
    );
  }

  /**
   * Like {@linkcode Mmap.gatherSync}, as a promise; see {@linkcode gather}.
   *
   * @param offsets Where each record starts.
   * @param length Bytes per record.
   * @param dst Where the records go, one after another.
   * @returns The number of records copied.
   */
  gather(
    offsets: BatchIndices,
    length: number,
    dst: Uint8Array,
  ): Promise<number> {
    return promised(() =>
      batchAsync(this.#batch("gather"), "gather", offsets, length, dst, false)
    );
  }

  /**
   * Copies consecutive `length`-byte records of `src` to the offsets; see
   * {@linkcode scatterSync}.
   *
   * @param offsets Where each record goes.
   * @param length Bytes per record.
   * @param src The records, one after another.
   * @returns The number of records written.
   * @throws {TypeError} When the mapping is read-only.
   */
  scatterSync(offsets: BatchIndices, length: number, src: Uint8Array): number {
    return batchSync(
      this.#batch("scatter"),
      "scatter",
      offsets,
      length,
      src,
      false,
    );
  }

  /**
   * Like {@linkcode Mmap.scatterSync}, as a promise; see {@linkcode scatter}.
   *
   * @param offsets Where each record goes.
   * @param length Bytes per record.
   * @param src The records, one after another.
   * @returns The number of records written.
   */
  scatter(
    offsets: BatchIndices,
    length: number,
    src: Uint8Array,
  ): Promise<number> {
    return promised(() =>
      batchAsync(this.#batch("scatter"), "scatter", offsets, length, src, false)
    );
  }

  /**
   * Variable-length gather: `lengths[i]` bytes at `offsets[i]`, one record
   * after another in `dst`; see {@linkcode gatherRangesSync}.
   *
   * @param offsets Where each record starts.
   * @param lengths Bytes in each record.
   * @param dst Where the records go.
   * @returns The number of records copied.
   */
  gatherRangesSync(
    offsets: BatchIndices,
    lengths: BatchIndices,
    dst: Uint8Array,
  ): number {
    return batchSync(
      this.#batch("gather"),
      "gather",
      offsets,
      lengths,
      dst,
      true,
    );
  }

  /**
   * Like {@linkcode Mmap.gatherRangesSync}, as a promise.
   *
   * @param offsets Where each record starts.
   * @param lengths Bytes in each record.
   * @param dst Where the records go.
   * @returns The number of records copied.
   */
  gatherRanges(
    offsets: BatchIndices,
    lengths: BatchIndices,
    dst: Uint8Array,
  ): Promise<number> {
    return promised(() =>
      batchAsync(this.#batch("gather"), "gather", offsets, lengths, dst, true)
    );
  }

  /**
   * Variable-length scatter: the next `lengths[i]` bytes of `src` go to
   * `offsets[i]`; see {@linkcode scatterRangesSync}.
   *
   * @param offsets Where each record goes.
   * @param lengths Bytes in each record.
   * @param src The records, one after another.
   * @returns The number of records written.
   */
  scatterRangesSync(
    offsets: BatchIndices,
    lengths: BatchIndices,
    src: Uint8Array,
  ): number {
    return batchSync(
      this.#batch("scatter"),
      "scatter",
      offsets,
      lengths,
      src,
      true,
    );
  }

  /**
   * Like {@linkcode Mmap.scatterRangesSync}, as a promise.
   *
   * @param offsets Where each record goes.
   * @param lengths Bytes in each record.
   * @param src The records, one after another.
   * @returns The number of records written.
   */
  scatterRanges(
    offsets: BatchIndices,
    lengths: BatchIndices,
    src: Uint8Array,
  ): Promise<number> {
    return promised(() =>
      batchAsync(this.#batch("scatter"), "scatter", offsets, lengths, src, true)
    );
  }

  // Processes that talk and files that grow: wait/notify (src/wait.ts) and
  // remap.

  /** What `wait.ts` needs of this handle, after checking it is open. */
  #waitTarget(call: string): WaitTarget {
    if (this.#closed) throw closedError(call, this.#name);
    const target = this.#target;
    target.symbols = this.#symbols;
    target.id = this.#id;
    target.name = this.#name;
    target.len = this.#len;
    return target;
  }

  #target: WaitTarget = { symbols: null!, id: 0, name: "", len: 0 };
  #isClosed = (): boolean => this.#closed;

  /**
   * Sleeps while the `Int32` at `offset` holds `expected`, until notified;
   * see {@linkcode wait}.
   *
   * @param offset Offset of the 8-byte wait cell: a multiple of 4.
   * @param expected The value to sleep on.
   * @param timeout Milliseconds at most (default `Infinity`).
   * @param options `spin`: looks at the word before sleeping.
   * @returns `"ok"`, `"not-equal"` or `"timed-out"`.
   */
  wait(
    offset: number | bigint,
    expected: number,
    timeout?: number,
    options?: WaitOptions,
  ): WaitOutcome {
    return waitOn(this.#waitTarget("wait"), offset, expected, timeout, options);
  }

  /**
   * Like {@linkcode Mmap.wait}, as a promise, without blocking the event
   * loop; see {@linkcode waitAsync}.
   *
   * @param offset Offset of the 8-byte wait cell: a multiple of 4.
   * @param expected The value to sleep on.
   * @param timeout Milliseconds at most (default `Infinity`).
   * @param options `spin`: looks at the word before sleeping.
   * @returns A promise of `"ok"`, `"not-equal"` or `"timed-out"`.
   */
  waitAsync(
    offset: number | bigint,
    expected: number,
    timeout?: number,
    options?: WaitOptions,
  ): Promise<WaitOutcome> {
    return promised(() =>
      waitOnAsync(
        this.#waitTarget("waitAsync"),
        this.#isClosed,
        offset,
        expected,
        timeout,
        options,
      )
    );
  }

  /**
   * Wakes up to `count` waiters on the wait cell at `offset`, in any
   * process; see {@linkcode notify}.
   *
   * @param offset Offset of the 8-byte wait cell: a multiple of 4.
   * @param count How many at most (default `Infinity`).
   * @returns How many woke.
   */
  notify(offset: number | bigint, count?: number): number {
    return notifyOn(this.#waitTarget("notify"), offset, count);
  }

  /**
   * Maps the file again, at its current length (or `length` bytes), without
   * changing the file: how a reader follows a file another process
   * appends to. A window keeps its offset and grows (or shrinks) with the
   * file. The mapping may move, so views handed out before become empty
   * first, as with {@linkcode Mmap.resizeSync} (and, as there, a view's
   * buffer that escaped this handle makes it refuse with `Busy`). A mapping
   * whose file was truncated under it is whole again after a remap.
   *
   * @param length Bytes to map from the mapping's offset; by default to the
   * file's end.
   * @throws {TypeError} For anonymous, shared-memory and copy-on-write
   * mappings.
   * @throws {RangeError} When `length` reaches past the end of the file.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   * @throws {Deno.errors.Busy} When a view's buffer that close() cannot
   * reach still references the mapping.
   */
  remapSync(length?: number | bigint): void {
    if (this.#closed) throw closedError("remap", this.#name);
    if (this.#protected) throw this.#protectedError("remap");
    const count = length === undefined
      ? 0
      : toIndex(length, "length", "remap", this.#name);
    if (this.#kind !== "file") {
      // Refused before the views are detached: nothing changes.
      throw new TypeError(
        `${
          where("remap", this.#name)
        }: only file mappings can be remapped: anonymous and shared memory have no file to follow (use resize)`,
      );
    }
    const native = this.#symbols.mmap_remap;
    if (native === null) {
      throw new Deno.errors.NotSupported(
        `${
          where("remap", this.#name)
        }: the native library predates remap; update it`,
      );
    }
    this.#views.detach();
    const out = new BigUint64Array(2);
    out[0] = this.#ptr === null
      ? 0n
      : BigInt(Deno.UnsafePointer.value(this.#ptr));
    out[1] = BigInt(this.#len);
    const flags = length === undefined ? 0 : MapFlag.length;
    const status = native(this.#id, count, flags, out);
    this.#ptr = out[0] === 0n ? null : Deno.UnsafePointer.create(out[0]);
    this.#len = Number(out[1]);
    live.set(this.#id, this.#info());
    if (status !== 0) this.#fail(status, "remap");
  }

  /**
   * Like {@linkcode Mmap.remapSync}, as a promise.
   *
   * @param length Bytes to map; by default to the file's end.
   * @returns A promise that settles when the mapping has its new length.
   */
  remap(length?: number | bigint): Promise<void> {
    return promised(() => this.remapSync(length));
  }

  // Search, protection and the window's place in the file (find.ts,
  // protect.ts, native find.rs, protect.rs, info.rs).

  /** Set by {@linkcode Mmap.protect} while a writable mapping is read-only. */
  #protected = false;
  /** The window's offset in the file, once asked for (it never changes). */
  #offset: number | undefined;

  #protectedError(call: string): TypeError {
    return new TypeError(
      `${
        where(call, this.#name)
      }: the mapping is read-only after protect("read"): call protect("readwrite") first`,
    );
  }

  /**
   * The position of the first occurrence of `pattern` at or after `from`,
   * or -1, searched natively without copying (see {@linkcode indexOf}).
   *
   * @param pattern A `Uint8Array`, one byte (0 to 255), or a string (its
   * UTF-8 bytes).
   * @param from Where the search starts; read as by
   * `Uint8Array.prototype.indexOf`.
   * @returns The position in the mapping, or -1.
   * @throws {TypeError} When `pattern` or `from` has the wrong type.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   * @throws {Deno.errors.UnexpectedEof} When the file was truncated under
   * the mapping and the search reached the lost pages.
   */
  indexOf(pattern: Pattern, from?: number | bigint): number {
    if (this.#closed) throw closedError("indexOf", this.#name);
    return search(
      this.#symbols,
      this.#id,
      this.#len,
      this.#name,
      pattern,
      from,
      false,
    );
  }

  /**
   * The position of the last occurrence of `pattern` that starts at or
   * before `from`, or -1 (see {@linkcode lastIndexOf}).
   *
   * @param pattern A `Uint8Array`, one byte (0 to 255), or a string.
   * @param from The last position a match may start at; read as by
   * `Uint8Array.prototype.lastIndexOf`.
   * @returns The position in the mapping, or -1.
   * @throws {TypeError} When `pattern` or `from` has the wrong type.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   */
  lastIndexOf(pattern: Pattern, from?: number | bigint): number {
    if (this.#closed) throw closedError("lastIndexOf", this.#name);
    return search(
      this.#symbols,
      this.#id,
      this.#len,
      this.#name,
      pattern,
      from,
      true,
    );
  }

  /**
   * Makes a writable mapping read-only (`"read"`) or writable again
   * (`"readwrite"`) in place (see {@linkcode protect}: a store through a
   * view of a read-only mapping ends the process).
   *
   * @param mode `"read"` or `"readwrite"`.
   * @throws {TypeError} When `mode` is neither, or the mapping was opened
   * read-only.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   */
  protect(mode: ProtectMode): void {
    const protection = toProtection(mode, "protect", this.#name);
    if (this.#closed) throw closedError("protect", this.#name);
    if (!this.#writable && !this.#protected) {
      throw new TypeError(
        `${
          where("protect", this.#name)
        }: the mapping was opened read-only: only a writable mapping can change its protection`,
      );
    }
    const native = this.#symbols.mmap_protect;
    if (native === null) {
      throw new Deno.errors.NotSupported(
        `${
          where("protect", this.#name)
        }: the native library predates protect; update it`,
      );
    }
    const status = native(this.#id, protection);
    if (status !== 0) this.#fail(status, "protect");
    this.#protected = mode === "read";
    this.#writable = !this.#protected;
    live.set(this.#id, this.#info());
  }

  /** `[window offset, file size]` from the native side. */
  #fileInfo(call: string): Float64Array {
    if (this.#closed) throw closedError(call, this.#name);
    const native = this.#symbols.mmap_info;
    if (native === null) {
      throw new Deno.errors.NotSupported(
        `${
          where(call, this.#name)
        }: the native library predates ${call}; update it`,
      );
    }
    const out = new Float64Array(2);
    const status = native(this.#id, out);
    if (status !== 0) this.#fail(status, call);
    return out;
  }

  /**
   * Where the mapping starts in the file: the `offset` it was opened with
   * (0 for a whole file, anonymous and shared memory). Positions in the
   * mapping plus `offset` are positions in the file.
   *
   * @throws {Deno.errors.BadResource} When first read after close.
   */
  get offset(): number {
    return this.#offset ??= this.#fileInfo("offset")[0];
  }

  /**
   * The file's size now (`fstat`), which may differ from what was mapped:
   * another writer grew or truncated it. A reader following a growing file
   * compares it with `offset + len` and takes in the new part with
   * {@linkcode Mmap.remapSync}. For anonymous and shared memory, the
   * mapping's length.
   *
   * @returns The size in bytes.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   *
   * @example Follow a growing file
   * ```ts
   * import { openSync } from "@riaskov/mmap";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempFileSync();
   * Deno.writeTextFileSync(path, "0123456789");
   * using m = openSync(path, { offset: 4 });
   * assert.equal(m.offset, 4);
   * assert.equal(m.len, 6);
   * Deno.writeTextFileSync(path, "abc", { append: true });
   * assert.equal(m.fileSize(), 13);
   * ```
   */
  fileSize(): number {
    return this.#fileInfo("fileSize")[1];
  }

  // Typed views (view_as.ts)

  /**
   * A typed array over the mapped bytes themselves, like
   * {@linkcode Mmap.view} but with elements of `type`: no copy. The first
   * element must be aligned to its size in memory (a mapping of a whole
   * file starts on a page, so a byte offset that is a multiple of the
   * element size is). Like every view, it becomes empty on close and on
   * resize; so does a typed array made with a standard constructor over
   * `view().buffer`.
   *
   * @param type A built-in typed array constructor (`Float32Array`,
   * `BigInt64Array`, `Float16Array` where the runtime has it, …).
   * @param byteOffset First byte of the view in the mapping.
   * @param length Elements in the view; by default, to the end of the
   * mapping (which must then be a whole number of elements).
   * @returns The view.
   * @throws {TypeError} When `type` is not a built-in typed array
   * constructor.
   * @throws {RangeError} When the range reaches past the mapping or the
   * first element is not aligned.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   *
   * @example Read float32 values in place
   * ```ts
   * import { openSync } from "@riaskov/mmap";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempFileSync();
   * Deno.writeFileSync(path, new Uint8Array(new Float32Array([1.5, -2]).buffer));
   * using m = openSync(path);
   * const floats = m.viewAs(Float32Array, 0, 2);
   * assert.deepEqual([...floats], [1.5, -2]);
   * assert.throws(() => m.viewAs(Float32Array, 2, 1), RangeError);
   * ```
   */
  viewAs<T extends ViewType>(
    type: T,
    byteOffset: number | bigint = 0,
    length?: number | bigint,
  ): ViewOf<T> {
    if (this.#closed) throw closedError("viewAs", this.#name);
    const ptr = this.#ptr;
    const base = ptr === null
      ? 0
      : Number(BigInt(Deno.UnsafePointer.value(ptr)) & 7n);
    const plan = planView(
      type,
      byteOffset,
      length,
      base,
      this.#len,
      this.#name,
    );
    const Type = plan.type;
    if (plan.bytes === 0 || ptr === null) return new Type(0) as ViewOf<T>;
    const buffer = mappedBuffer(this.#id, plan.at, plan.bytes);
    this.#views.add(buffer, this);
    return new Type(buffer) as ViewOf<T>;
  }
}
