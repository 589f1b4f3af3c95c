/**
 * Memory-mapped file I/O for Deno, over a small native library (Rust, via
 * FFI).
 *
 * Map a file, then copy in and out of it with one native `memcpy` per call
 * ({@linkcode read}, {@linkcode write}, and their `…Sync` forms), or work on
 * its bytes in place through a zero-copy {@linkcode view}. The memory behind a
 * view lives as long as the last reference to it, so a view never dangles,
 * every bad argument throws a typed error, and
 * Deno's read/write permissions are checked before any file is opened.
 *
 * Find byte sequences without copying ({@linkcode indexOf},
 * {@linkcode lastIndexOf}), freeze a filled buffer ({@linkcode protect}),
 * and see where a window lies in the file (`h.offset`, `h.fileSize()`).
 *
 * Run with these permissions (Linux; on macOS `--allow-env=HOME`, on
 * Windows `--allow-env=LOCALAPPDATA`). The first run downloads the native
 * library into a per-user cache:
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env=HOME,XDG_CACHE_HOME --allow-net main.ts
 * ```
 *
 * Later runs load it from the cache:
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env=HOME,XDG_CACHE_HOME main.ts
 * ```
 *
 * A scoped `--allow-read` must also cover the library's location (the cache
 * directory, e.g. `--allow-read=./data,$HOME/.cache/mmap`); when a
 * permission stops the loader, its error names the exact flag.
 * `--unstable-ffi` is not needed on Deno 2.
 *
 * ```ts
 * import { openSync, openWriteWithSize } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = (await Deno.makeTempDir()) + "/data.bin";
 * {
 *   await using out = await openWriteWithSize(path, 1024);
 *   await out.write(new TextEncoder().encode("hello"), 100);
 *   await out.flush();
 * }
 * using m = openSync(path);
 * assert.equal(new TextDecoder().decode(m.view(100, 5)), "hello");
 * ```
 *
 * @module
 */

export { Mmap } from "./src/mmap.ts";
export {
  type Advice,
  type FlushMode,
  type MappingKind,
  type MmapHandle,
  type PreallocateOptions,
} from "./src/types.ts";
export {
  open,
  type OpenOptions,
  openSync,
  openWrite,
  openWriteSync,
  openWriteWithSize,
  openWriteWithSizeSync,
} from "./src/open.ts";
export {
  advise,
  close,
  closeSync,
  flush,
  flushSync,
  lock,
  read,
  readSync,
  residency,
  resize,
  resizeSync,
  sync,
  syncSync,
  unlock,
  view,
  write,
  writeSync,
} from "./src/functions.ts";
export { openAnonymous, openAnonymousSync } from "./src/anonymous.ts";
export {
  openShared,
  openSharedSync,
  type SharedOptions,
  unlinkShared,
  unlinkSharedSync,
} from "./src/shared.ts";
export { stream, type StreamOptions } from "./src/stream.ts";
export { type MappingInfo, type MappingStats, stats } from "./src/stats.ts";
export { MmapError } from "./src/errors.ts";
export {
  type BatchIndices,
  gather,
  gatherRanges,
  gatherRangesSync,
  gatherSync,
  MAX_PLAIN_RECORDS,
  scatter,
  scatterRanges,
  scatterRangesSync,
  scatterSync,
  THREAD_BATCH_RECORDS,
} from "./src/batch.ts";
export { type PlatformAsset, PLATFORMS } from "./src/platform.ts";
export { indexOf, lastIndexOf, type Pattern } from "./src/find.ts";
export { protect, type ProtectMode } from "./src/protect.ts";
export { remap, remapSync } from "./src/functions.ts";
export {
  DEFAULT_SPIN,
  notify,
  wait,
  WAIT_CELL_BYTES,
  waitAsync,
  type WaitOptions,
  type WaitOutcome,
} from "./src/wait.ts";
