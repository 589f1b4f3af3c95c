/**
 * How the open functions and the seed's functions reach handles without
 * reaching into the `Mmap` class: `adopt` turns a native result into a
 * handle, `toHandle` checks that a value is one, and `live` is this thread's
 * table of open handles for `stats()`. The class fills in `hooks` when it
 * is defined (its private fields are reachable only from inside it).
 * Private to the package.
 *
 * @module
 */

import { describe, where } from "./_args.ts";
import { nativeError } from "./errors.ts";
import type { Symbols } from "./ffi.ts";
import type { Mmap } from "./mmap.ts";
import type { MappingInfo } from "./stats.ts";
import type { MappingKind } from "./types.ts";

/** What a handle remembers of the mapping it was made for. */
export interface MappingMeta {
  /** Absolute path of the file, the shared memory name, or `""`. */
  path: string;
  /** The name for messages: the path as the user gave it. */
  name: string;
  writable: boolean;
  kind: MappingKind;
}

/** Set by the `Mmap` class's static block. */
export const hooks = {} as {
  create: (symbols: Symbols, out: BigUint64Array, meta: MappingMeta) => Mmap;
  isHandle: (value: unknown) => value is Mmap;
  nameOf: (handle: Mmap) => string;
};

// This thread's live handles, by native id, for stats(). Plain records, so
// that the list never keeps a handle alive.
export const live = new Map<number, MappingInfo>();

/** This thread's live mappings, for `stats()`. */
export function liveMappings(): MappingInfo[] {
  return [...live.values()];
}

/**
 * Runs a native open, which writes `[id, address, length]` into `out`, and
 * wraps the mapping it made in a handle.
 *
 * @param symbols The library.
 * @param call The public call, for messages.
 * @param meta What the handle remembers.
 * @param native The native open.
 * @throws The error the native status maps to.
 */
export function adopt(
  symbols: Symbols,
  call: string,
  meta: MappingMeta,
  native: (out: BigUint64Array) => number,
): Mmap {
  const out = new BigUint64Array(3);
  const status = native(out);
  if (status !== 0) throw nativeError(symbols, status, call, meta.name);
  return hooks.create(symbols, out, meta);
}

/**
 * Checks that a value is a handle from this package, for the functions
 * that take one.
 *
 * @throws {TypeError} When it is not.
 */
export function toHandle(value: unknown, call: string): Mmap {
  if (hooks.isHandle(value)) return value;
  throw new TypeError(
    `${where(call)}: expected a handle returned by open(): received ${
      describe(value)
    }`,
  );
}

/** The name a handle's messages use: the path as the user gave it. */
export function handleName(handle: Mmap): string {
  return hooks.nameOf(handle);
}
