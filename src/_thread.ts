/**
 * Large async copies on a worker thread, so that the event loop keeps
 * running while they copy. Private to the package.
 *
 * @module
 */

import {
  arrayBufferResizable,
  isArrayBuffer,
  isUint8Array,
  sharedArrayBufferGrowable,
  typedArrayBuffer,
  typedArrayLength,
} from "./_intrinsics.ts";
import { isMapped } from "./_views.ts";
import type { Symbols } from "./ffi.ts";

/**
 * Async reads and writes of at least this many bytes run on a worker
 * thread. Measured on a 2-core x86_64 VM (README, "Performance"): the hop to
 * a thread and back costs about 10 µs; an awaited 64 MiB copy in place stalls
 * the event loop for 5.6 ms, on a thread 2.7 ms (256 MiB: 19 ms against
 * 5 ms), while at 16 MiB the gain is within the noise.
 */
export const THREAD_COPY_BYTES = 64 * 1024 * 1024;

/**
 * Whether an async copy of `bytes` goes to a worker thread: it is large, and
 * its memory cannot go away or move while the thread copies. A resizable
 * `ArrayBuffer` or a growable `SharedArrayBuffer` can change under the copy,
 * and a view of a mapping loses its memory when that mapping is closed, so
 * these are copied in place, as `readSync` and `writeSync` would. Everything
 * is read through the built-in getters (see `_intrinsics.ts`).
 */
export function onThread(bytes: unknown): boolean {
  if (!isUint8Array(bytes) || typedArrayLength(bytes) < THREAD_COPY_BYTES) {
    return false;
  }
  const buffer = typedArrayBuffer(bytes);
  if (isArrayBuffer(buffer)) {
    return !arrayBufferResizable(buffer) && !isMapped(buffer);
  }
  return !sharedArrayBufferGrowable(buffer);
}

/**
 * Copies `length` bytes between mapping `id` at `offset` and `buffer` on a
 * worker thread (`nonblocking` symbols), after the caller has checked the
 * arguments. The native registry keeps the mapping mapped until the copy
 * ends (a `close()` meanwhile waits for it), and `buffer` stays reachable
 * from this frame until then.
 *
 * @returns 0, or the status of the same copy repeated on this thread: a
 * failure's details are kept per thread, and the repeat fails before
 * copying, as the first did, so that they can be read here.
 */
export async function copyOnThread(
  symbols: Symbols,
  call: "read" | "write",
  id: number,
  offset: number,
  buffer: Uint8Array,
  length: number,
): Promise<number> {
  const status = call === "read"
    ? await symbols.mmap_read_nonblocking(id, offset, buffer, length)
    : await symbols.mmap_write_nonblocking(id, offset, buffer, length);
  if (status === 0) return 0;
  return call === "read"
    ? symbols.mmap_read(id, offset, buffer, length)
    : symbols.mmap_write(id, offset, buffer, length);
}
