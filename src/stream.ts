/**
 * Byte streams over a mapping, for piping into a `Response`, a file or a
 * compression stream.
 *
 * @module
 */

import { toFlag, toIndex, toOptions, toRange } from "./_args.ts";
import {
  typedArrayBuffer,
  typedArrayByteLength,
  typedArrayByteOffset,
} from "./_intrinsics.ts";
import { closedError } from "./errors.ts";
import { handleName, toHandle } from "./_handles.ts";
import type { Mmap } from "./mmap.ts";
import type { MmapHandle } from "./types.ts";

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
  /**
   * Close the mapping when the stream ends, fails or is cancelled, so that
   * the stream owns it: `return new Response(stream(h, { autoClose: true
   * }))` from a request handler sends the whole file and then lets it go
   * (Node's `fs.createReadStream` has the same option).
   *
   * @default {false}
   */
  autoClose?: boolean;
}

/**
 * The stream behind {@linkcode Mmap.stream}: each pull is one `readSync`
 * straight into the reader's buffer (an auto-allocated one when the reader
 * brings none).
 */
export function byteStream(
  m: Mmap,
  options: unknown,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const name = handleName(m);
  // Each option is read once: a getter cannot answer twice.
  const { offset, length, chunkSize: chunk, autoClose: own } = toOptions<
    StreamOptions
  >(
    options,
    "stream",
    name,
  );
  const autoClose = toFlag(own, "autoClose", "stream");
  if (m.closed) throw closedError("stream", name);
  // Only a missing option takes its default: null is refused, as everywhere.
  const [at, count] = toRange(
    offset === undefined ? 0 : offset,
    length,
    m.len,
    "stream",
    name,
  );
  const chunkSize = toIndex(
    chunk === undefined ? 65536 : chunk,
    "chunkSize",
    "stream",
    name,
  );
  if (chunkSize === 0) {
    throw new RangeError(`mmap stream "${name}": chunkSize must be at least 1`);
  }
  let position = at;
  const end = at + count;
  // An owned mapping is closed once, whichever way the stream stops.
  const release = () => {
    if (autoClose) m.close();
  };
  return new ReadableStream({
    type: "bytes",
    // Never more than the range: a huge chunkSize would fail to allocate.
    autoAllocateChunkSize: Math.max(1, Math.min(chunkSize, count)),
    start: (controller) => {
      if (count === 0) {
        controller.close();
        release();
      }
    },
    cancel: release,
    pull: (controller) => {
      try {
        fill(controller);
      } catch (error) {
        release();
        throw error;
      }
    },
  });

  function fill(controller: ReadableByteStreamController): void {
    // With autoAllocateChunkSize every pull comes with a buffer to fill.
    // The view is the reader's: read it through the built-in getters.
    const request = controller.byobRequest!;
    const target = request.view!;
    const length = Math.min(typedArrayByteLength(target), end - position);
    const room = new Uint8Array(
      typedArrayBuffer(target),
      typedArrayByteOffset(target),
      length,
    );
    m.readSync(room, position);
    position += length;
    request.respond(length);
    if (position >= end) {
      controller.close();
      release();
    }
  }
}

/**
 * A byte stream over a range of the mapping; see {@linkcode Mmap.stream}.
 *
 * @param h The mapping.
 * @param options Range, chunk size, and `autoClose` to close the mapping
 * when the stream ends, fails or is cancelled.
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
 *
 * @example Let the stream own the mapping
 * ```ts
 * import { openSync, stream } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "sent in full");
 * const h = openSync(path);
 * const body = new Response(stream(h, { autoClose: true }));
 * assert.equal(await body.text(), "sent in full");
 * assert.equal(h.closed, true);
 * ```
 */
export function stream(
  h: MmapHandle,
  options?: StreamOptions | null,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  return toHandle(h, "stream").stream(options);
}
