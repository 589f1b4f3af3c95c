/**
 * Batch copies: many records in one native call. {@linkcode gatherSync}
 * copies a record from each offset of a mapping into consecutive slots of a
 * buffer, {@linkcode scatterSync} does the reverse, and the `…Ranges` forms
 * take a length per record. Each has an async form that runs a large batch
 * on a worker thread. The {@linkcode Mmap} methods of the same names call
 * the same code.
 *
 * @module
 */

import { describe, toIndex, where } from "./_args.ts";
import { promised } from "./_async.ts";
import { toHandle } from "./_handles.ts";
import {
  arrayBufferDetached,
  arrayBufferResizable,
  isArrayBuffer,
  isUint8Array,
  sharedArrayBufferGrowable,
  typedArrayBuffer,
  typedArrayKind,
  typedArrayLength,
} from "./_intrinsics.ts";
import { THREAD_COPY_BYTES } from "./_thread.ts";
import { isMapped } from "./_views.ts";
import { nativeError } from "./errors.ts";
import { Element, type Symbols } from "./ffi.ts";
import type { MmapHandle } from "./types.ts";

/**
 * Offsets (or lengths) of a batch: one number per record. Typed arrays go
 * to the native call as they are; a plain array is converted to a
 * `Float64Array` first (slower, and at most {@linkcode MAX_PLAIN_RECORDS}
 * elements).
 */
export type BatchIndices =
  | Float64Array
  | Uint32Array
  | BigUint64Array
  | readonly (number | bigint)[];

/**
 * The most elements a plain array of offsets or lengths may have (2^24):
 * converting it costs 8 bytes per element, so the bound keeps that
 * allocation to 128 MiB. Typed arrays have no such limit.
 */
export const MAX_PLAIN_RECORDS = 1 << 24;

/**
 * An async batch of at least this many records (or of at least 64 MiB)
 * runs on a worker thread, so the event loop keeps running meanwhile.
 * Measured on a busy 2-core x86_64 VM (64-byte records at random rows of a
 * warm 1 GiB file, medians of 15): 16,384 records took 0.5 ms in place,
 * 65,536 took 2–14 ms (the larger the batch, the more of its records miss
 * the TLB too), against about 10 µs for the hop to a thread.
 */
export const THREAD_BATCH_RECORDS = 65_536;

/** What a batch needs of a handle; made by the {@linkcode Mmap} methods. */
export interface BatchTarget {
  symbols: Symbols;
  id: number;
  /** The name for messages. */
  name: string;
  writable: boolean;
}

type Call = "gather" | "scatter";

/** A column of numbers as the native call takes it. */
interface Column {
  array: Float64Array | Uint32Array | BigUint64Array;
  kind: number;
  count: number;
}

const KINDS: Record<string, number> = {
  Float64Array: Element.f64,
  Uint32Array: Element.u32,
  BigUint64Array: Element.u64,
};

// Captured at load, like the intrinsics.
const { isArray } = Array;
const { hasOwn } = Object;

/**
 * Reads offsets or lengths: a typed array through the engine's own slots
 * (a subclass's shadowed `length` or a Proxy changes nothing), a plain
 * array element by element into a new `Float64Array`.
 */
