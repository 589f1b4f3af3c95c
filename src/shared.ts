/**
 * Named shared memory: {@linkcode openShared} and {@linkcode unlinkShared},
 * with their `…Sync` forms. Names, options and permissions are checked
 * before the library is loaded, as for the open functions.
 *
 * @module
 */

import { describe, toFlag, toIndex, toOptions, where } from "./_args.ts";
import { requireFlag } from "./_permissions.ts";
import { nativeError } from "./errors.ts";
import { library, librarySync, ShmFlag, type Symbols } from "./ffi.ts";
import { adopt } from "./_handles.ts";
import type { Mmap } from "./mmap.ts";

/** Options for {@linkcode openShared}. */
export interface SharedOptions {
  /**
   * Create the region if it does not exist.
   *
   * @default {false}
   */
  create?: boolean;
  /**
   * With `create`: fail with `Deno.errors.AlreadyExists` if it exists.
   *
   * @default {false}
   */
  exclusive?: boolean;
  /**
   * The least size in bytes; required (and at least 1) with `create`. An
   * existing region is grown to it where the system allows (Linux); on
   * macOS and Windows a region keeps the size it was created with.
   */
  size?: number | bigint;
}

/** Checks a shared memory name and the permissions it needs. */
function sharedName(name: unknown, call: string): string {
  if (typeof name !== "string") {
    throw new TypeError(
      `${where(call)}: name must be a string: received ${describe(name)}`,
    );
  }
  // "." and ".." would name /dev/shm and /dev (glibc's shm_open refuses
  // them too).
  if (
    name === "" || name === "." || name === ".." || name.includes("/") ||
    name.includes("\0")
  ) {
    throw new TypeError(
      `mmap ${call} ${
        JSON.stringify(name)
      }: name must be non-empty, not "." or "..", without "/" or NUL`,
    );
  }
  // Shared memory is opened by name, not by a path Deno.open would check:
  // unrestricted read and write are required on every OS. On Linux it lives
  // in /dev/shm, which Deno.open refuses without --allow-all, so a grant
  // scoped to /dev/shm/<name> is not enough either; a --deny-read or
  // --deny-write covering it still refuses it.
  requireFlag("read", undefined, call, name);
  requireFlag("write", undefined, call, name);
  if (Deno.build.os === "linux") {
    requireFlag("read", `/dev/shm/${name}`, call, name);
    requireFlag("write", `/dev/shm/${name}`, call, name);
  }
  return name;
}

/** A checked request to open shared memory. */
interface SharedRequest {
  name: string;
  /** `ShmFlag` bits. */
  flags: number;
  size: number;
}

function sharedRequest(name: unknown, options: unknown): SharedRequest {
  const call = "openShared";
  const checked = sharedName(name, call);
  const o = toOptions<SharedOptions>(options, call, checked);
  const create = toFlag(o.create, "create", call);
  const exclusive = toFlag(o.exclusive, "exclusive", call);
  const sizeOption = o.size; // read once
  const size = sizeOption === undefined
    ? 0
    : toIndex(sizeOption, "size", call, checked);
  if (exclusive && !create) {
    throw new TypeError(
      `${where(call, checked)}: option "exclusive" needs "create: true"`,
    );
  }
  if (create && size === 0) {
    throw new TypeError(
      `${where(call, checked)}: option "create" needs a "size" of at least 1`,
    );
  }
  const flags = (create ? ShmFlag.create : 0) |
    (exclusive ? ShmFlag.exclusive : 0);
  return { name: checked, flags, size };
}

const encoder = new TextEncoder();

function mapShared(symbols: Symbols, req: SharedRequest): Mmap {
  const bytes = encoder.encode(req.name);
  const meta = {
    path: req.name,
    name: req.name,
    writable: true,
    kind: "shared",
  } as const;
  return adopt(
    symbols,
    "openShared",
    meta,
    (out) =>
      symbols.mmap_shm_open(bytes, bytes.length, req.flags, req.size, out),
  );
}

function unlink(symbols: Symbols, name: string): void {
  const bytes = encoder.encode(name);
  const status = symbols.mmap_shm_unlink(bytes, bytes.length);
  if (status !== 0) throw nativeError(symbols, status, "unlinkShared", name);
}

