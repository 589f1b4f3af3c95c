/**
 * The async forms of synchronous calls. Private to the package.
 *
 * @module
 */

/**
 * Runs `call` now and returns its result as a promise: a throw becomes a
 * rejection, never an exception out of a function that returns a promise.
 */
export function promised<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * `Promise.resolve` as it was when the package loaded, for the async copies'
 * fast path: a caller replacing the global later changes nothing.
 */
export const resolved: <T>(value: T) => Promise<T> = Promise.resolve.bind(
  Promise,
);
