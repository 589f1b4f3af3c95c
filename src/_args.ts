/**
 * Argument rules shared by the public functions: offsets and lengths,
 * buffers, boolean options, option objects and paths. Every message starts
 * with the call and the name the user gave (`mmap read "data.bin": …`), and
 * is built only when a check fails, so the hot calls pay for the checks
 * alone. Private to the package.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { isAbsolute, resolve } from "node:path";
import { isUint8Array, typedArrayLength } from "./_intrinsics.ts";
import { ADVICE, FlushMode } from "./ffi.ts";

/** Largest offset or length accepted: every such number is exact in a double. */
export const MAX_INDEX = Number.MAX_SAFE_INTEGER;
const MAX_BIG_INDEX = BigInt(MAX_INDEX);

/**
 * The start of every message about a call: `mmap open "data.bin"`, or
 * `mmap open` before a name is known.
 */
export function where(call: string, name?: string): string {
  return name === undefined ? `mmap ${call}` : `mmap ${call} "${name}"`;
}

/** Describes a value for an error message without running user code. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" || typeof value === "function") {
    const name = Object.prototype.toString.call(value).slice(8, -1);
    return `an object (${name})`;
  }
  return String(value);
}

/**
 * Converts an offset, length or size to a number: a whole number from 0 to
 * 2^53 - 1, given as a number or a bigint. A plain number in range costs
 * three comparisons; the message is built only on failure.
 *
 * @throws {TypeError} When `value` is neither a number nor a bigint.
 * @throws {RangeError} When it is negative, fractional, NaN or too large.
 */
export function toIndex(
  value: unknown,
  what: string,
  call: string,
  name?: string,
): number {
  if (typeof value === "number") {
    // `% 1` rather than Number.isInteger, which a caller could replace.
    if (value >= 0 && value <= MAX_INDEX && value % 1 === 0) return value;
  } else if (typeof value === "bigint") {
    if (value >= 0n && value <= MAX_BIG_INDEX) return Number(value);
  } else {
    throw new TypeError(
      `${where(call, name)}: ${what} must be a number or a bigint: received ${
        describe(value)
      }`,
    );
  }
  throw new RangeError(
    `${
      where(call, name)
    }: ${what} must be a whole number from 0 to 2^53 - 1: received ${
      describe(value)
    }`,
  );
}

/**
 * Checks that `[offset, offset + length)` lies within `size` bytes.
 *
 * @throws {RangeError} When it does not; nothing has been copied yet.
 */
export function checkRange(
  offset: number,
  length: number,
  size: number,
  call: string,
  name: string,
): void {
  if (length > size || offset > size - length) {
    throw new RangeError(
      `${where(call, name)}: range ${offset}..${
        offset + length
      } is outside the mapping of ${size} bytes`,
    );
  }
}

/**
 * `[offset, length]` of a range of a mapping of `size` bytes, `length`
 * defaulting to the rest of the mapping, after checking it.
 */
export function toRange(
  offset: unknown,
  length: unknown,
  size: number,
  call: string,
  name: string,
): [number, number] {
  const at = toIndex(offset, "offset", call, name);
  const count = length === undefined
    ? Math.max(size - at, 0)
    : toIndex(length, "length", call, name);
  checkRange(at, count, size, call, name);
  return [at, count];
}

/**
 * Checks that a buffer argument is a real `Uint8Array` and returns its real
 * length, read from the engine's internal slots: a shadowed `length`, a
 * subclass getter or a Proxy cannot make a copy longer than the memory.
 */
export function toBytes(
  value: unknown,
  what: string,
  call: string,
  name: string,
): number {
  if (isUint8Array(value)) return typedArrayLength(value);
  throw new TypeError(
    `${where(call, name)}: ${what} must be a Uint8Array: received ${
      describe(value)
    }`,
  );
}

/** A flush mode's native number; see `FlushMode` in types.ts. */
export function toFlushMode(mode: unknown, call: string, name: string): number {
  if (typeof mode === "string" && Object.hasOwn(FlushMode, mode)) {
    return FlushMode[mode as keyof typeof FlushMode];
  }
  throw new TypeError(
    `${
      where(call, name)
    }: mode must be "sync", "async" or "durable": received ${describe(mode)}`,
  );
}

/** An advice name's native number (its index in `ADVICE`). */
export function toAdvice(advice: unknown, call: string, name: string): number {
  const index = (ADVICE as readonly unknown[]).indexOf(advice);
  if (index >= 0) return index;
  throw new TypeError(
    `${where(call, name)}: advice must be one of ${
      ADVICE.map((a) => `"${a}"`).join(", ")
    }: received ${describe(advice)}`,
  );
}

/** A boolean option: `undefined` is `false`, anything else not boolean throws. */
export function toFlag(value: unknown, what: string, call: string): boolean {
  if (value === undefined) return false;
  if (typeof value === "boolean") return value;
  throw new TypeError(
    `${where(call)}: option "${what}" must be a boolean: received ${
      describe(value)
    }`,
  );
}

/**
 * An options argument: an object, or `undefined` or `null` for the
 * defaults (as Node and Bun read options).
 */
export function toOptions<T extends object>(
  options: unknown,
  call: string,
  name?: string,
): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options === "object" && options !== null) {
    return options as Partial<T>;
  }
  throw new TypeError(
    `${where(call, name)}: options must be an object: received ${
      describe(options)
    }`,
  );
}

/**
 * A path argument (a string or a `file:` URL) as `[name, absolute path]`:
 * the name as the user gave it, for messages, and the path to open.
 */
export function toPath(path: unknown, call: string): [string, string] {
  let name: string;
  if (path instanceof URL) {
    if (path.protocol !== "file:") {
      throw new TypeError(
        `${
          where(call)
        }: a URL path must use the file: protocol: received "${path.href}"`,
      );
    }
    name = fileURLToPath(path);
  } else if (typeof path === "string") {
    name = path;
  } else {
    throw new TypeError(
      `${where(call)}: path must be a string or a file URL: received ${
        describe(path)
      }`,
    );
  }
  if (name === "") {
    throw new TypeError(`${where(call)}: path must not be empty`);
  }
  if (name.includes("\0")) {
    throw new TypeError(
      `mmap ${call} ${JSON.stringify(name)}: path must not contain NUL`,
    );
  }
  return [name, isAbsolute(name) ? resolve(name) : resolve(Deno.cwd(), name)];
}
