/**
 * The one table of native symbols, and the lazily loaded library behind it.
 * Nothing else in the package touches `Deno.dlopen` or raw symbol names.
 *
 * Offsets and lengths travel as `f64`: a JS number passed into a 64-bit
 * integer parameter drops a call off V8's fast path (about 130 ns instead of
 * 17). Typed arrays travel as `buffer`.
 *
 * @module
 */

import process from "node:process";
import { append } from "./_intrinsics.ts";
import { resolveLibrary, resolveLibrarySync } from "./loader.ts";

/** The interface version this TypeScript code was written for. */
export const ABI_VERSION = 1;

// The tables below are the TypeScript half of facts the native library
// defines too (`ffi/src/abi.rs`); `tests/abi_test.ts` compares them with what
// the loaded library reports through `mmap_constants`, so they cannot drift.

/** Flags for `mmap_map`. */
export const MapFlag = {
  write: 1,
  create: 2,
  private: 4,
  populate: 8,
  grow: 16,
  length: 32,
  preallocate: 64,
} as const;

/** Flags for `mmap_shm_open`. */
export const ShmFlag = { create: 1, exclusive: 2 } as const;

/** Advice names, in the order of the native advice numbers. */
export const ADVICE = [
  "normal",
  "sequential",
  "random",
  "willneed",
  "dontneed",
  "hugepage",
  "nohugepage",
] as const;

/** Flush modes for `mmap_flush`. */
export const FlushMode = { sync: 0, async: 1, durable: 2 } as const;

/** Protections for `mmap_protect`. */
export const Protection = { read: 0, readWrite: 1 } as const;

/** Element kinds of the offsets and lengths of `mmap_gather`/`mmap_scatter`. */
export const Element = { f64: 0, u32: 1, u64: 2 } as const;

const batchParameters = [
  "u32", // id: u32
  "buffer", // offsets: *const u8 (Element kind below)
  "u32", // offsets_kind: u32
  "buffer", // lengths: *const u8, or null for `len` each
  "u32", // lengths_kind: u32
  "f64", // count: f64
  "f64", // len: f64
  "buffer", // buf: *mut u8 (dst of a gather, src of a scatter)
  "f64", // buf_len: f64
] as const;

/** Outcomes of `mmap_wait` (`WAIT_RESULTS` in `ffi/src/abi.rs`). */
export const WaitResult = {
  ok: 0,
  notEqual: 1,
  timedOut: 2,
  cancelled: 3,
} as const;

const waitParameters = [
  "u32", // id: u32
  "f64", // offset: f64
  "i32", // expected: i32
  "f64", // timeout_ms: f64
  "u32", // spin: u32
  "buffer", // out: *mut i32, [outcome]
] as const;

const flushParameters = [
  "u32", // id: u32
  "f64", // offset: f64
  "f64", // len: f64
  "u32", // mode: u32
] as const;

