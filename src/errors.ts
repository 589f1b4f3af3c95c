/**
 * Native status codes and OS errors, mapped to error classes in one place.
 *
 * @module
 */

import { where } from "./_args.ts";
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

/**
 * Native status codes (`Status` in `ffi/src/error.rs`); `tests/abi_test.ts`
 * checks them against the loaded library.
 */
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
  busy: 9,
} as const;

/**
 * Error kinds of an OS failure (`KIND_*` in `ffi/src/error.rs`: Rust's
 * `io::ErrorKind`, folded to numbers); checked like {@linkcode Status}.
 */
export const ErrorKind = {
  notFound: 1,
  permissionDenied: 2,
  alreadyExists: 3,
  invalidInput: 4,
  outOfMemory: 5,
  unsupported: 6,
  unexpectedEof: 7,
  wouldBlock: 8,
  interrupted: 9,
  timedOut: 10,
  invalidData: 11,
  isADirectory: 12,
  notADirectory: 13,
} as const;

type ErrorClass = new (message: string, options?: ErrorOptions) => Error;

/** Error kinds → error classes; a kind not listed becomes an MmapError. */
const KIND_CLASSES: Record<number, ErrorClass> = {
  [ErrorKind.notFound]: Deno.errors.NotFound,
  [ErrorKind.permissionDenied]: Deno.errors.PermissionDenied,
  [ErrorKind.alreadyExists]: Deno.errors.AlreadyExists,
  [ErrorKind.invalidInput]: TypeError,
  [ErrorKind.unsupported]: Deno.errors.NotSupported,
  [ErrorKind.unexpectedEof]: Deno.errors.UnexpectedEof,
  [ErrorKind.wouldBlock]: Deno.errors.WouldBlock,
  [ErrorKind.interrupted]: Deno.errors.Interrupted,
  [ErrorKind.timedOut]: Deno.errors.TimedOut,
  [ErrorKind.invalidData]: Deno.errors.InvalidData,
  [ErrorKind.isADirectory]: Deno.errors.IsADirectory,
  [ErrorKind.notADirectory]: Deno.errors.NotADirectory,
};

/** Status codes that are not OS errors → error classes. */
const STATUS_CLASSES: Record<number, ErrorClass> = {
  [Status.badHandle]: Deno.errors.BadResource,
  [Status.outOfRange]: RangeError,
  [Status.invalidArgument]: TypeError,
  [Status.truncated]: Deno.errors.UnexpectedEof,
  [Status.readOnly]: TypeError,
  [Status.unsupported]: Deno.errors.NotSupported,
  [Status.busy]: Deno.errors.Busy,
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
  const message = `${where(call, path)}: ${cause}`;
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
    `${where(call, path)}: the mapping is closed`,
  );
}