function toColumn(
  value: unknown,
  what: "offsets" | "lengths",
  call: Call,
  name: string,
): Column {
  const kindName = typedArrayKind(value);
  if (kindName !== undefined && hasOwn(KINDS, kindName)) {
    const array = value as Column["array"];
    const buffer = typedArrayBuffer(array);
    if (isArrayBuffer(buffer) && arrayBufferDetached(buffer)) {
      throw new TypeError(
        `${
          where(call, name)
        }: ${what} is detached (its buffer was transferred)`,
      );
    }
    return { array, kind: KINDS[kindName], count: typedArrayLength(array) };
  }
  if (kindName === undefined && isArray(value)) {
    // May run a caller's code (a Proxy, getters): everything the call
    // depends on is read after this.
    const length = (value as readonly unknown[]).length;
    if (
      typeof length !== "number" || !(length >= 0) ||
      length > MAX_PLAIN_RECORDS
    ) {
      throw new RangeError(
        `${
          where(call, name)
        }: a plain array of ${what} may hold at most ${MAX_PLAIN_RECORDS} elements: received length ${
          describe(length)
        }; use a Float64Array, Uint32Array or BigUint64Array`,
      );
    }
    const array = new Float64Array(length);
    for (let i = 0; i < length; i++) {
      const element = (value as readonly unknown[])[i];
      array[i] = toIndex(element, `${what}[${i}]`, call, name);
    }
    return { array, kind: Element.f64, count: length };
  }
  throw new TypeError(
    `${
      where(call, name)
    }: ${what} must be a Float64Array, Uint32Array, BigUint64Array or an array of numbers: received ${
      describe(value)
    }`,
  );
}

/** Everything one native batch call takes, after the checks. */
interface Prepared {
  offsets: Column;
  lengths: Column | undefined;
  length: number;
  buffer: Uint8Array;
  bufferLength: number;
}

function prepare(
  target: BatchTarget,
  call: Call,
  offsets: unknown,
  lengthOrLengths: unknown,
  buffer: unknown,
  ranges: boolean,
): Prepared {
  const { name } = target;
  const what = call === "gather" ? "dst" : "src";
  const length = ranges ? 0 : toIndex(lengthOrLengths, "length", call, name);
  const offsetColumn = toColumn(offsets, "offsets", call, name);
  const lengths = ranges
    ? toColumn(lengthOrLengths, "lengths", call, name)
    : undefined;
  if (lengths !== undefined && lengths.count !== offsetColumn.count) {
    throw new RangeError(
      `${
        where(call, name)
      }: offsets and lengths must have as many elements: received ${offsetColumn.count} and ${lengths.count}`,
    );
  }
  // Read last, after any caller code the columns ran.
  if (!isUint8Array(buffer)) {
    throw new TypeError(
      `${where(call, name)}: ${what} must be a Uint8Array: received ${
        describe(buffer)
      }`,
    );
  }
  const bufferLength = typedArrayLength(buffer);
  if (
    length > 0 && offsetColumn.count > Math.floor(bufferLength / length)
  ) {
    throw new RangeError(
      `${
        where(call, name)
      }: ${what} holds ${bufferLength} bytes but ${offsetColumn.count} records of ${length} bytes need ${
        offsetColumn.count * length
      }; nothing was copied`,
    );
  }
  if (call === "scatter" && !target.writable) {
    throw new TypeError(
      `${
        where(call, name)
      }: the mapping is read-only: open it with openWrite() or { write: true }`,
    );
  }
  return {
    offsets: offsetColumn,
    lengths,
    length,
    buffer: buffer as Uint8Array,
    bufferLength,
  };
}

/** Runs the native batch on this thread; returns the status. */
function runHere(target: BatchTarget, call: Call, p: Prepared): number {
  const native = call === "gather"
    ? target.symbols.mmap_gather
    : target.symbols.mmap_scatter;
  return native(
    target.id,
    p.offsets.array,
    p.offsets.kind,
    p.lengths?.array ?? null,
    p.lengths?.kind ?? 0,
    p.offsets.count,
    p.length,
    p.buffer,
    p.bufferLength,
  );
}

/**
 * Whether the memory of `array` can stay put while a worker thread uses
 * it: not resizable or growable (it could move or shrink), not the memory
 * of a mapping (a close would take it away).
 */
function fixedMemory(array: ArrayBufferView): boolean {
  const buffer = typedArrayBuffer(array);
  if (isArrayBuffer(buffer)) {
    return !arrayBufferResizable(buffer) && !isMapped(buffer);
  }
  return !sharedArrayBufferGrowable(buffer);
}

