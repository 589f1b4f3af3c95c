/**
 * Opening files: {@linkcode open} and the seed's `openWrite` and
 * `openWriteWithSize`, each with its `…Sync` form. Every one builds a
 * `Request` (arguments checked, Deno's permissions asked) before the
 * library is loaded, so `--allow-ffi` without read permission fails with
 * NotCapable rather than a library lookup error, and then makes one native
 * call in `map`.
 *
 * @module
 */

import { toFlag, toIndex, toOptions, toPath, where } from "./_args.ts";
import { requireAccess } from "./_permissions.ts";
import { library, librarySync, MapFlag, type Symbols } from "./ffi.ts";
import { adopt } from "./_handles.ts";
import type { Mmap } from "./mmap.ts";
import type { PreallocateOptions } from "./types.ts";

/** Options for {@linkcode open} and {@linkcode openSync}. */
export interface OpenOptions {
  /**
   * Map the file read-write: writes reach the file (shared mapping).
   * Needs write permission for the file.
   *
   * @default {false}
   */
  write?: boolean;
  /**
   * Create the file when it does not exist. Needs `write`.
   *
   * @default {false}
   */
  create?: boolean;
  /**
   * Grow the file to at least this many bytes before mapping; a larger file
   * is never shrunk. Needs `write`.
   */
  size?: number | bigint;
  /**
   * First byte of the file to map. Any offset works: alignment is handled
   * internally, and the handle shows exactly the bytes from here.
   *
   * @default {0}
   */
  offset?: number | bigint;
  /**
   * Number of bytes to map from `offset`. By default, to the end of the file.
   * The range must lie within the file (after growing it to `size`).
   */
  length?: number | bigint;
  /**
   * Allocate the file's blocks on disk now (see
   * {@linkcode PreallocateOptions.preallocate}), up to its length after
   * `size`: a full disk then fails this call with an out-of-space
   * `MmapError` (code ENOSPC) and leaves the file as it was, instead of
   * failing a later write through the mapping. Needs `write`.
   *
   * @default {false}
   */
  preallocate?: boolean;
  /**
   * Copy-on-write: the mapping can be written, but writes stay in this
   * process and never reach the file. Needs only read permission. Cannot be
   * combined with `write`, `create` or `size`.
   *
   * @default {false}
   */
  private?: boolean;
  /**
   * Read the whole range into memory now (MAP_POPULATE on Linux, read-ahead
   * advice elsewhere) instead of on first touch.
   *
   * @default {false}
   */
  populate?: boolean;
}

/** The seed's calls that have a native export of their own. */
type SeedCall = "open" | "openWrite" | "openWriteWithSize";

/** A checked request to map a file: everything the native call needs. */
interface Request {
  /** The public call, for messages. */
  call: string;
  /** The path as the user gave it, for messages. */
  name: string;
  /** The absolute path to open. */
  path: string;
  /** `MapFlag` bits. */
  flags: number;
  size: number;
  offset: number;
  length: number;
  /**
   * The seed's call this request is exactly, which maps through the seed's
   * own export (`mmap_open`, `mmap_open_write`, `mmap_open_write_with_size`);
   * other requests go through `mmap_map`.
   */
  seed: SeedCall | undefined;
}

const WRITE: OpenOptions = { write: true };

/** Checks a path and options, and asks Deno's permissions. */
function request(path: unknown, options: unknown, call: string): Request {
  const [name, absolute] = toPath(path, call);
  // Each option is read once: a getter cannot answer two checks differently.
  const o = toOptions<OpenOptions>(options, call, name);
  const { size: sizeOption, offset: offsetOption, length: lengthOption } = o;
  const write = toFlag(o.write, "write", call);
  const create = toFlag(o.create, "create", call);
  const copyOnWrite = toFlag(o.private, "private", call);
  let flags = 0;
  if (write) flags |= MapFlag.write;
  if (create) flags |= MapFlag.create;
  if (copyOnWrite) flags |= MapFlag.private;
  if (toFlag(o.populate, "populate", call)) flags |= MapFlag.populate;
  const preallocate = toFlag(o.preallocate, "preallocate", call);
  if (preallocate) flags |= MapFlag.preallocate;
  const sized = sizeOption !== undefined;
  let size = 0;
  if (sized) {
    size = toIndex(sizeOption, "size", call, name);
    flags |= MapFlag.grow;
  }
  const offset = offsetOption === undefined
    ? 0
    : toIndex(offsetOption, "offset", call, name);
  let length = 0;
  if (lengthOption !== undefined) {
    length = toIndex(lengthOption, "length", call, name);
    flags |= MapFlag.length;
  }
  if (copyOnWrite && (write || create || sized)) {
    throw new TypeError(
      `${
        where(call, name)
      }: option "private" (copy-on-write) cannot be combined with "write", "create" or "size"`,
    );
  }
  if (!write && (create || sized)) {
    throw new TypeError(
      `${where(call, name)}: options "create" and "size" need "write: true"`,
    );
  }
  if (preallocate && (!write || copyOnWrite)) {
    throw new TypeError(
      `${where(call, name)}: option "preallocate" needs "write: true"`,
    );
  }
  requireAccess(absolute, write, call, name);
  const seed = call === "open"
    ? (options === undefined || options === null ? "open" : undefined)
    : preallocate
    ? undefined
    : call as SeedCall;
  return { call, name, path: absolute, flags, size, offset, length, seed };
}

