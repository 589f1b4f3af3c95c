/**
 * Memory-mapped file I/O for Deno, over a small native library (Rust, via
 * FFI).
 *
 * Map a file, then copy in and out of it with one native `memcpy` per call
 * ({@linkcode read}, {@linkcode write}, and their `…Sync` forms), or work on
 * its bytes in place through a zero-copy {@linkcode view}. Views die with the
 * mapping instead of dangling, every bad argument throws a typed error, and
 * Deno's read/write permissions are checked before any file is opened.
 *
 * Run with `--allow-ffi --unstable-ffi --allow-read --allow-write` (plus
 * `--allow-net` the first time, when the native library is downloaded).
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

export {
  type Advice,
  advise,
  close,
  closeSync,
  flush,
  type FlushMode,
  flushSync,
  lock,
  type MappingInfo,
  type MappingKind,
  type MappingStats,
  Mmap,
  type MmapHandle,
  open,
  openAnonymous,
  openAnonymousSync,
  type OpenOptions,
  openShared,
  openSharedSync,
  openSync,
  openWrite,
  openWriteSync,
  openWriteWithSize,
  openWriteWithSizeSync,
  read,
  readSync,
  residency,
  resize,
  resizeSync,
  type SharedOptions,
  stats,
  stream,
  type StreamOptions,
  sync,
  syncSync,
  unlinkShared,
  unlinkSharedSync,
  unlock,
  view,
  write,
  writeSync,
} from "./src/mmap.ts";
export { MmapError } from "./src/errors.ts";
export { type PlatformAsset, PLATFORMS } from "./src/platform.ts";
