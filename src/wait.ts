/**
 * Waiting on a word of a mapping until another thread or process notifies
 * it: {@linkcode wait}, {@linkcode waitAsync} and {@linkcode notify}, the
 * cross-process counterparts of `Atomics.wait`, `Atomics.waitAsync` and
 * `Atomics.notify` (which need a `SharedArrayBuffer`, and a mapping is
 * not one).
 *
 * A **wait cell** is 8 bytes at an offset that is a multiple of 4: the
 * `Int32` the caller waits on, then 4 bytes in which the package counts the
 * threads (in any process) asleep on it. The count lives in the mapping so
 * that every process sees it: a `notify` with nobody asleep costs no system
 * call. Leave those 4 bytes alone (zero, as a new file or shared memory
 * object has them) and write the `Int32` with `Atomics.store` on an
 * `Int32Array` over {@linkcode Mmap.view}, or with `writeSync`.
 *
 * Linux sleeps on a shared (non-private) futex, macOS on
 * `os_sync_wait_on_address` with its shared flag (macOS 14.4+) or else
 * `__ulock_wait2` with the shared operation, chosen when first used. Not
 * available on Windows yet (`NotSupported`).
 *
 * @module
 */

import { describe, toIndex, toOptions, where } from "./_args.ts";
import { promised } from "./_async.ts";
import { toHandle } from "./_handles.ts";
import { closedError, nativeError } from "./errors.ts";
import { type Symbols, WaitResult } from "./ffi.ts";
import type { MmapHandle } from "./types.ts";

/** How a {@linkcode wait} ended, as `Atomics.wait` says it. */
export type WaitOutcome = "ok" | "not-equal" | "timed-out";

/** Options of {@linkcode wait} and {@linkcode waitAsync}. */
export interface WaitOptions {
  /**
   * How many times to look at the word before going to sleep (a whole
   * number from 0 to 2^32 - 1; default {@linkcode DEFAULT_SPIN}). Between
   * two running processes a change is seen within a microsecond while a
   * sleeper takes tens of microseconds to wake, so a short spin makes a
   * quick answer quick; 0 sleeps at once.
   */
  spin?: number;
}

/**
 * The default number of looks at the word before a wait sleeps (each a
 * load and a CPU pause hint: a few to a few tens of microseconds in all).
 */
export const DEFAULT_SPIN = 1000;

/** Bytes of a wait cell: the word and its sleeper count. */
export const WAIT_CELL_BYTES = 8;

/**
 * What a wait needs of a handle, passed by the `Mmap` methods (plain
 * values: the hot path allocates nothing).
 */
export interface WaitTarget {
  symbols: Symbols;
  id: number;
  name: string;
  len: number;
}

const OUTCOMES: WaitOutcome[] = ["ok", "not-equal", "timed-out"];

function missing(call: string, name: string): never {
  throw new Deno.errors.NotSupported(
    `${
      where(call, name)
    }: the native library predates wait and notify; update it`,
  );
}

/** The offset of a wait cell, after checking it against the mapping. */
function toCell(offset: unknown, target: WaitTarget, call: string): number {
  const at = toIndex(offset, "offset", call, target.name);
  if (at % 4 !== 0) {
    throw new RangeError(
      `${
        where(call, target.name)
      }: offset must be a multiple of 4: received ${at}`,
    );
  }
  if (at > target.len - WAIT_CELL_BYTES) {
    throw new RangeError(
      `${
        where(call, target.name)
      }: a wait cell is ${WAIT_CELL_BYTES} bytes (the Int32 and its sleeper count): ${at}..${
        at + WAIT_CELL_BYTES
      } is outside the mapping of ${target.len} bytes`,
    );
  }
  return at;
}

/** The expected value as an int32 (as `Atomics.wait` compares it). */
function toExpected(value: unknown, call: string, name: string): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `${where(call, name)}: expected must be a number: received ${
        describe(value)
      }`,
    );
  }
  if (!(value >= -0x80000000 && value <= 0xffffffff && value % 1 === 0)) {
    throw new RangeError(
      `${
        where(call, name)
      }: expected must be a whole number from -2^31 to 2^32 - 1: received ${value}`,
    );
  }
  return value | 0;
}

/** Milliseconds, `Infinity` by default. */
function toTimeout(value: unknown, call: string, name: string): number {
  if (value === undefined) return Infinity;
  if (typeof value !== "number") {
    throw new TypeError(
      `${
        where(call, name)
      }: timeout must be a number of milliseconds: received ${describe(value)}`,
    );
  }
  // NaN fails this test too.
  if (!(value >= 0)) {
    throw new RangeError(
      `${
        where(call, name)
      }: timeout must be 0 or more milliseconds (Infinity: no limit): received ${value}`,
    );
  }
  return value;
}