/**
 * Maps named shared memory read-write, for exchanging data between
 * processes: POSIX `shm_open` on Linux and macOS, a named section on Windows
 * (use a `Local\` or `Global\` prefix there as Windows expects). Every
 * process that opens the same name sees the same bytes; coordinate with
 * `Atomics.load`/`store`/`add`/`compareExchange` on an `Int32Array` over
 * {@linkcode Mmap.view}. (`Atomics.wait` needs a `SharedArrayBuffer`, which
 * memory from a native library cannot be: poll instead.) The name lasts
 * until {@linkcode unlinkShared} (on Windows, until the last handle closes).
 *
 * Needs unrestricted read and write permission (`--allow-read
 * --allow-write` without a list of paths, or `-A`) on every OS: it is opened
 * by name, not by a path. A grant scoped to `/dev/shm/<name>` is not enough
 * (`Deno.open` refuses `/dev/shm` paths without `--allow-all`); a
 * `--deny-read` or `--deny-write` covering `/dev/shm/<name>` refuses it on
 * Linux.
 *
 * @param name The region's name, without "/".
 * @param options Whether to create it, and its size.
 * @returns The mapping (`kind` `"shared"`, `path` the name).
 * @throws {Deno.errors.NotFound} When it does not exist (without `create`).
 * @throws {Deno.errors.AlreadyExists} With `exclusive`, when it exists.
 *
 * @example Two handles on one region
 * ```ts
 * import { openShared, unlinkShared } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const name = `doc-example-${Deno.pid}`;
 * await using a = await openShared(name, { create: true, size: 4096 });
 * await using b = await openShared(name);
 * a.view()[0] = 42;
 * assert.equal(b.view()[0], 42);
 * await unlinkShared(name);
 * ```
 */
export async function openShared(
  name: string,
  options?: SharedOptions | null,
): Promise<Mmap> {
  const req = sharedRequest(name, options);
  return mapShared(await library(), req);
}

/**
 * Like {@linkcode openShared}, without a promise.
 *
 * @param name The region's name, without "/".
 * @param options Whether to create it, and its size.
 * @returns The mapping.
 *
 * @example Create, open and remove a region
 * ```ts
 * import { openSharedSync, unlinkSharedSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const name = `doc-sync-${Deno.pid}`;
 * using writer = openSharedSync(name, { create: true, size: 64 });
 * using reader = openSharedSync(name);
 * writer.writeSync(new Uint8Array([1, 2, 3]));
 * assert.deepEqual([...reader.view(0, 3)], [1, 2, 3]);
 * unlinkSharedSync(name);
 * ```
 */
export function openSharedSync(
  name: string,
  options?: SharedOptions | null,
): Mmap {
  const req = sharedRequest(name, options);
  return mapShared(librarySync(), req);
}

/**
 * Removes a shared memory name; mappings already open keep working, and the
 * memory goes when the last one closes. On Windows there is no name to
 * remove (a section lasts while any handle or view does), so this does
 * nothing there.
 *
 * @param name The region's name.
 * @throws {Deno.errors.NotFound} When no region has that name.
 *
 * @example Remove a name while it is still mapped
 * ```ts
 * import { openShared, unlinkShared } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const name = `doc-unlink-${Deno.pid}`;
 * await using region = await openShared(name, { create: true, size: 16 });
 * await unlinkShared(name);
 * region.view()[0] = 1; // the mapping still works
 * assert.equal(region.view()[0], 1);
 * ```
 */
export async function unlinkShared(name: string): Promise<void> {
  const checked = sharedName(name, "unlinkShared");
  unlink(await library(), checked);
}

/**
 * Like {@linkcode unlinkShared}, without a promise.
 *
 * @param name The region's name.
 *
 * @example Remove a name without a promise
 * ```ts
 * import { openSharedSync, unlinkSharedSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const name = `doc-unlink-sync-${Deno.pid}`;
 * openSharedSync(name, { create: true, size: 16 }).close();
 * unlinkSharedSync(name);
 * assert.throws(() => unlinkSharedSync(name), Deno.errors.NotFound);
 * ```
 */
export function unlinkSharedSync(name: string): void {
  const checked = sharedName(name, "unlinkShared");
  unlink(librarySync(), checked);
}
