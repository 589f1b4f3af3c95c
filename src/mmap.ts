/**
 * The mapping handle and the functions that open, copy, view, flush and close
 * mappings.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { isAbsolute, resolve } from "node:path";
import { describe, toIndex } from "./_args.ts";
import { closedError, nativeError, Status } from "./errors.ts";
import {
  FlushMode,
  library,
  librarySync,
  MapFlag,
  type Symbols,
} from "./ffi.ts";

/**
 * A memory mapping, as the package's original API describes it. Every handle
 * returned by {@linkcode open} and its variants is an {@linkcode Mmap}, which
 * has this shape and more.
 */
export interface MmapHandle {
  /** Native address of the first mapped byte (`null` for an empty mapping). */
  readonly ptr: Deno.PointerValue;
  /** Mapped length in bytes. */
  readonly len: number;
  /** Absolute path of the mapped file. */
  readonly path: string;
}

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

// When every handle and view is gone, the mapping is released.
const finalizer = new FinalizationRegistry<
  { symbols: Symbols; id: number }
>(({ symbols, id }) => symbols.mmap_close(id));

// A live view keeps its handle alive: the key (the view's buffer) holds the
// value (the handle) for as long as the buffer is reachable.
const owners = new WeakMap<ArrayBuffer, Mmap>();

const encoder = new TextEncoder();

interface HandleFields {
  symbols: Symbols;
  id: number;
  ptr: Deno.PointerValue;
  len: number;
  path: string;
  name: string;
  writable: boolean;
}

let createHandle: (fields: HandleFields) => Mmap;
let isHandle: (value: unknown) => value is Mmap;

/**
 * An open memory mapping of a file (or of part of one).
 *
 * Copy in and out with {@linkcode Mmap.readSync} and {@linkcode Mmap.writeSync}
 * (single native copies), or work on the bytes in place through
 * {@linkcode Mmap.view}. Close it with {@linkcode Mmap.close} or a `using`
 * declaration; views die with the mapping (their length becomes 0), so they
 * never point at freed memory. A handle that is dropped without being closed
 * is unmapped after garbage collection, once its views are gone too.
 *
 * Handles come from {@linkcode open}, {@linkcode openSync} and the other
 * `open…` functions; the constructor is not for use.
 *
 * @example Read a file through a mapping
 * ```ts
 * import { openSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "hello, mapping");
 * using m = openSync(path);
 * const bytes = new Uint8Array(5);
 * m.readSync(bytes, 7);
 * assert.equal(new TextDecoder().decode(bytes), "mappi");
 * ```
 */
export class Mmap implements MmapHandle, Disposable, AsyncDisposable {
  #symbols!: Symbols;
  #id = 0;
  #ptr: Deno.PointerValue = null;
  #len = 0;
  #path = "";
  #name = "";
  #writable = false;
  #closed = false;
  #views: WeakRef<ArrayBuffer>[] = [];
  #pruneAt = 64;

  static {
    createHandle = (fields) => {
      const handle = new Mmap(Mmap.#key);
      handle.#symbols = fields.symbols;
      handle.#id = fields.id;
      handle.#ptr = fields.ptr;
      handle.#len = fields.len;
      handle.#path = fields.path;
      handle.#name = fields.name;
      handle.#writable = fields.writable;
      finalizer.register(
        handle,
        { symbols: fields.symbols, id: fields.id },
        handle,
      );
      return handle;
    };
    isHandle = (value): value is Mmap =>
      typeof value === "object" && value !== null && #id in value;
  }

  static readonly #key = Symbol("Mmap");

  /**
   * Not for use: handles come from {@linkcode open} and its variants.
   *
   * @param key A private token.
   * @throws {TypeError} Always, when called from outside the package.
   */
  constructor(key: unknown) {
    if (key !== Mmap.#key) {
      throw new TypeError("Mmap cannot be constructed: use open() instead");
    }
  }

  /**
   * Native address of the first mapped byte; `null` for an empty mapping
   * and after close. **UNSAFE**: memory behind it is freed on close.
   */
  get ptr(): Deno.PointerValue {
    return this.#closed ? null : this.#ptr;
  }

  /** Mapped length in bytes. */
  get len(): number {
    return this.#len;
  }

  /** Absolute path of the mapped file. */
  get path(): string {
    return this.#path;
  }

  /** Whether the mapping can be written (read-write or copy-on-write). */
  get writable(): boolean {
    return this.#writable;
  }

  /** Whether {@linkcode Mmap.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  #where(call: string): string {
    return `mmap ${call} "${this.#name}"`;
  }

  #fail(status: number, call: string): never {
    throw nativeError(this.#symbols, status, call, this.#name);
  }

  /** Checks `[offset, offset + length)` against the mapping. */
  #range(offset: number, length: number, call: string): void {
    if (length > this.#len || offset > this.#len - length) {
      throw new RangeError(
        `${this.#where(call)}: range ${offset}..${
          offset + length
        } is outside the mapping of ${this.#len} bytes`,
      );
    }
  }