/** The request of `openWriteWithSize`: its size is checked first. */
function sizedRequest(
  path: unknown,
  size: unknown,
  options: unknown,
): Request {
  const call = "openWriteWithSize";
  const [name] = toPath(path, call);
  const bytes = toIndex(size, "size", call, name);
  const o = toOptions<PreallocateOptions>(options, call, name);
  const preallocate = toFlag(o.preallocate, "preallocate", call);
  return request(
    path,
    { write: true, create: true, size: bytes, preallocate },
    call,
  );
}

const encoder = new TextEncoder();

/** Maps the file of a checked request: one native call. */
function map(symbols: Symbols, req: Request): Mmap {
  const path = encoder.encode(req.path);
  const meta = {
    path: req.path,
    name: req.name,
    writable: (req.flags & (MapFlag.write | MapFlag.private)) !== 0,
    kind: "file",
  } as const;
  return adopt(symbols, req.call, meta, (out) => {
    switch (req.seed) {
      case "open":
        return symbols.mmap_open(path, path.length, out);
      case "openWrite":
        return symbols.mmap_open_write(path, path.length, out);
      case "openWriteWithSize": {
        const sized = symbols.mmap_open_write_with_size;
        if (sized !== null) return sized(path, path.length, req.size, out);
        // A library from before this export: size the file from here,
        // never shrinking it, then map it as openWrite does.
        growFile(req.path, req.size);
        return symbols.mmap_open_write(path, path.length, out);
      }
      default:
        return symbols.mmap_map(
          path,
          path.length,
          req.flags,
          req.size,
          req.offset,
          req.length,
          out,
        );
    }
  });
}

/** Creates `path` if needed and grows it to at least `size` bytes. */
function growFile(path: string, size: number): void {
  const file = Deno.openSync(path, { write: true, create: true });
  try {
    if (file.statSync().size < size) file.truncateSync(size);
  } finally {
    file.close();
  }
}

/**
 * Maps a file. With no options, read-only (native `mmap_open`); the file
 * must exist. Options map it read-write, create or grow it, map a window of
 * it, or make a copy-on-write mapping.
 *
 * Needs `--allow-ffi` and read permission for the file (write permission
 * too with `write`); on first use the native library may be downloaded,
 * which needs `--allow-net`.
 *
 * @param path The file, as a path or a `file:` URL.
 * @param options How to map it.
 * @returns The mapping.
 * @throws {Deno.errors.NotFound} When the file does not exist (without
 * `create`).
 * @throws {Deno.errors.NotCapable} When Deno's permissions forbid the access.
 * @throws {TypeError} When an argument has the wrong type or options
 * conflict.
 * @throws {RangeError} When a size, offset or length is out of range.
 *
 * @example Map a file and read from it
 * ```ts
 * import { close, open, read } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array([1, 2, 3, 4]));
 * const h = await open(path);
 * const buf = new Uint8Array(h.len);
 * await read(h, buf);
 * await close(h);
 * assert.deepEqual([...buf], [1, 2, 3, 4]);
 * ```
 */
export async function open(
  path: string | URL,
  options?: OpenOptions | null,
): Promise<Mmap> {
  const req = request(path, options, "open");
  return map(await library(), req);
}

