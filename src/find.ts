/**
 * Finding a byte sequence in a mapping without copying it out:
 * {@linkcode indexOf} and {@linkcode lastIndexOf}, searched natively
 * (`ffi/src/find.rs`: SSE2 `memchr` for one byte, Two-Way for longer
 * patterns, linear whatever the pattern). The {@linkcode Mmap} methods of
 * the same names call {@linkcode search}.
 *
 * @module
 */

import { describe, where } from "./_args.ts";
import {
  arrayBufferDetached,
  isArrayBuffer,
  isUint8Array,
  typedArrayBuffer,
  typedArrayLength,
} from "./_intrinsics.ts";
import { toHandle } from "./_handles.ts";
import { nativeError } from "./errors.ts";
import type { Symbols } from "./ffi.ts";
import type { MmapHandle } from "./types.ts";

/**
 * What can be searched for: a byte sequence (`Uint8Array`), one byte (a
 * whole number from 0 to 255), or a string, searched as its UTF-8 bytes.
 */
export type Pattern = Uint8Array | number | string;

// Captured at load: replacing TextEncoder.prototype.encode later changes
// nothing here.
const encode: (text: string) => Uint8Array = TextEncoder.prototype.encode
  .bind(new TextEncoder());
const oneByte = new Uint8Array(1);
const out = new Float64Array(1);

/** The pattern's bytes, after checking it. */
function toPattern(pattern: unknown, call: string, name: string): Uint8Array {
  if (typeof pattern === "string") return encode(pattern);
  if (typeof pattern === "number") {
    if (pattern >= 0 && pattern <= 255 && pattern % 1 === 0) {
      oneByte[0] = pattern;
      return oneByte;
    }
    throw new RangeError(
      `${
        where(call, name)
      }: a byte to search for must be a whole number from 0 to 255: received ${
        describe(pattern)
      }`,
    );
  }
  if (isUint8Array(pattern)) {
    const buffer = typedArrayBuffer(pattern);
    if (isArrayBuffer(buffer) && arrayBufferDetached(buffer)) {
      throw new TypeError(
        `${where(call, name)}: the pattern's buffer is detached`,
      );
    }
    return pattern;
  }
  throw new TypeError(
    `${
      where(call, name)
    }: pattern must be a Uint8Array, a byte (0 to 255) or a string: received ${
      describe(pattern)
    }`,
  );
}

/**
 * `from` as `Uint8Array.prototype.indexOf` reads it (ToIntegerOrInfinity),
 * without calling user code: `undefined` is `fallback`, NaN is 0, a fraction
 * is truncated toward zero.
 */
function toFrom(
  from: unknown,
  fallback: number,
  call: string,
  name: string,
): number {
  if (from === undefined) return fallback;
  if (typeof from === "bigint") {
    // Beyond 2^53 every value clamps the same way.
    return Number(from);
  }
  if (typeof from !== "number") {
    throw new TypeError(
      `${where(call, name)}: from must be a number or a bigint: received ${
        describe(from)
      }`,
    );
  }
  if (from !== from) return 0; // NaN
  return from < 0 ? -Math.floor(-from) : Math.floor(from);
}

/**
 * Searches mapping `id` (`size` bytes) for `pattern`: the first match that
 * starts at or after `from` (`reverse` false), or the last one that starts at
 * or before it (`reverse` true). For the {@linkcode Mmap} methods, which
 * have checked that the handle is open.
 *
 * @returns The match's position in the mapping, or -1.
 */