  #buffer(value: unknown, what: string, call: string): Uint8Array {
    if (value instanceof Uint8Array) return value;
    throw new TypeError(
      `${this.#where(call)}: ${what} must be a Uint8Array: received ${
        describe(value)
      }`,
    );
  }

  /**
   * Copies bytes from the mapping at `offset` into `dst`, filling it.
   *
   * @param dst Where the bytes go; its length is how many are copied.
   * @param offset Position in the mapping of the first byte to copy.
   * @returns The number of bytes copied (`dst.length`).
   * @throws {RangeError} When the range reaches past the mapping (nothing is
   * copied), or `offset` is not a whole number from 0 to 2^53 - 1.
   * @throws {TypeError} When `dst` is not a Uint8Array.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   * @throws {Deno.errors.UnexpectedEof} When the file was truncated under
   * the mapping and the range lost its bytes.
   */
  readSync(dst: Uint8Array, offset: number | bigint = 0): number {
    if (this.#closed) throw closedError("read", this.#name);
    const buffer = this.#buffer(dst, "dst", "read");
    const at = toIndex(offset, "offset", this.#where("read"));
    const length = buffer.length;
    this.#range(at, length, "read");
    const status = this.#symbols.mmap_read(this.#id, at, buffer, length);
    if (status !== 0) this.#fail(status, "read");
    return length;
  }

  /**
   * Like {@linkcode Mmap.readSync}, as a promise.
   *
   * @param dst Where the bytes go; its length is how many are copied.
   * @param offset Position in the mapping of the first byte to copy.
   * @returns The number of bytes copied.
   */
  read(dst: Uint8Array, offset: number | bigint = 0): Promise<number> {
    try {
      return Promise.resolve(this.readSync(dst, offset));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Copies all of `src` into the mapping at `offset`.
   *
   * @param src The bytes to write.
   * @param offset Position in the mapping of the first byte written.
   * @returns The number of bytes copied (`src.length`).
   * @throws {RangeError} When the range reaches past the mapping (nothing is
   * written), or `offset` is invalid.
   * @throws {TypeError} When `src` is not a Uint8Array or the mapping is
   * read-only.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   * @throws {Deno.errors.UnexpectedEof} When the file was truncated under
   * the mapping.
   */
  writeSync(src: Uint8Array, offset: number | bigint = 0): number {
    if (this.#closed) throw closedError("write", this.#name);
    const buffer = this.#buffer(src, "src", "write");
    const at = toIndex(offset, "offset", this.#where("write"));
    if (!this.#writable) {
      throw new TypeError(
        `${
          this.#where("write")
        }: the mapping is read-only: open it with openWrite() or { write: true }`,
      );
    }
    const length = buffer.length;
    this.#range(at, length, "write");
    const status = this.#symbols.mmap_write(this.#id, at, buffer, length);
    if (status !== 0) this.#fail(status, "write");
    return length;
  }

  /**
   * Like {@linkcode Mmap.writeSync}, as a promise.
   *
   * @param src The bytes to write.
   * @param offset Position in the mapping of the first byte written.
   * @returns The number of bytes copied.
   */
  write(src: Uint8Array, offset: number | bigint = 0): Promise<number> {
    try {
      return Promise.resolve(this.writeSync(src, offset));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #flushRange(
    offset: number | bigint,
    length: number | bigint | undefined,
    call: string,
  ): [number, number] {
    if (this.#closed) throw closedError(call, this.#name);
    const at = toIndex(offset, "offset", this.#where(call));
    const count = length === undefined
      ? Math.max(this.#len - at, 0)
      : toIndex(length, "length", this.#where(call));
    this.#range(at, count, call);
    return [at, count];
  }

  /**
   * Writes modified pages in `[offset, offset + length)` back to the file
   * and waits for the write (Unix `msync(MS_SYNC)`, Windows
   * `FlushViewOfFile`). Unaligned ranges are widened to whole pages. For
   * read-only and copy-on-write mappings it does nothing.
   *
   * @param offset First byte of the range.
   * @param length Bytes in the range; by default, to the end of the mapping.
   * @throws {RangeError} When the range reaches past the mapping.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   */
  flushSync(offset: number | bigint = 0, length?: number | bigint): void {
    const [at, count] = this.#flushRange(offset, length, "flush");
    const status = this.#symbols.mmap_flush(
      this.#id,
      at,
      count,
      FlushMode.sync,
    );
    if (status !== 0) this.#fail(status, "flush");
  }

  /**
   * Like {@linkcode Mmap.flushSync}, run on a worker thread so that a long
   * write-back does not block the event loop.
   *
   * @param offset First byte of the range.
   * @param length Bytes in the range; by default, to the end of the mapping.
   */
  async flush(
    offset: number | bigint = 0,
    length?: number | bigint,
  ): Promise<void> {
    const [at, count] = this.#flushRange(offset, length, "flush");
    const status = await this.#symbols.mmap_flush_nonblocking(
      this.#id,
      at,
      count,
      FlushMode.sync,
    );
    if (status !== 0) this.#fail(status, "flush");
  }

  /**
   * A `Uint8Array` over the mapped bytes themselves: no copy. Reading it
   * reads the file's pages; writing it (on a writable mapping) changes them.
   *
   * The view dies with the mapping: after {@linkcode Mmap.close} its length
   * is 0. While a view is reachable, its mapping is not garbage-collected.
   *
   * @param offset First byte of the view.
   * @param length Bytes in the view; by default, to the end of the mapping.
   * @returns The view.
   * @throws {RangeError} When the range reaches past the mapping.
   * @throws {Deno.errors.BadResource} When the mapping is closed.
   *
   * @example Change a file in place
   * ```ts
   * import { openSync } from "@riaskov/mmap";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempFileSync();
   * Deno.writeTextFileSync(path, "abc");
   * const m = openSync(path, { write: true });
   * const bytes = m.view();
   * bytes[0] = 0x41; // "A"
   * m.close();
   * assert.equal(bytes.length, 0);
   * assert.equal(Deno.readTextFileSync(path), "Abc");
   * ```
   */
  view(offset: number | bigint = 0, length?: number | bigint): Uint8Array {
    const [at, count] = this.#flushRange(offset, length, "view");
    if (count === 0 || this.#ptr === null) return new Uint8Array(0);
    const buffer = Deno.UnsafePointerView.getArrayBuffer(this.#ptr, count, at);
    owners.set(buffer, this);
    this.#views.push(new WeakRef(buffer));
    if (this.#views.length >= this.#pruneAt) {
      this.#views = this.#views.filter((ref) => ref.deref() !== undefined);
      this.#pruneAt = Math.max(64, this.#views.length * 2);
    }
    return new Uint8Array(buffer);
  }

  /**
   * Unmaps the file and releases its native resources. Every view handed out
   * becomes empty first. Closing twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ref of this.#views) {
      const buffer = ref.deref();
      // Detach: the buffer keeps its identity but loses its bytes.
      if (buffer !== undefined && !buffer.detached) buffer.transfer(0);
    }
    this.#views = [];
    finalizer.unregister(this);
    const status = this.#symbols.mmap_close(this.#id);
    if (status !== 0 && status !== Status.badHandle) {
      this.#fail(status, "close");
    }
  }

  /** Closes the mapping at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the mapping at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Resolves a path argument to an absolute path. */
function absolutePath(path: unknown, call: string): [string, string] {
  let name: string;
  if (path instanceof URL) {
    if (path.protocol !== "file:") {
      throw new TypeError(
        `mmap ${call}: a URL path must use the file: protocol: received "${path.href}"`,
      );
    }
    name = fileURLToPath(path);
  } else if (typeof path === "string") {
    name = path;
  } else {
    throw new TypeError(
      `mmap ${call}: path must be a string or a file URL: received ${
        describe(path)
      }`,
    );
  }
  if (name === "") throw new TypeError(`mmap ${call}: path must not be empty`);
  if (name.includes("\0")) {
    throw new TypeError(
      `mmap ${call} ${JSON.stringify(name)}: path must not contain NUL`,
    );
  }
  return [name, isAbsolute(name) ? resolve(name) : resolve(Deno.cwd(), name)];
}

/**
 * Native code can open any file, so Deno's permissions are asked here, as
 * `Deno.open` would, before anything is opened.
 */
function checkPermission(
  name: "read" | "write",
  path: string,
  call: string,
  shown: string,
): void {
  let { state } = Deno.permissions.querySync({ name, path });
  if (state === "prompt") {
    state = Deno.permissions.requestSync({ name, path }).state;
  }
  if (state !== "granted") {
    throw new Deno.errors.NotCapable(
      `mmap ${call} "${shown}": requires ${name} access to "${path}", run again with the --allow-${name} flag`,
    );
  }
}

function flag(value: unknown, what: string, call: string): boolean {
  if (value === undefined) return false;
  if (typeof value === "boolean") return value;
  throw new TypeError(
    `mmap ${call}: option "${what}" must be a boolean: received ${
      describe(value)
    }`,
  );
}

/** Native arguments for a mapping request. */
interface Request {
  name: string;
  path: string;
  flags: number;
  size: number;
  offset: number;
  length: number;
}

function request(path: unknown, options: unknown, call: string): Request {
  const [name, absolute] = absolutePath(path, call);
  if (
    options !== undefined && (typeof options !== "object" || options === null)
  ) {
    throw new TypeError(
      `mmap ${call} "${name}": options must be an object: received ${
        describe(options)
      }`,
    );
  }
  const o = (options ?? {}) as OpenOptions;
  const where = `mmap ${call} "${name}"`;
  const write = flag(o.write, "write", call);
  const create = flag(o.create, "create", call);
  const copyOnWrite = flag(o.private, "private", call);
  let flags = 0;
  if (write) flags |= MapFlag.write;
  if (create) flags |= MapFlag.create;
  if (copyOnWrite) flags |= MapFlag.private;
  if (flag(o.populate, "populate", call)) flags |= MapFlag.populate;
  let size = 0;
  if (o.size !== undefined) {
    size = toIndex(o.size, "size", where);
    flags |= MapFlag.grow;
  }
  const offset = o.offset === undefined
    ? 0
    : toIndex(o.offset, "offset", where);
  let length = 0;
  if (o.length !== undefined) {
    length = toIndex(o.length, "length", where);
    flags |= MapFlag.length;
  }
  if (copyOnWrite && (write || create || o.size !== undefined)) {
    throw new TypeError(
      `${where}: option "private" (copy-on-write) cannot be combined with "write", "create" or "size"`,
    );
  }
  if (!write && (create || o.size !== undefined)) {
    throw new TypeError(
      `${where}: options "create" and "size" need "write: true"`,
    );
  }
  checkPermission("read", absolute, call, name);
  if (write) checkPermission("write", absolute, call, name);
  return { name, path: absolute, flags, size, offset, length };
}

/** Runs a native open and wraps the result in a handle. */
function mapWith(
  symbols: Symbols,
  req: Request,
  call: string,
  native: (path: Uint8Array, out: BigUint64Array) => number,
): Mmap {
  const bytes = encoder.encode(req.path);
  const out = new BigUint64Array(3);
  const status = native(bytes, out);
  if (status !== 0) throw nativeError(symbols, status, call, req.name);
  return createHandle({
    symbols,
    id: Number(out[0]),
    ptr: out[1] === 0n ? null : Deno.UnsafePointer.create(out[1]),
    len: Number(out[2]),
    path: req.path,
    name: req.name,
    writable: (req.flags & (MapFlag.write | MapFlag.private)) !== 0,
  });
}

function openWith(symbols: Symbols, path: unknown, options: unknown): Mmap {
  const req = request(path, options, "open");
  if (options === undefined) {
    return mapWith(
      symbols,
      req,
      "open",
      (bytes, out) => symbols.mmap_open(bytes, bytes.length, out),
    );
  }
  return mapWith(
    symbols,
    req,
    "open",
    (bytes, out) =>
      symbols.mmap_map(
        bytes,
        bytes.length,
        req.flags,
        req.size,
        req.offset,
        req.length,
        out,
      ),
  );
}

function openWriteWith(symbols: Symbols, path: unknown): Mmap {
  const req = request(path, { write: true }, "openWrite");
  return mapWith(
    symbols,
    req,
    "openWrite",
    (bytes, out) => symbols.mmap_open_write(bytes, bytes.length, out),
  );
}

function openWriteWithSizeWith(
  symbols: Symbols,
  path: unknown,
  size: unknown,
): Mmap {
  const call = "openWriteWithSize";
  const [name] = absolutePath(path, call);
  const bytesWanted = toIndex(size, "size", `mmap ${call} "${name}"`);
  const req = request(
    path,
    { write: true, create: true, size: bytesWanted },
    call,
  );
  const native = symbols.mmap_open_write_with_size;
  if (native !== null) {
    return mapWith(
      symbols,
      req,
      call,
      (bytes, out) => native(bytes, bytes.length, bytesWanted, out),
    );
  }
  // A library from before this export: size the file from here, never
  // shrinking it, then map it as openWrite does.
  const file = Deno.openSync(req.path, { write: true, create: true });
  try {
    if (file.statSync().size < bytesWanted) file.truncateSync(bytesWanted);
  } finally {
    file.close();
  }
  return openWriteWith(symbols, path);
}

function handle(value: unknown, call: string): Mmap {
  if (isHandle(value)) return value;
  throw new TypeError(
    `mmap ${call}: expected a handle returned by open(): received ${
      describe(value)
    }`,
  );
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
  options?: OpenOptions,
): Promise<Mmap> {
  return openWith(await library(), path, options);
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
export function openSync(path: string | URL, options?: OpenOptions): Mmap {
  return openWith(librarySync(), path, options);
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
  return openWriteWith(await library(), path);
}

/**
 * Like {@linkcode openWrite}, without a promise.
 *
 * @param path The file, as a path or a `file:` URL.
 * @returns The mapping.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 */
export function openWriteSync(path: string | URL): Mmap {
  return openWriteWith(librarySync(), path);
}

/**
 * Maps a file read-write after making sure it is at least `size` bytes:
 * creates it when missing and grows it when shorter, never shrinking it
 * (native `mmap_open_write_with_size`, which sizes the file with `ftruncate`
 * or `SetFilePointerEx` + `SetEndOfFile`; with an older library that lacks
 * it, the file is sized from TypeScript first).
 *
 * @param path The file, as a path or a `file:` URL.
 * @param size The least length the file must have.
 * @returns The mapping, as long as the file.
 * @throws {RangeError} When `size` is negative, fractional or too large.
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
): Promise<Mmap> {
  return openWriteWithSizeWith(await library(), path, size);
}

/**
 * Like {@linkcode openWriteWithSize}, without a promise.
 *
 * @param path The file, as a path or a `file:` URL.
 * @param size The least length the file must have.
 * @returns The mapping, as long as the file.
 */
export function openWriteWithSizeSync(
  path: string | URL,
  size: number | bigint,
): Mmap {
  return openWriteWithSizeWith(librarySync(), path, size);
}

/**
 * Copies from the mapping at `offset` into `dst`, filling it (one native
 * memcpy).
 *
 * @param h The mapping.
 * @param dst Where the bytes go; its length is how many are copied.
 * @param offset Position in the mapping of the first byte to copy.
 * @returns The number of bytes copied.
 * @throws {RangeError} When the range reaches past `h.len`; nothing is
 * copied.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Read a slice
 * ```ts
 * import { close, open, read } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abcdef");
 * const h = await open(path);
 * const window = new Uint8Array(2);
 * assert.equal(await read(h, window, 2n), 2);
 * await close(h);
 * assert.equal(new TextDecoder().decode(window), "cd");
 * ```
 */
export function read(
  h: MmapHandle,
  dst: Uint8Array,
  offset: number | bigint = 0n,
): Promise<number> {
  try {
    return Promise.resolve(handle(h, "read").readSync(dst, offset));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Like {@linkcode read}, without a promise: the fastest way to copy bytes
 * out of a mapping.
 *
 * @param h The mapping.
 * @param dst Where the bytes go; its length is how many are copied.
 * @param offset Position in the mapping of the first byte to copy.
 * @returns The number of bytes copied.
 * @throws {RangeError} When the range reaches past `h.len`.
 */
export function readSync(
  h: MmapHandle,
  dst: Uint8Array,
  offset: number | bigint = 0,
): number {
  return handle(h, "read").readSync(dst, offset);
}

/**
 * Copies all of `src` into the mapping at `offset` (one native memcpy).
 *
 * @param h The mapping; it must be writable.
 * @param src The bytes to write.
 * @param offset Position in the mapping of the first byte written.
 * @returns The number of bytes written.
 * @throws {RangeError} When the range reaches past `h.len`; nothing is
 * written.
 * @throws {TypeError} When the mapping is read-only.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 */
export function write(
  h: MmapHandle,
  src: Uint8Array,
  offset: number | bigint = 0n,
): Promise<number> {
  try {
    return Promise.resolve(handle(h, "write").writeSync(src, offset));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Like {@linkcode write}, without a promise.
 *
 * @param h The mapping; it must be writable.
 * @param src The bytes to write.
 * @param offset Position in the mapping of the first byte written.
 * @returns The number of bytes written.
 * @throws {RangeError} When the range reaches past `h.len`.
 */
export function writeSync(
  h: MmapHandle,
  src: Uint8Array,
  offset: number | bigint = 0,
): number {
  return handle(h, "write").writeSync(src, offset);
}

/**
 * Writes modified pages in `[offset, offset + length)` back to the file and
 * waits for it (Unix `msync(MS_SYNC)`, Windows `FlushViewOfFile`), on a
 * worker thread. Any offset and length work: the range is widened to whole
 * pages.
 *
 * @param h The mapping.
 * @param offset First byte of the range.
 * @param length Bytes in the range; by default, to the end of the mapping.
 * @throws {RangeError} When the range reaches past `h.len`.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 */
export async function flush(
  h: MmapHandle,
  offset: number | bigint = 0n,
  length?: number | bigint,
): Promise<void> {
  await handle(h, "flush").flush(offset, length);
}

/**
 * Like {@linkcode flush}, on the calling thread.
 *
 * @param h The mapping.
 * @param offset First byte of the range.
 * @param length Bytes in the range; by default, to the end of the mapping.
 * @throws {RangeError} When the range reaches past `h.len`.
 */
export function flushSync(
  h: MmapHandle,
  offset: number | bigint = 0,
  length?: number | bigint,
): void {
  handle(h, "flush").flushSync(offset, length);
}

/**
 * Unmaps the region and releases native resources; views of it become
 * empty. Closing a closed mapping does nothing.
 *
 * @param h The mapping.
 * @throws {TypeError} When `h` is not a handle from {@linkcode open}.
 */
export function close(h: MmapHandle): Promise<void> {
  try {
    handle(h, "close").close();
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Like {@linkcode close}, without a promise.
 *
 * @param h The mapping.
 * @throws {TypeError} When `h` is not a handle from {@linkcode open}.
 */
export function closeSync(h: MmapHandle): void {
  handle(h, "close").close();
}

/**
 * A zero-copy `Uint8Array` over the mapping (see {@linkcode Mmap.view}); it
 * becomes empty when the mapping closes.
 *
 * @param h The mapping.
 * @param offset First byte of the view.
 * @param length Bytes in the view; by default, to the end of the mapping.
 * @returns The view.
 * @throws {RangeError} When the range reaches past `h.len`.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Sum the bytes of a file without copying them
 * ```ts
 * import { openSync, view } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.writeFileSync(path, new Uint8Array([1, 2, 3]));
 * using h = openSync(path);
 * assert.equal(view(h).reduce((a, b) => a + b, 0), 6);
 * ```
 */
export function view(
  h: MmapHandle,
  offset: number | bigint = 0,
  length?: number | bigint,
): Uint8Array {
  return handle(h, "view").view(offset, length);
}