/** Whether an async batch goes to a worker thread. */
function onThread(p: Prepared): boolean {
  const records = p.offsets.count;
  const large = records >= THREAD_BATCH_RECORDS ||
    p.bufferLength >= THREAD_COPY_BYTES;
  return large && fixedMemory(p.buffer) && fixedMemory(p.offsets.array) &&
    (p.lengths === undefined || fixedMemory(p.lengths.array));
}

/**
 * The batch behind every `gather…`/`scatter…` form, on the calling thread.
 * For the {@linkcode Mmap} methods; returns the number of records.
 */
export function batchSync(
  target: BatchTarget,
  call: Call,
  offsets: unknown,
  lengthOrLengths: unknown,
  buffer: unknown,
  ranges: boolean,
): number {
  const p = prepare(target, call, offsets, lengthOrLengths, buffer, ranges);
  const status = runHere(target, call, p);
  if (status !== 0) {
    throw nativeError(target.symbols, status, call, target.name);
  }
  return p.offsets.count;
}

/**
 * Like {@linkcode batchSync}, as a promise; a large batch runs on a worker
 * thread. The native registry keeps the mapping mapped until the thread is
 * done (a `close()` or `resize()` meanwhile waits for it; a forged id is
 * refused), and the columns and the buffer stay reachable from this frame.
 */
export async function batchAsync(
  target: BatchTarget,
  call: Call,
  offsets: unknown,
  lengthOrLengths: unknown,
  buffer: unknown,
  ranges: boolean,
): Promise<number> {
  const p = prepare(target, call, offsets, lengthOrLengths, buffer, ranges);
  let status: number;
  if (onThread(p)) {
    const native = call === "gather"
      ? target.symbols.mmap_gather_nonblocking
      : target.symbols.mmap_scatter_nonblocking;
    status = await native(
      target.id,
      p.offsets.array,
      p.offsets.kind,
      p.lengths?.array ?? null,
      p.lengths?.kind ?? 0,
      p.offsets.count,
      p.length,
      p.buffer,
      p.bufferLength,
    );
    // A failure's details stay with the thread that ran it: the same batch
    // again here fails the same way (before copying, for a bad argument or
    // a closed handle) and records them on this thread.
    if (status !== 0) status = runHere(target, call, p);
  } else {
    status = runHere(target, call, p);
  }
  if (status !== 0) {
    throw nativeError(target.symbols, status, call, target.name);
  }
  return p.offsets.count;
}

/**
 * Copies `length` bytes from each offset of the mapping into consecutive
 * slots of `dst`: record `i` lands at `dst[i * length]`. One native call
 * for the whole batch, with the next records' memory prefetched while one
 * is copied: the fastest way to read many small records at scattered
 * offsets (rows of an embedding table, index entries).
 *
 * Every offset is checked before any byte is copied: when one is bad,
 * nothing is copied and the error names its index.
 *
 * @param h The mapping.
 * @param offsets Where each record starts: a `Float64Array`, `Uint32Array`
 * or `BigUint64Array` (as they are), or an array of numbers (converted
 * first; at most {@linkcode MAX_PLAIN_RECORDS}).
 * @param length Bytes per record.
 * @param dst Where the records go, one after another; it must hold
 * `offsets.length * length` bytes (more is left as it was).
 * @returns The number of records copied (`offsets.length`).
 * @throws {RangeError} When an offset is not a whole number from 0 to
 * 2^53 - 1, a record reaches past the mapping, or `dst` is too small;
 * nothing is copied.
 * @throws {TypeError} When an argument has the wrong type, or `offsets` is
 * detached.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 * @throws {Deno.errors.UnexpectedEof} When the file was truncated under the
 * mapping and a record lost its bytes.
 *
 * @example Read rows of a table at scattered positions
 * ```ts
 * import { gatherSync, openSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "aaaabbbbccccdddd");
 * using h = openSync(path);
 * const rows = new Uint8Array(8);
 * assert.equal(gatherSync(h, new Uint32Array([12, 4]), 4, rows), 2);
 * assert.equal(new TextDecoder().decode(rows), "ddddbbbb");
 * ```
 */
