/**
 * Built-in functions captured when the package loads, so that nothing the
 * package relies on can be changed afterwards by replacing a global, a
 * prototype method or a property of an argument. A caller can shadow
 * `length`, `buffer` or `byteOffset` on a typed array, subclass it, wrap it
 * in a Proxy or replace `ArrayBuffer.prototype.transfer`; these read the
 * engine's own internal slots instead. Private to the package.
 *
 * @module
 */

const { call } = Function.prototype;

/** `method.call(self, ...args)` without looking up `call` at run time. */
function uncurry<A extends unknown[], R>(
  method: (...args: A) => R,
): (self: unknown, ...args: A) => R {
  return call.bind(method) as (self: unknown, ...args: A) => R;
}

function getter<T>(prototype: object, key: PropertyKey): (self: unknown) => T {
  const descriptor = Reflect.getOwnPropertyDescriptor(prototype, key);
  if (descriptor?.get === undefined) {
    throw new Error(`mmap: the built-in getter ${String(key)} is missing`);
  }
  return uncurry(descriptor.get as () => T);
}

const TypedArrayPrototype = Reflect.getPrototypeOf(
  Uint8Array.prototype,
) as object;

/**
 * The typed array's kind (`"Uint8Array"`, …), or `undefined` for anything
 * that is not a real typed array: a Proxy, a look-alike object, a DataView.
 * Subclasses report the kind they extend.
 */
export const typedArrayKind: (value: unknown) => string | undefined = getter(
  TypedArrayPrototype,
  Symbol.toStringTag,
);

/** A typed array's real length in elements (0 when detached). */
export const typedArrayLength: (array: unknown) => number = getter(
  TypedArrayPrototype,
  "length",
);

/** A typed array's real length in bytes (0 when detached). */
export const typedArrayByteLength: (array: unknown) => number = getter(
  TypedArrayPrototype,
  "byteLength",
);

/** A typed array's real byte offset into its buffer. */
export const typedArrayByteOffset: (array: unknown) => number = getter(
  TypedArrayPrototype,
  "byteOffset",
);

/** A typed array's real buffer. */
export const typedArrayBuffer: (array: unknown) => ArrayBufferLike = getter(
  TypedArrayPrototype,
  "buffer",
);

/** Whether an `ArrayBuffer` can be resized (throws for anything else). */
export const arrayBufferResizable: (buffer: unknown) => boolean = getter(
  ArrayBuffer.prototype,
  "resizable",
);

/** Whether an `ArrayBuffer` has been detached (throws for anything else). */
export const arrayBufferDetached: (buffer: unknown) => boolean = getter(
  ArrayBuffer.prototype,
  "detached",
);

/** Whether a `SharedArrayBuffer` can grow (throws for anything else). */
export const sharedArrayBufferGrowable: (buffer: unknown) => boolean = getter(
  SharedArrayBuffer.prototype,
  "growable",
);

/** An `ArrayBuffer`'s real byte length; throws for anything else. */
export const arrayBufferByteLength: (buffer: unknown) => number = getter(
  ArrayBuffer.prototype,
  "byteLength",
);

/** `ArrayBuffer.prototype.transfer`, as it was when the package loaded. */
export const arrayBufferTransfer: (
  buffer: unknown,
  length?: number,
) => ArrayBuffer = uncurry(ArrayBuffer.prototype.transfer);

/** `WeakRef.prototype.deref`, as it was when the package loaded. */
export const weakRefDeref: <T extends WeakKey>(
  ref: WeakRef<T>,
) => T | undefined = uncurry(WeakRef.prototype.deref) as <T extends WeakKey>(
  ref: WeakRef<T>,
) => T | undefined;

const { defineProperty } = Reflect;

/**
 * Appends `value` to `array` as an own element, without
 * `Array.prototype.push` and without running a setter someone defined on
 * `Array.prototype` for that index.
 */
export function append<T>(array: T[], value: T): void {
  defineProperty(array, array.length, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/**
 * Whether `value` is a real `ArrayBuffer` (not a SharedArrayBuffer, not a
 * look-alike): the built-in getter accepts nothing else.
 */
export function isArrayBuffer(value: unknown): value is ArrayBuffer {
  try {
    arrayBufferByteLength(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a value is a real `Uint8Array` (or a subclass of one), judged by
 * the engine's internal slot rather than by its prototype chain, which a
 * Proxy or `Symbol.hasInstance` can fake.
 */
export function isUint8Array(value: unknown): value is Uint8Array {
  return typedArrayKind(value) === "Uint8Array";
}