/**
 * Like {@linkcode open}, without a promise. It never downloads the native
 * library: in a fresh install call an async function once first, or build
 * the library locally, or set `MMAP_LIB_PATH`.
 *
 * @param path The file, as a path or a `file:` URL.
 * @param options How to map it.
 * @returns The mapping.
 * @throws {Deno.errors.NotFound} When the file does not exist (without
 * `create`).
 * @throws {Deno.errors.NotCapable} When Deno's permissions forbid the access.
 *
 * @example Map part of a file
 * ```ts
 * import { openSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "0123456789");
 * using m = openSync(path, { offset: 3, length: 4 });
 * assert.equal(new TextDecoder().decode(m.view()), "3456");
 * ```
 */
export function openSync(
  path: string | URL,
  options?: OpenOptions | null,
): Mmap {
  const req = request(path, options, "open");
  return map(librarySync(), req);
}

/**
 * Maps an existing file read-write (native `mmap_open_write`); its length is
 * the file's size. Needs read and write permission for the file.
 *
 * @param path The file, as a path or a `file:` URL.
 * @returns The mapping.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 *
 * @example Change bytes of a file
 * ```ts
 * import { close, flush, openWrite, write } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hello");
 * const h = await openWrite(path);
 * await write(h, new TextEncoder().encode("J"), 0);
 * await flush(h);
 * await close(h);
 * assert.equal(await Deno.readTextFile(path), "Jello");
 * ```
 */
export async function openWrite(path: string | URL): Promise<Mmap> {
  const req = request(path, WRITE, "openWrite");
  return map(await library(), req);
}

/**
 * Like {@linkcode openWrite}, without a promise.
 *
 * @param path The file, as a path or a `file:` URL.
 * @returns The mapping.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 *
 * @example Overwrite the start of a file
 * ```ts
 * import { openWriteSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "....");
 * using h = openWriteSync(path);
 * h.view().set([0x41, 0x42]);
 * h.flushSync();
 * assert.equal(Deno.readTextFileSync(path), "AB..");
 * ```
 */
export function openWriteSync(path: string | URL): Mmap {
  const req = request(path, WRITE, "openWrite");
  return map(librarySync(), req);
}

/**
 * Maps a file read-write after making sure it is at least `size` bytes:
 * creates it when missing and grows it when shorter, never shrinking it
 * (native `mmap_open_write_with_size`, which sizes the file with `ftruncate`
 * or `SetFilePointerEx` + `SetEndOfFile`; with an older library that lacks
 * it, the file is sized from TypeScript first). With
 * `{ preallocate: true }` the file's blocks are allocated too, so that a full
 * disk fails here rather than inside the mapping.
 *
 * @param path The file, as a path or a `file:` URL.
 * @param size The least length the file must have.
 * @param options `preallocate`: allocate the blocks now.
 * @returns The mapping, as long as the file.
 * @throws {RangeError} When `size` is negative, fractional or too large.
 * @throws {MmapError} With `code` ENOSPC (28; 112 on Windows) when
 * `preallocate` finds the disk full; a file this call created is removed,
 * an existing one keeps its length.
 *
 * @example Create a file of a given size
 * ```ts
 * import { close, openWriteWithSize } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = (await Deno.makeTempDir()) + "/out.bin";
 * const h = await openWriteWithSize(path, 4096);
 * assert.equal(h.len, 4096);
 * await close(h);
 * assert.equal((await Deno.stat(path)).size, 4096);
 * ```
 */
export async function openWriteWithSize(
  path: string | URL,
  size: number | bigint,
  options?: PreallocateOptions | null,
): Promise<Mmap> {
  const req = sizedRequest(path, size, options);
  return map(await library(), req);
}

/**
 * Like {@linkcode openWriteWithSize}, without a promise.
 *
 * @param path The file, as a path or a `file:` URL.
 * @param size The least length the file must have.
 * @param options `preallocate`: allocate the blocks now.
 * @returns The mapping, as long as the file.
 *
 * @example Create a sized file without a promise
 * ```ts
 * import { openWriteWithSizeSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempDirSync() + "/sized.bin";
 * using h = openWriteWithSizeSync(path, 100n);
 * assert.equal(h.len, 100);
 * ```
 */
export function openWriteWithSizeSync(
  path: string | URL,
  size: number | bigint,
  options?: PreallocateOptions | null,
): Mmap {
  const req = sizedRequest(path, size, options);
  return map(librarySync(), req);
}
