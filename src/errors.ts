/**
 * Native status codes and OS errors, mapped to error classes in one place.
 *
 * @module
 */

import type { Symbols } from "./ffi.ts";

/**
 * An OS failure with no more specific `Deno.errors` class, or a limit of the
 * library itself (such as the number of live mappings).
 */
export class MmapError extends Error {
  /** The OS error code (errno or GetLastError), or 0 when none applies. */
  readonly code: number;
  /** The failing call, such as `"mmap"` or `"ftruncate"`. */
  readonly call: string;

  /**
   * Creates an error.
   *
   * @param message What failed.
   * @param code The OS error code, or 0.
   * @param call The failing call.
   * @param options Standard error options (`cause`).
   */
  constructor(
    message: string,
    code: number,
    call: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "MmapError";
    this.code = code;
    this.call = call;
  }
}

/** Native status codes, as in `ffi/src/error.rs`. */
export const Status = {
  ok: 0,
  badHandle: 1,
  outOfRange: 2,
  invalidArgument: 3,
  truncated: 4,
  readOnly: 5,
  os: 6,
  tooManyMappings: 7,
  unsupported: 8,
} as const;

type ErrorClass = new (message: string, options?: ErrorOptions) => Error;

/** `io::ErrorKind` codes from `ffi/src/error.rs` → error classes. */
const KIND_CLASSES: Record<number, ErrorClass> = {
  1: Deno.errors.NotFound,
  2: Deno.errors.PermissionDenied,
  3: Deno.errors.AlreadyExists,
  4: TypeError,
  6: Deno.errors.NotSupported,
  7: Deno.errors.UnexpectedEof,
  8: Deno.errors.WouldBlock,
  9: Deno.errors.Interrupted,
  10: Deno.errors.TimedOut,
  11: Deno.errors.InvalidData,
  12: Deno.errors.IsADirectory,
  13: Deno.errors.NotADirectory,
};

/** Status codes that are not OS errors → error classes. */
const STATUS_CLASSES: Record<number, ErrorClass> = {
  [Status.badHandle]: Deno.errors.BadResource,
  [Status.outOfRange]: RangeError,
  [Status.invalidArgument]: TypeError,
  [Status.truncated]: Deno.errors.UnexpectedEof,
  [Status.readOnly]: TypeError,
  [Status.unsupported]: Deno.errors.NotSupported,
};

const info = new Int32Array(2);
const text = new Uint8Array(512);
const decoder = new TextDecoder();

/**
 * Builds the error for a failed native call, reading the thread's last error.
 *
 * @param symbols The library that failed.
 * @param status The non-zero status it returned.
 * @param call The public operation, such as `"read"`.
 * @param path The path the handle maps, as the user gave it.
 */
export function nativeError(
  symbols: Symbols,
  status: number,
  call: string,
  path: string,
): Error {
  const length = symbols.mmap_last_error(info, text, text.length);
  const detail = decoder.decode(
    text.subarray(0, Math.min(length, text.length)),
  );
  const tab = detail.indexOf("\t");
  const osCall = tab < 0 ? call : detail.slice(0, tab);
  const cause = tab < 0 ? detail : detail.slice(tab + 1);
  const message = `mmap ${call} "${path}": ${cause}`;
  if (status === Status.os) {
    const Class = KIND_CLASSES[info[1]];
    if (Class !== undefined) {
      return new Class(message, { cause: { code: info[0], call: osCall } });
    }
    return new MmapError(message, info[0], osCall);
  }
  const Class = STATUS_CLASSES[status];
  if (Class !== undefined) return new Class(message);
  return new MmapError(message, 0, osCall);
}

/** The error for a call on a closed handle. */
export function closedError(call: string, path: string): Error {
  return new Deno.errors.BadResource(
    `mmap ${call} "${path}": the mapping is closed`,
  );
}
