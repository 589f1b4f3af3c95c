/**
 * Typed views over a mapping (`Mmap.viewAs`): which constructors are
 * accepted, how long a view is and whether its first element is aligned.
 * The view itself is made in `mmap.ts`, like `view()`, so it is detached
 * on close and resize like every other view.
 *
 * @module
 */

import { describe, MAX_INDEX, toIndex, where } from "./_args.ts";

/** The typed array constructors {@linkcode Mmap.viewAs} accepts. */
export type ViewType =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Float16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

/** The view {@linkcode Mmap.viewAs} returns for a constructor. */
export type ViewOf<T extends ViewType> = InstanceType<T>;

// The built-in constructors as they were when the package loaded, with the
// size of their elements: a replaced global or a subclass is not one of
// them. Float16Array is there where the runtime has it.
const kinds: [ViewType, number][] = [
  [Int8Array, 1],
  [Uint8Array, 1],
  [Uint8ClampedArray, 1],
  [Int16Array, 2],
  [Uint16Array, 2],
  [Int32Array, 4],
  [Uint32Array, 4],
  [Float32Array, 4],
  [Float64Array, 8],
  [BigInt64Array, 8],
  [BigUint64Array, 8],
];
const float16 = (globalThis as { Float16Array?: Float16ArrayConstructor })
  .Float16Array;
if (typeof float16 === "function") kinds[kinds.length] = [float16, 2];
const names: string[] = [];
for (let i = 0; i < kinds.length; i++) names[i] = kinds[i][0].name;
const accepted = names.join(", ");

/** What `viewAs` needs to make a view: the constructor and the byte range. */
export interface ViewPlan {
  /** The built-in constructor to call (never the caller's value itself). */
  type: ViewType;
  /** First byte of the view in the mapping. */
  at: number;
  /** Bytes in the view. */
  bytes: number;
}

/**
 * Checks the arguments of `viewAs` against a mapping of `size` bytes whose
 * first byte sits `base` bytes past an 8-byte boundary in memory.
 *
 * @throws {TypeError} When `type` is not a built-in typed array
 * constructor.
 * @throws {RangeError} When the range reaches past the mapping, the first
 * element is not aligned to its size, or (with no `length`) the rest of the
 * mapping is not a whole number of elements.
 */
export function planView(
  type: unknown,
  byteOffset: unknown,
  length: unknown,
  base: number,
  size: number,
  name: string,
): ViewPlan {
  let kind = -1;
  for (let i = 0; i < kinds.length; i++) {
    if (kinds[i][0] === type) kind = i;
  }
  if (kind < 0) {
    throw new TypeError(
      `${where("viewAs", name)}: type must be one of ${accepted}: received ${
        describe(type)
      }`,
    );
  }
  const [ctor, element] = kinds[kind];
  const typeName = names[kind];
  const at = toIndex(byteOffset, "byteOffset", "viewAs", name);
  if ((base + at) % element !== 0) {
    throw new RangeError(
      `${
        where("viewAs", name)
      }: byteOffset ${at} is not aligned for ${typeName} (its elements are ${element} bytes; the mapping starts ${base} bytes past an 8-byte boundary)`,
    );
  }
  let bytes: number;
  if (length === undefined) {
    bytes = at <= size ? size - at : 0;
    if (bytes % element !== 0) {
      throw new RangeError(
        `${
          where("viewAs", name)
        }: the ${bytes} bytes from byteOffset ${at} to the end of the mapping are not a whole number of ${typeName} elements: give a length`,
      );
    }
  } else {
    const count = toIndex(length, "length", "viewAs", name);
    // Too many elements to count in bytes exactly is out of range anyway.
    bytes = count > MAX_INDEX / element ? Infinity : count * element;
  }
  if (at > size || bytes > size - at) {
    throw new RangeError(
      `${where("viewAs", name)}: range ${at}..${
        at + bytes
      } (${typeName}) is outside the mapping of ${size} bytes`,
    );
  }
  return { type: ctor, at, bytes };
}
