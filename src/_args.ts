// Argument checks shared by the public functions. Private to the package.

/** Largest offset or length accepted: every such number is exact in a double. */
export const MAX_INDEX = Number.MAX_SAFE_INTEGER;

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
 * 2^53 - 1, given as a number or a bigint.
 *
 * @throws {TypeError} When `value` is neither a number nor a bigint.
 * @throws {RangeError} When it is negative, fractional, NaN or too large.
 */
export function toIndex(value: unknown, what: string, where: string): number {
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 0 && value <= MAX_INDEX) {
      return value;
    }
  } else if (typeof value === "bigint") {
    if (value >= 0n && value <= BigInt(MAX_INDEX)) return Number(value);
  } else {
    throw new TypeError(
      `${where}: ${what} must be a number or a bigint: received ${
        describe(value)
      }`,
    );
  }
  throw new RangeError(
    `${where}: ${what} must be a whole number from 0 to 2^53 - 1: received ${
      describe(value)
    }`,
  );
}