export function search(
  symbols: Symbols,
  id: number,
  size: number,
  name: string,
  pattern: unknown,
  from: unknown,
  reverse: boolean,
): number {
  const call = reverse ? "lastIndexOf" : "indexOf";
  const bytes = toPattern(pattern, call, name);
  const m = typedArrayLength(bytes);
  let start: number;
  let end: number;
  if (reverse) {
    // The last start allowed, as in Uint8Array.prototype.lastIndexOf:
    // negative counts from the end; below 0 there is nothing to find.
    let k = toFrom(from, size, call, name);
    k = k < 0 ? size + k : Math.min(k, size);
    if (k < 0) return -1;
    start = 0;
    end = Math.min(k + m, size);
  } else {
    // The first start allowed, as in Uint8Array.prototype.indexOf.
    let k = toFrom(from, 0, call, name);
    k = k < 0 ? Math.max(size + k, 0) : Math.min(k, size);
    if (m > 0 && k >= size) return -1;
    start = k;
    end = size;
  }
  const find = symbols.mmap_find;
  if (find === null) {
    throw new Deno.errors.NotSupported(
      `${where(call, name)}: the native library predates ${call}; update it`,
    );
  }
  const status = find(id, start, end - start, bytes, m, reverse ? 1 : 0, out);
  if (status !== 0) throw nativeError(symbols, status, call, name);
  return out[0];
}

/**
 * The position of the first occurrence of `pattern` in the mapping at or
 * after `from`, or -1: like `Uint8Array.prototype.indexOf`, for a byte
 * sequence, searched natively over the mapped bytes without copying them
 * (about as fast as `memchr`/`memmem`; linear time whatever the pattern).
 * Runs on the calling thread.
 *
 * `from` is read as `Uint8Array.prototype.indexOf` reads it: by default 0;
 * a negative value counts from the end (`len + from`, at least 0); a
 * fraction is truncated toward zero, NaN is 0; at or past the end nothing is
 * found. An empty pattern is found at `from` (clamped to `[0, len]`), as by
 * `String.prototype.indexOf`. Positions are in the mapping (a window's
 * first byte is 0).
 *
 * @param h The mapping.
 * @param pattern A `Uint8Array`, one byte (0 to 255), or a string (its
 * UTF-8 bytes).
 * @param from Where the search starts.
 * @returns The position, or -1.
 * @throws {TypeError} When `pattern` or `from` has the wrong type, or the
 * pattern's buffer is detached.
 * @throws {RangeError} When a byte is not a whole number from 0 to 255.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 * @throws {Deno.errors.UnexpectedEof} When the file was truncated under the
 * mapping and the search reached the lost pages.
 *
 * @example Find a line break
 * ```ts
 * import { indexOf, lastIndexOf, openSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "one\ntwo\nthree");
 * using m = openSync(path);
 * assert.equal(indexOf(m, 0x0a), 3);
 * assert.equal(indexOf(m, "\n", 4), 7);
 * assert.equal(lastIndexOf(m, new TextEncoder().encode("t")), 8);
 * assert.equal(indexOf(m, "four"), -1);
 * ```
 */
export function indexOf(
  h: MmapHandle,
  pattern: Pattern,
  from?: number | bigint,
): number {
  return toHandle(h, "indexOf").indexOf(pattern, from);
}

/**
 * The position of the last occurrence of `pattern` that starts at or
 * before `from`, or -1: like `Uint8Array.prototype.lastIndexOf`, for a byte
 * sequence, searched natively without copying.
 *
 * `from` is read as `Uint8Array.prototype.lastIndexOf` reads it: by default
 * the end; a negative value counts from the end (`len + from`; below 0
 * nothing is found); a fraction is truncated toward zero, NaN is 0. An
 * empty pattern is found at `from` clamped to `[0, len]` (by default `len`).
 *
 * @param h The mapping.
 * @param pattern A `Uint8Array`, one byte (0 to 255), or a string.
 * @param from The last position a match may start at.
 * @returns The position, or -1.
 * @throws {TypeError} When `pattern` or `from` has the wrong type.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Find the last record separator
 * ```ts
 * import { lastIndexOf, openSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "a;b;c");
 * using m = openSync(path);
 * assert.equal(lastIndexOf(m, ";"), 3);
 * assert.equal(lastIndexOf(m, ";", 2), 1);
 * assert.equal(lastIndexOf(m, ";", -5), -1);
 * ```
 */
export function lastIndexOf(
  h: MmapHandle,
  pattern: Pattern,
  from?: number | bigint,
): number {
  return toHandle(h, "lastIndexOf").lastIndexOf(pattern, from);
}
