/**
 * Changing a writable mapping's protection in place:
 * {@linkcode protect}, which the {@linkcode Mmap.protect} method
 * implements (native `mmap_protect`: `mprotect`, `VirtualProtect`).
 *
 * @module
 */

import { describe, where } from "./_args.ts";
import { toHandle } from "./_handles.ts";
import { Protection } from "./ffi.ts";
import type { MmapHandle } from "./types.ts";

/**
 * A mapping's protection: `"read"` (read-only) or `"readwrite"` (writable
 * as it was opened).
 */
export type ProtectMode = "read" | "readwrite";

/** A protection's native number, after checking it. */
export function toProtection(
  mode: unknown,
  call: string,
  name: string,
): number {
  if (mode === "read") return Protection.read;
  if (mode === "readwrite") return Protection.readWrite;
  throw new TypeError(
    `${where(call, name)}: mode must be "read" or "readwrite": received ${
      describe(mode)
    }`,
  );
}

/**
 * Makes a writable mapping read-only (`"read"`), or writable again
 * (`"readwrite"`), in place: the pages, their contents and the views over
 * them stay where they are (memmap2's `make_read_only` / `make_mut`). Use it
 * to freeze a buffer after filling it.
 *
 * While a mapping is read-only, `h.writable` is `false`, `write` and
 * `writeSync` throw `TypeError` (nothing is written) and `resize` throws
 * `TypeError`. A store through a {@linkcode view} of it is a fault the
 * process cannot survive: on Linux and macOS it raises SIGSEGV (the
 * package's SIGBUS guard does not, and cannot soundly, catch it: there is no
 * way to turn a fault in the middle of JavaScript into an exception), on
 * Windows an access violation; either ends the process. Only views are
 * affected: every call of this package checks first.
 *
 * Only mappings opened writable (`openWrite`, `{ write: true }`,
 * `{ private: true }`, anonymous and shared memory) can change protection.
 * The call waits for copies in progress on other threads (an async
 * `write()` of 64 MiB or more) to finish first.
 *
 * @param h The mapping.
 * @param mode `"read"` or `"readwrite"`.
 * @throws {TypeError} When `mode` is neither, or the mapping was opened
 * read-only.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Freeze a buffer after filling it
 * ```ts
 * import { openWriteWithSizeSync, protect } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * using m = openWriteWithSizeSync(path, 4);
 * m.writeSync(new Uint8Array([1, 2, 3, 4]));
 * protect(m, "read");
 * assert.equal(m.writable, false);
 * assert.throws(() => m.writeSync(new Uint8Array([9])), TypeError);
 * protect(m, "readwrite");
 * m.writeSync(new Uint8Array([9]));
 * ```
 */
export function protect(h: MmapHandle, mode: ProtectMode): void {
  toHandle(h, "protect").protect(mode);
}
