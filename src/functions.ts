/**
 * The seed's functions over a handle: `read(h, …)`, `write(h, …)`,
 * `flush(h, …)`, `close(h)` and the rest, each a one-line delegate to the
 * {@linkcode Mmap} method of the same name, with its `…Sync` form.
 *
 * @module
 */

import { promised } from "./_async.ts";
import { hooks, toHandle } from "./_handles.ts";
import type {
  Advice,
  FlushMode,
  MmapHandle,
  PreallocateOptions,
} from "./types.ts";

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
  // A handle's read() never throws (it rejects); only a bad handle needs
  // promised() to turn the throw into a rejection.
  return hooks.isHandle(h)
    ? h.read(dst, offset)
    : promised(() => toHandle(h, "read").read(dst, offset));
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
  // The brand check inline, toHandle() only to throw: a call into
  // toHandle() on every copy measured 1.2–1.9× the raw FFI copy for random
  // 64-byte reads, the inline check 1.0× (DESIGN.md, "The hot path").
  return (hooks.isHandle(h) ? h : toHandle(h, "read")).readSync(dst, offset);
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
  return hooks.isHandle(h)
    ? h.write(src, offset)
    : promised(() => toHandle(h, "write").write(src, offset));
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
  return (hooks.isHandle(h) ? h : toHandle(h, "write")).writeSync(src, offset);
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
export function flush(
  h: MmapHandle,
  offset: number | bigint = 0n,
  length?: number | bigint,
  mode: FlushMode = "sync",
): Promise<void> {
  return promised(() => toHandle(h, "flush").flush(offset, length, mode));
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
  toHandle(h, "flush").flushSync(offset, length, mode);
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
  return promised(() => toHandle(h, "close").close());
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
  toHandle(h, "close").close();
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
): Uint8Array<ArrayBuffer> {
  return toHandle(h, "view").view(offset, length);
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
  return promised(() => toHandle(h, "flush").sync());
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
  toHandle(h, "flush").syncSync();
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
  toHandle(h, "advise").advise(advice, offset, length);
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
  return toHandle(h, "residency").residency(offset, length);
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
  toHandle(h, "lock").lock(offset, length);
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
  toHandle(h, "unlock").unlock(offset, length);
}

/**
 * Changes the length of a read-write whole-file mapping (and of its file) or
 * of anonymous memory; see {@linkcode Mmap.resizeSync}. Views handed out
 * before become empty.
 *
 * @param h The mapping.
 * @param length The new length in bytes.
 * @param options `preallocate`: allocate the file's new blocks first.
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
export function resize(
  h: MmapHandle,
  length: number | bigint,
  options?: PreallocateOptions | null,
): Promise<void> {
  return promised(() => toHandle(h, "resize").resize(length, options));
}

/**
 * Like {@linkcode resize}, without a promise.
 *
 * @param h The mapping.
 * @param length The new length in bytes.
 * @param options `preallocate`: allocate the file's new blocks first.
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
export function resizeSync(
  h: MmapHandle,
  length: number | bigint,
  options?: PreallocateOptions | null,
): void {
  toHandle(h, "resize").resizeSync(length, options);
}

/**
 * Maps the file again at its current length (or `length` bytes), without
 * changing the file, for a reader following a writer; see
 * {@linkcode Mmap.remapSync}. Views handed out before become empty.
 *
 * @param h The mapping.
 * @param length Bytes to map from the mapping's offset; by default to the
 * file's end.
 * @throws {TypeError} When the mapping is not of a file, or copy-on-write.
 *
 * @example See what a writer appended
 * ```ts
 * import { openSync, remap } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "one");
 * using h = openSync(path);
 * await Deno.writeTextFile(path, ",two", { append: true });
 * assert.equal(h.len, 3);
 * await remap(h);
 * assert.equal(new TextDecoder().decode(h.view()), "one,two");
 * ```
 */
export function remap(
  h: MmapHandle,
  length?: number | bigint,
): Promise<void> {
  return promised(() => toHandle(h, "remap").remap(length));
}

/**
 * Like {@linkcode remap}, without a promise.
 *
 * @param h The mapping.
 * @param length Bytes to map; by default to the file's end.
 * @throws {TypeError} When the mapping is not of a file, or copy-on-write.
 *
 * @example Follow a window
 * ```ts
 * import { openSync, remapSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "header|a");
 * using h = openSync(path, { offset: 7 });
 * Deno.writeTextFileSync(path, "bc", { append: true });
 * remapSync(h);
 * assert.equal(new TextDecoder().decode(h.view()), "abc");
 * ```
 */
export function remapSync(h: MmapHandle, length?: number | bigint): void {
  toHandle(h, "remap").remapSync(length);
}