/** Native exports. Every call returns an `i32` status unless noted. */
export const symbols = {
  /** `() -> u32`: the library's interface version. */
  mmap_abi_version: { parameters: [], result: "u32" },
  mmap_map: {
    parameters: [
      "buffer", // path: *const u8 (UTF-8)
      "u32", // path_len: u32
      "u32", // flags: u32 (MapFlag bits)
      "f64", // size: f64
      "f64", // offset: f64
      "f64", // length: f64
      "buffer", // out: *mut u64, [id, address, length]
    ],
    result: "i32",
  },
  mmap_open: {
    parameters: [
      "buffer", // path: *const u8
      "u32", // path_len: u32
      "buffer", // out: *mut u64
    ],
    result: "i32",
  },
  mmap_open_write: {
    parameters: [
      "buffer", // path: *const u8
      "u32", // path_len: u32
      "buffer", // out: *mut u64
    ],
    result: "i32",
  },
  /** Absent from libraries that predate it; `openWriteWithSize` falls back. */
  mmap_open_write_with_size: {
    parameters: [
      "buffer", // path: *const u8
      "u32", // path_len: u32
      "f64", // size: f64
      "buffer", // out: *mut u64
    ],
    result: "i32",
    optional: true,
  },
  /** A hint before a small copy: start loading the line at `offset`. */
  mmap_prefetch: {
    parameters: [
      "u32", // id: u32
      "f64", // offset: f64
    ],
    result: "void",
  },
  mmap_read: {
    parameters: [
      "u32", // id: u32
      "f64", // offset: f64
      "buffer", // dst: *mut u8
      "f64", // len: f64
    ],
    result: "i32",
  },
  mmap_write: {
    parameters: [
      "u32", // id: u32
      "f64", // offset: f64
      "buffer", // src: *const u8
      "f64", // len: f64
    ],
    result: "i32",
  },
  /**
   * `mmap_read` on a worker thread, for async reads large enough to stall
   * the event loop (`THREAD_COPY_BYTES` in _thread.ts).
   */
  mmap_read_nonblocking: {
    name: "mmap_read",
    parameters: [
      "u32", // id: u32
      "f64", // offset: f64
      "buffer", // dst: *mut u8
      "f64", // len: f64
    ],
    result: "i32",
    nonblocking: true,
  },
  /** `mmap_write` on a worker thread, for large async writes. */
  mmap_write_nonblocking: {
    name: "mmap_write",
    parameters: [
      "u32", // id: u32
      "f64", // offset: f64
      "buffer", // src: *const u8
      "f64", // len: f64
    ],
    result: "i32",
    nonblocking: true,
  },
  mmap_flush: { parameters: flushParameters, result: "i32" },
  /** The same export run on a worker thread, for the async `flush`. */
  mmap_flush_nonblocking: {
    name: "mmap_flush",
    parameters: flushParameters,
    result: "i32",
    nonblocking: true,
  },
  mmap_anonymous: {
    parameters: [
      "f64", // size: f64
      "buffer", // out: *mut u64, [id, address, length]
    ],
    result: "i32",
  },
  mmap_shm_open: {
    parameters: [
      "buffer", // name: *const u8 (UTF-8)
      "u32", // name_len: u32
      "u32", // flags: u32 (ShmFlag bits)
      "f64", // size: f64
      "buffer", // out: *mut u64, [id, address, length]
    ],
    result: "i32",
  },
  mmap_shm_unlink: {
    parameters: [
      "buffer", // name: *const u8
      "u32", // name_len: u32
    ],
    result: "i32",
  },
  mmap_advise: {
    parameters: [
      "u32", // id: u32
      "f64", // offset: f64
      "f64", // len: f64
      "u32", // advice: u32 (index into ADVICE)
    ],
    result: "i32",
  },
  mmap_resident: {
    parameters: [
      "u32", // id: u32
      "f64", // offset: f64
      "f64", // len: f64
      "buffer", // out: *mut f64, [resident bytes]
    ],
    result: "i32",
  },
  mmap_lock: {
    parameters: [
      "u32", // id: u32
      "f64", // offset: f64
      "f64", // len: f64
      "u32", // lock: u32 (0 = unlock)
    ],
    result: "i32",
  },
  mmap_resize: {
    parameters: [
      "u32", // id: u32
      "f64", // new_len: f64
      "buffer", // out: *mut u64, [address, length]
    ],
    result: "i32",
  },
  /**
   * `mmap_resize` with flags (`MapFlag.preallocate`). Absent from libraries
   * that predate it; `resize` without options does not need it.
   */
  mmap_resize_with: {
    parameters: [
      "u32", // id: u32
      "f64", // new_len: f64
      "u32", // flags: u32 (MapFlag.preallocate)
      "buffer", // out: *mut u64, [address, length]
    ],
    result: "i32",
    optional: true,
  },
  /** Batch copies (`batch.ts`): records at offsets → consecutive slots. */
  mmap_gather: { parameters: batchParameters, result: "i32" },
  /** The reverse of `mmap_gather`. */
  mmap_scatter: { parameters: batchParameters, result: "i32" },
  /** `mmap_gather` on a worker thread, for large async batches. */
  mmap_gather_nonblocking: {
    name: "mmap_gather",
    parameters: batchParameters,
    result: "i32",
    nonblocking: true,
  },
  /** `mmap_scatter` on a worker thread, for large async batches. */
  mmap_scatter_nonblocking: {
    name: "mmap_scatter",
    parameters: batchParameters,
    result: "i32",
    nonblocking: true,
  },
  mmap_close: {
    parameters: [
      "u32", // id: u32
    ],
    result: "i32",
  },
  /** Absent from libraries that predate it; indexOf then throws. */
  mmap_find: {
    parameters: [
      "u32", // id: u32
      "f64", // offset: f64
      "f64", // len: f64
      "buffer", // pattern: *const u8
      "f64", // pattern_len: f64
      "u32", // reverse: u32 (0 = first match, else last)
      "buffer", // out: *mut f64, [position or -1]
    ],
    result: "i32",
    optional: true,
  },
  /** Absent from libraries that predate it; protect then throws. */
  mmap_protect: {
    parameters: [
      "u32", // id: u32
      "u32", // protection: u32 (Protection)
    ],
    result: "i32",
    optional: true,
  },
  /** Absent from libraries that predate it; offset and fileSize throw. */
  mmap_info: {
    parameters: [
      "u32", // id: u32
      "buffer", // out: *mut f64, [window offset in the file, file size]
    ],
    result: "i32",
    optional: true,
  },
  /** Absent from libraries that predate it; `wait` then says so. */
  mmap_wait: { parameters: waitParameters, result: "i32", optional: true },
  /** `mmap_wait` on a worker thread, for `waitAsync`. */
  mmap_wait_nonblocking: {
    name: "mmap_wait",
    parameters: waitParameters,
    result: "i32",
    nonblocking: true,
    optional: true,
  },
  mmap_notify: {
    parameters: [
      "u32", // id: u32
      "f64", // offset: f64
      "f64", // count: f64 (+Infinity: all)
      "buffer", // out: *mut f64, [woken]
    ],
    result: "i32",
    optional: true,
  },
  /** Maps a file again at its current length (or `length`). */
  mmap_remap: {
    parameters: [
      "u32", // id: u32
      "f64", // length: f64 (read with MapFlag.length)
      "u32", // flags: u32 (MapFlag.length)
      "buffer", // out: *mut u64, [address, length]
    ],
    result: "i32",
    optional: true,
  },
  mmap_stats: {
    parameters: [
      "buffer", // out: *mut f64, [count, bytes]
    ],
    result: "i32",
  },
  /** `-> u32`: length of the "call\tmessage" text of the last failure. */
  mmap_last_error: {
    parameters: [
      "buffer", // info: *mut i32, [OS error code, error kind]
      "buffer", // text: *mut u8
      "u32", // cap: u32
    ],
    result: "u32",
  },
  /**
   * `-> u32`: length of the "NAME=VALUE" lines of every constant shared
   * with TypeScript, for `tests/abi_test.ts`. Optional: nothing else needs
   * it, so a library without it still loads.
   */
  mmap_constants: {
    parameters: [
      "buffer", // text: *mut u8
      "u32", // cap: u32
    ],
    result: "u32",
    optional: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library's symbols. */
export type Symbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

let loaded: Symbols | undefined;
let loadedPath = "";
/**
 * Every `Deno.dlopen` of the library, kept open for the life of the
 * process: the system loader unloads a library when its last handle is
 * closed, and the lazily bound symbols and the N-API side rely on the one
 * copy (its registry of mappings) staying loaded.
 */
const handles: unknown[] = [];

// Binding a symbol costs: `Deno.dlopen` builds a fast-call trampoline for
// each one, measured at 0.25–0.4 ms a symbol the first time in a process
// (10 ms for the whole table; 0.03 ms for a nonblocking one). So the library
// is opened with only the interface version, and every other symbol is
// bound the first time it is called: until then its entry is a stub that
// binds it (one more `Deno.dlopen` of the same path, which the system loader
// answers with the library already loaded, so statics are shared), stores
// the bound function in the entry in its place, and makes the call. Optional
// symbols are looked up at load all at once, as `u8` statics (which bind
// without a trampoline; a nonblocking declaration would not do, as Deno
// 2.9.6 gives a function even for a missing one), so that a missing symbol
// is `null` from the start, as callers check. `Deno.dlopen` and the
// intrinsics below are captured at load, like every intrinsic the package
// relies on after that.
const dlopen = Deno.dlopen;
const apply = Reflect.apply;
// Deno fills a library's `symbols` object with ordinary property stores,
// which run any setter a caller put on Object.prototype under the same
// name. So each symbol is bound under a key no caller can know in advance
// (its native name goes in `name`), and read back from that key.
const KEY = `mmap_${crypto.randomUUID()}`;
const ownKeys = Reflect.ownKeys;
const hasOwn = Object.hasOwn;
const defineProperty = Reflect.defineProperty;
const setPrototypeOf = Reflect.setPrototypeOf;

type Definition = Deno.ForeignFunction;
type Table = Record<string, Definition>;

/** Binds `name` from the loaded library and puts it in place of its stub. */
function bind(table: Record<string, unknown>, name: string): unknown {
  const definition = (symbols as Table)[name];
  let bound: unknown;
  try {
    const library = dlopen(loadedPath, {
      [KEY]: { ...definition, name: definition.name ?? name },
    });
    append(handles, library);
    bound = library.symbols[KEY];
  } catch (error) {
    throw new Error(
      `mmap could not bind "${name}" of its native library "${loadedPath}": ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  table[name] = bound;
  return bound;
}

/** The entry of a symbol not bound yet. */
function stub(table: Record<string, unknown>, name: string): unknown {
  return function () {
    // `arguments`, not a rest parameter: spreading would go through
    // Array.prototype[Symbol.iterator], which a caller may have replaced.
    return apply(bind(table, name) as () => unknown, undefined, arguments);
  };
}

/**
 * The table of the library at `path` (already opened, its version
 * checked): stubs that bind on first call, and `null` for optional symbols
 * the library lacks.
 */
function lazyTable(path: string): Symbols {
  // No prototype, so that no setter a caller put on Object.prototype runs
  // when a stub is replaced. Made from `{}` and filled by definitions, not
  // as `{ __proto__: null }` filled by stores: V8 keeps that one in
  // dictionary mode, where every copy's lookup of its symbol was a hash
  // probe (about 30 instructions more a lookup, counted with callgrind),
  // while this one keeps fast properties, which optimized code reads as
  // fields.
  const table = {} as Record<string, unknown>;
  setPrototypeOf(table, null);
  const probe = { __proto__: null } as unknown as Record<
    string,
    Deno.ForeignStatic
  >;
  const names = ownKeys(symbols) as string[];
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const definition = (symbols as Table)[name];
    if (definition.optional === true) {
      probe[`${KEY}${i}`] = {
        name: definition.name ?? name,
        type: "u8",
        optional: true,
      };
    }
  }
  const present = dlopen(path, probe);
  for (let i = 0; i < names.length; i++) {
    const key = `${KEY}${i}`;
    defineProperty(table, names[i], {
      value: hasOwn(probe, key) && present.symbols[key] === null
        ? null
        : stub(table, names[i]),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  present.close();
  return table as Symbols;
}

function openLibrary(path: string): Symbols {
  let library: Deno.DynamicLibrary<
    Record<string, typeof symbols.mmap_abi_version>
  >;
  try {
    library = dlopen(path, {
      [KEY]: { ...symbols.mmap_abi_version, name: "mmap_abi_version" },
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new Error(
      `mmap could not load its native library "${path}": ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  const version = library.symbols[KEY]();
  if (version !== ABI_VERSION) {
    library.close();
    throw new Error(
      `mmap native library "${path}" has interface version ${version}, but this package needs version ${ABI_VERSION}: use the library built from the same release`,
    );
  }
  loadedPath = path;
  append(handles, library);
  return lazyTable(path);
}

/**
 * The native symbols, loading the library first if needed. Never downloads:
 * when the library is neither configured, built locally nor cached, it
 * throws and says to call an async function first.
 */
export function librarySync(): Symbols {
  return loaded ??= openLibrary(resolveLibrarySync());
}

/** The native symbols, loading (and if needed downloading) the library. */
export async function library(): Promise<Symbols> {
  if (loaded !== undefined) return loaded;
  const path = await resolveLibrary();
  return loaded ??= openLibrary(path);
}

/**
 * The N-API side of the same library (`ffi/src/napi.rs`), loaded with
 * `process.dlopen` from the path `Deno.dlopen` used: the two loads share the
 * library's statics, so mapping ids resolve on both sides.
 */
interface NativeViews {
  /**
   * An external `ArrayBuffer` over `[offset, offset + length)` of mapping
   * `id` (`length` > 0) that keeps the pages mapped until the engine frees
   * its last backing store.
   */
  view(id: number, offset: number, length: number): ArrayBuffer;
  /** Ties mapping `id` to this thread's environment: closed when it ends. */
  adopt(id: number): void;
}

// Captured at load: a caller replacing `process.dlopen` later changes nothing.
const processDlopen = process.dlopen;
let views: NativeViews | undefined;
let viewsError: Error | undefined;

/** The N-API module for this thread, or `undefined` (see `viewsError`). */
function nativeViews(): NativeViews | undefined {
  if (views !== undefined || viewsError !== undefined) return views;
  const module = { exports: {} as Partial<NativeViews> };
  try {
    processDlopen(module, loadedPath);
    const { view, adopt } = module.exports;
    if (typeof view !== "function" || typeof adopt !== "function") {
      throw new Error("the library registered no N-API functions");
    }
    views = { view, adopt };
  } catch (error) {
    viewsError = error as Error;
  }
  return views;
}

/**
 * Ties a new mapping to this thread (the main thread's or a worker's), so
 * that its handle is closed when the thread ends. Does nothing where N-API
 * is missing.
 *
 * @param id The native id.
 */
export function adoptMapping(id: number): void {
  nativeViews()?.adopt(id);
}

/**
 * Zero-copy memory of a mapping that lives as long as the last reference
 * to it (see `NativeViews.view`).
 *
 * @param id The native id.
 * @param offset First byte.
 * @param length Bytes (more than 0).
 * @throws {Deno.errors.NotSupported} When the runtime has no N-API.
 */
export function mappedBuffer(
  id: number,
  offset: number,
  length: number,
): ArrayBuffer {
  const native = nativeViews();
  if (native === undefined) {
    throw new Deno.errors.NotSupported(
      `mmap view: zero-copy views need Node-API (process.dlopen), which could not load "${loadedPath}": ${viewsError?.message}; copy with readSync() instead`,
      { cause: viewsError },
    );
  }
  return native.view(id, offset, length);
}