export function gatherSync(
  h: MmapHandle,
  offsets: BatchIndices,
  length: number,
  dst: Uint8Array,
): number {
  return toHandle(h, "gather").gatherSync(offsets, length, dst);
}

/**
 * Like {@linkcode gatherSync}, as a promise. A batch of 65,536 records or
 * more (or 64 MiB or more) runs on a worker thread, so the event loop keeps
 * running: leave `offsets` and `dst` alone until the promise settles.
 *
 * @param h The mapping.
 * @param offsets Where each record starts.
 * @param length Bytes per record.
 * @param dst Where the records go, one after another.
 * @returns The number of records copied.
 * @throws {RangeError} As {@linkcode gatherSync} (the promise rejects).
 *
 * @example Gather off the event loop
 * ```ts
 * import { gather, openSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "0123456789");
 * using h = openSync(path);
 * const out = new Uint8Array(4);
 * assert.equal(await gather(h, new Float64Array([8, 0]), 2, out), 2);
 * assert.equal(new TextDecoder().decode(out), "8901");
 * ```
 */
export function gather(
  h: MmapHandle,
  offsets: BatchIndices,
  length: number,
  dst: Uint8Array,
): Promise<number> {
  return promised(() => toHandle(h, "gather").gather(offsets, length, dst));
}

/**
 * Copies consecutive `length`-byte records of `src` to the offsets of the
 * mapping: record `i` (`src[i * length]`…) goes to `offsets[i]`, in order
 * (a later record wins where two overlap). All or nothing: every offset is
 * checked before any byte is written.
 *
 * @param h The mapping; it must be writable.
 * @param offsets Where each record goes.
 * @param length Bytes per record.
 * @param src The records, one after another.
 * @returns The number of records written.
 * @throws {RangeError} When an offset is bad, a record reaches past the
 * mapping, or `src` is too small; nothing is written.
 * @throws {TypeError} When the mapping is read-only, or an argument has the
 * wrong type.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Update rows in place
 * ```ts
 * import { openSync, scatterSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "........");
 * {
 *   using h = openSync(path, { write: true });
 *   scatterSync(h, [6, 0], 2, new TextEncoder().encode("zzaa"));
 * }
 * assert.equal(Deno.readTextFileSync(path), "aa....zz");
 * ```
 */
export function scatterSync(
  h: MmapHandle,
  offsets: BatchIndices,
  length: number,
  src: Uint8Array,
): number {
  return toHandle(h, "scatter").scatterSync(offsets, length, src);
}

/**
 * Like {@linkcode scatterSync}, as a promise; a large batch runs on a
 * worker thread (leave `offsets` and `src` alone until it settles).
 *
 * @param h The mapping; it must be writable.
 * @param offsets Where each record goes.
 * @param length Bytes per record.
 * @param src The records, one after another.
 * @returns The number of records written.
 *
 * @example Scatter records
 * ```ts
 * import { openSync, scatter } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "0000");
 * using h = openSync(path, { write: true });
 * assert.equal(await scatter(h, new Uint32Array([3]), 1, new Uint8Array([49])), 1);
 * assert.equal(new TextDecoder().decode(h.view()), "0001");
 * ```
 */
export function scatter(
  h: MmapHandle,
  offsets: BatchIndices,
  length: number,
  src: Uint8Array,
): Promise<number> {
  return promised(() => toHandle(h, "scatter").scatter(offsets, length, src));
}