function toSpin(options: unknown, call: string, name: string): number {
  if (options === undefined) return DEFAULT_SPIN;
  const { spin } = toOptions<WaitOptions>(options, call, name);
  if (spin === undefined) return DEFAULT_SPIN;
  if (typeof spin !== "number") {
    throw new TypeError(
      `${where(call, name)}: option "spin" must be a number: received ${
        describe(spin)
      }`,
    );
  }
  if (!(spin >= 0 && spin <= 0xffffffff && spin % 1 === 0)) {
    throw new RangeError(
      `${
        where(call, name)
      }: option "spin" must be a whole number from 0 to 2^32 - 1: received ${spin}`,
    );
  }
  return spin;
}

/** The outcome of a native wait that returned `status` and `out[0]`. */
function outcome(
  target: WaitTarget,
  status: number,
  out: Int32Array,
  call: string,
  closed: () => boolean,
): WaitOutcome {
  if (status !== 0) {
    throw nativeError(target.symbols, status, call, target.name);
  }
  const result = out[0];
  if (result === WaitResult.cancelled) {
    if (closed()) {
      throw new Deno.errors.BadResource(
        `${where(call, target.name)}: the mapping was closed while waiting`,
      );
    }
    throw new Deno.errors.Interrupted(
      `${
        where(call, target.name)
      }: the mapping was closed, resized or remapped while waiting`,
    );
  }
  return OUTCOMES[result];
}

// The sync calls' result slots, made once: a typed array passed to a
// `buffer` parameter must live outside V8's heap, and moving a fresh small
// one there costs microseconds per call.
const waitOut = new Int32Array(1);
const notifyOut = new Float64Array(1);
const never = () => false;

/**
 * The body of {@linkcode Mmap.wait}: blocks this thread. The handle is
 * open (checked by the caller).
 *
 * @param target The handle's native side.
 */
export function waitOn(
  target: WaitTarget,
  offset: unknown,
  expected: unknown,
  timeout: unknown,
  options: unknown,
): WaitOutcome {
  const at = toCell(offset, target, "wait");
  const value = toExpected(expected, "wait", target.name);
  const ms = toTimeout(timeout, "wait", target.name);
  const spin = toSpin(options, "wait", target.name);
  const native = target.symbols.mmap_wait ?? missing("wait", target.name);
  const status = native(target.id, at, value, ms, spin, waitOut);
  // A sync wait cannot see its own handle closed (this thread is blocked).
  return outcome(target, status, waitOut, "wait", never);
}

/**
 * The body of {@linkcode Mmap.waitAsync}: the word is checked at once, and
 * the sleep runs on one of the runtime's blocking threads.
 *
 * @param target The handle's native side.
 * @param closed Whether the handle has been closed (asked when the wait
 * ends).
 */
export async function waitOnAsync(
  target: WaitTarget,
  closed: () => boolean,
  offset: unknown,
  expected: unknown,
  timeout: unknown,
  options: unknown,
): Promise<WaitOutcome> {
  const call = "waitAsync";
  const at = toCell(offset, target, call);
  const value = toExpected(expected, call, target.name);
  const ms = toTimeout(timeout, call, target.name);
  const spin = toSpin(options, call, target.name);
  const symbols = target.symbols;
  const now = symbols.mmap_wait ?? missing(call, target.name);
  const later = symbols.mmap_wait_nonblocking ?? missing(call, target.name);
  // A first look on this thread: a word that differs (or a timeout of 0)
  // settles without a thread, and errors come with their details.
  const first = outcome(
    target,
    now(target.id, at, value, 0, 0, waitOut),
    waitOut,
    call,
    closed,
  );
  if (first === "not-equal" || ms === 0) return first;
  // Its own slot: the other thread writes it while this one goes on.
  const out = new Int32Array(1);
  const status = await later(target.id, at, value, ms, spin, out);
  if (status !== 0) {
    // The failure's details stay with the thread that slept: look again
    // here, which fails the same way (or reports the word's state now).
    if (closed()) throw closedError(call, target.name);
    return outcome(
      target,
      now(target.id, at, value, 0, 0, waitOut),
      waitOut,
      call,
      closed,
    );
  }
  return outcome(target, status, out, call, closed);
}

/**
 * The body of {@linkcode Mmap.notify}. The handle is open.
 *
 * @param target The handle's native side.
 */
export function notifyOn(
  target: WaitTarget,
  offset: unknown,
  count: unknown,
): number {
  const at = toCell(offset, target, "notify");
  let n = Infinity;
  if (count !== undefined) {
    if (typeof count !== "number") {
      throw new TypeError(
        `${where("notify", target.name)}: count must be a number: received ${
          describe(count)
        }`,
      );
    }
    if (!(count >= 0 && (count === Infinity || count % 1 === 0))) {
      throw new RangeError(
        `${
          where("notify", target.name)
        }: count must be a whole number from 0, or Infinity: received ${count}`,
      );
    }
    n = count;
  }
  const native = target.symbols.mmap_notify ?? missing("notify", target.name);
  const status = native(target.id, at, n, notifyOut);
  if (status !== 0) {
    throw nativeError(target.symbols, status, "notify", target.name);
  }
  return notifyOut[0];
}

