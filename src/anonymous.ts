/**
 * Anonymous memory: zeroed pages backed by no file.
 *
 * @module
 */

import { toIndex } from "./_args.ts";
import { library, librarySync, type Symbols } from "./ffi.ts";
import { adopt } from "./_handles.ts";
import type { Mmap } from "./mmap.ts";

const META = {
  path: "",
  name: "<anonymous>",
  writable: true,
  kind: "anonymous",
} as const;

function anonymous(symbols: Symbols, size: unknown): Mmap {
  const bytes = toIndex(size, "size", "openAnonymous");
  return adopt(
    symbols,
    "openAnonymous",
    META,
    (out) => symbols.mmap_anonymous(bytes, out),
  );
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
  return anonymous(await library(), size);
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
  return anonymous(librarySync(), size);
}