/**
 * The variable-length {@linkcode gatherSync}: record `i` is `lengths[i]`
 * bytes at `offsets[i]`, and the records land one after another in `dst`
 * (record `i` starts at the sum of the lengths before it). All or nothing,
 * as for {@linkcode gatherSync}.
 *
 * @param h The mapping.
 * @param offsets Where each record starts.
 * @param lengths Bytes in each record (as many elements as `offsets`; the
 * same element types).
 * @param dst Where the records go; it must hold the sum of `lengths`.
 * @returns The number of records copied.
 * @throws {RangeError} When an offset or length is bad, a record reaches
 * past the mapping, the columns differ in length, or `dst` is too small;
 * nothing is copied.
 *
 * @example Read variable-length entries
 * ```ts
 * import { gatherRangesSync, openSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "hello, mapped world");
 * using h = openSync(path);
 * const out = new Uint8Array(10);
 * gatherRangesSync(h, [14, 0], [5, 5], out);
 * assert.equal(new TextDecoder().decode(out), "worldhello");
 * ```
 */
export function gatherRangesSync(
  h: MmapHandle,
  offsets: BatchIndices,
  lengths: BatchIndices,
  dst: Uint8Array,
): number {
  return toHandle(h, "gather").gatherRangesSync(offsets, lengths, dst);
}

/**
 * Like {@linkcode gatherRangesSync}, as a promise; a large batch runs on a
 * worker thread (leave the arguments alone until it settles).
 *
 * @param h The mapping.
 * @param offsets Where each record starts.
 * @param lengths Bytes in each record.
 * @param dst Where the records go.
 * @returns The number of records copied.
 *
 * @example Gather ranges
 * ```ts
 * import { gatherRanges, openSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "abcdef");
 * using h = openSync(path);
 * const out = new Uint8Array(3);
 * await gatherRanges(h, new Uint32Array([5, 0]), new Uint32Array([1, 2]), out);
 * assert.equal(new TextDecoder().decode(out), "fab");
 * ```
 */
export function gatherRanges(
  h: MmapHandle,
  offsets: BatchIndices,
  lengths: BatchIndices,
  dst: Uint8Array,
): Promise<number> {
  return promised(() =>
    toHandle(h, "gather").gatherRanges(offsets, lengths, dst)
  );
}

/**
 * The variable-length {@linkcode scatterSync}: record `i` is the next
 * `lengths[i]` bytes of `src`, written at `offsets[i]`. All or nothing.
 *
 * @param h The mapping; it must be writable.
 * @param offsets Where each record goes.
 * @param lengths Bytes in each record.
 * @param src The records, one after another.
 * @returns The number of records written.
 * @throws {RangeError} As {@linkcode gatherRangesSync}; nothing is written.
 * @throws {TypeError} When the mapping is read-only.
 *
 * @example Write variable-length entries
 * ```ts
 * import { openSync, scatterRangesSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "------");
 * {
 *   using h = openSync(path, { write: true });
 *   scatterRangesSync(h, [0, 4], [3, 2], new TextEncoder().encode("abcde"));
 * }
 * assert.equal(Deno.readTextFileSync(path), "abc-de");
 * ```
 */
export function scatterRangesSync(
  h: MmapHandle,
  offsets: BatchIndices,
  lengths: BatchIndices,
  src: Uint8Array,
): number {
  return toHandle(h, "scatter").scatterRangesSync(offsets, lengths, src);
}

/**
 * Like {@linkcode scatterRangesSync}, as a promise; a large batch runs on
 * a worker thread (leave the arguments alone until it settles).
 *
 * @param h The mapping; it must be writable.
 * @param offsets Where each record goes.
 * @param lengths Bytes in each record.
 * @param src The records, one after another.
 * @returns The number of records written.
 *
 * @example Scatter ranges
 * ```ts
 * import { openSync, scatterRanges } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "xxxx");
 * using h = openSync(path, { write: true });
 * await scatterRanges(h, [1], [2], new Uint8Array([65, 66]));
 * assert.equal(new TextDecoder().decode(h.view()), "xABx");
 * ```
 */
export function scatterRanges(
  h: MmapHandle,
  offsets: BatchIndices,
  lengths: BatchIndices,
  src: Uint8Array,
): Promise<number> {
  return promised(() =>
    toHandle(h, "scatter").scatterRanges(offsets, lengths, src)
  );
}