/**
 * Sleeps while the `Int32` at `offset` of the mapping holds `expected`,
 * until another thread or process calls {@linkcode notify} on it, like
 * `Atomics.wait` (and, like it, synchronous: it blocks this thread, so use
 * {@linkcode waitAsync} on a thread with an event loop to keep). It first
 * looks at the word `spin` times, then sleeps. The word is the first half of
 * an 8-byte wait cell (see the module notes); the mapping must be
 * read-write and shared (a file opened for writing, or shared memory;
 * anonymous memory works between the workers of one process).
 *
 * `"ok"` means woken: by a notify, by a change of the word seen while
 * spinning, or, as with any futex, spuriously (when another process closes
 * its mapping of the word, say): look at the word again.
 *
 * @param h The mapping.
 * @param offset Offset of the wait cell: a multiple of 4, with 8 bytes in
 * the mapping.
 * @param expected The value to sleep on (compared as an int32).
 * @param timeout Milliseconds to wait at most; `Infinity` (the default) or
 * anything above about 31 years waits without limit.
 * @param options `spin`: looks at the word before sleeping.
 * @returns `"not-equal"` when the word does not hold `expected`, else
 * `"ok"` or `"timed-out"`.
 * @throws {RangeError} When `offset` is not a multiple of 4 or the cell
 * reaches past the mapping, `expected` is not an int32 or uint32, or
 * `timeout` is NaN or negative.
 * @throws {TypeError} When the mapping is read-only or copy-on-write, or an
 * argument has the wrong type.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 * @throws {Deno.errors.Interrupted} When the mapping is closed, resized or
 * remapped (by another thread) while waiting.
 * @throws {Deno.errors.NotSupported} On Windows, for now.
 *
 * @example Wait with a timeout
 * ```ts
 * import { openAnonymousSync, wait } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * using m = openAnonymousSync(4096);
 * assert.equal(wait(m, 0, 1), "not-equal");
 * assert.equal(wait(m, 0, 0, 10), "timed-out");
 * ```
 */
export function wait(
  h: MmapHandle,
  offset: number | bigint,
  expected: number,
  timeout?: number,
  options?: WaitOptions,
): WaitOutcome {
  return toHandle(h, "wait").wait(offset, expected, timeout, options);
}

/**
 * Like {@linkcode wait}, as a promise, without blocking the event loop (the
 * sleep runs on one of the runtime's blocking threads). A word that does not
 * hold `expected` settles at once with `"not-equal"`.
 *
 * Unlike `Atomics.waitAsync`, a pending wait keeps the process alive, as a
 * pending read of a socket does, since what it waits for usually comes from
 * another process; it always ends: when notified, at its timeout, or with an
 * error when the mapping is closed, resized or remapped (also when the
 * worker that opened it ends).
 *
 * @param h The mapping.
 * @param offset Offset of the wait cell: a multiple of 4.
 * @param expected The value to sleep on.
 * @param timeout Milliseconds to wait at most (default `Infinity`).
 * @param options `spin`: looks at the word before sleeping.
 * @returns A promise of `"ok"`, `"not-equal"` or `"timed-out"`.
 *
 * @example Wake an async waiter
 * ```ts
 * import { notify, openAnonymousSync, waitAsync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * using m = openAnonymousSync(4096);
 * const woken = waitAsync(m, 0, 0, 5000, { spin: 0 });
 * setTimeout(() => {
 *   Atomics.store(new Int32Array(m.view().buffer), 0, 1);
 *   notify(m, 0);
 * }, 20);
 * assert.equal(await woken, "ok");
 * ```
 */
export function waitAsync(
  h: MmapHandle,
  offset: number | bigint,
  expected: number,
  timeout?: number,
  options?: WaitOptions,
): Promise<WaitOutcome> {
  return promised(() =>
    toHandle(h, "waitAsync").waitAsync(offset, expected, timeout, options)
  );
}

/**
 * Wakes up to `count` threads (in any process) asleep in {@linkcode wait}
 * or {@linkcode waitAsync} on the wait cell at `offset`, like
 * `Atomics.notify`. Change the word first, then notify. When the cell's
 * sleeper count says nobody sleeps, it makes no system call and returns 0.
 *
 * @param h The mapping.
 * @param offset Offset of the wait cell: a multiple of 4.
 * @param count How many to wake at most (default `Infinity`: all).
 * @returns How many woke, as the OS reports it (macOS wakes one at a time
 * to count them).
 * @throws {RangeError} When `offset` is not a multiple of 4, the cell
 * reaches past the mapping, or `count` is negative, fractional or NaN.
 * @throws {TypeError} When the mapping is read-only or copy-on-write.
 * @throws {Deno.errors.BadResource} When the mapping is closed.
 *
 * @example Nobody waits
 * ```ts
 * import { notify, openAnonymousSync } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * using m = openAnonymousSync(4096);
 * assert.equal(notify(m, 8), 0);
 * ```
 */
export function notify(
  h: MmapHandle,
  offset: number | bigint,
  count?: number,
): number {
  return toHandle(h, "notify").notify(offset, count);
}
