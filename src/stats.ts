/**
 * What is mapped right now, for hunting leaks.
 *
 * @module
 */

import { librarySync } from "./ffi.ts";
import { liveMappings } from "./_handles.ts";
import type { MappingKind } from "./types.ts";

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
  return { count: out[0], bytes: out[1], mappings: liveMappings() };
}
