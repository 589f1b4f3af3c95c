/**
 * View bookkeeping: which buffers a mapping has handed out, so that close()
 * can empty the ones it can reach, and so that a live view keeps its handle
 * from being collected. Private to the package.
 *
 * Safety does not depend on this file: every view's buffer is an external
 * buffer that owns the mapping's pages until the engine frees it
 * (`ffi/src/napi.rs`), so a buffer this bookkeeping misses (moved, sent to a
 * worker, held by an async op) keeps valid memory; only well-behaved code
 * relies on close() emptying its views. Still, it reads everything through
 * intrinsics captured at load, so a replaced `WeakRef.prototype.deref`,
 * `ArrayBuffer.prototype.transfer` or `Array.prototype.push` (or a setter on
 * `Array.prototype`) cannot stop it.
 *
 * @module
 */

import {
  append,
  arrayBufferDetached,
  arrayBufferTransfer,
  isArrayBuffer,
  weakRefDeref,
} from "./_intrinsics.ts";

const NativeWeakRef = WeakRef;

// A live view keeps its handle alive: the key (the view's buffer) holds the
// value (the handle) for as long as the buffer is reachable.
const owners = new WeakMap<ArrayBuffer, object>();

/** Whether `buffer` is the memory of a mapping, handed out by `view()`. */
export function isMapped(buffer: ArrayBufferLike): boolean {
  return isArrayBuffer(buffer) && owners.has(buffer);
}

/** The buffers one mapping has handed out. */
export class Views {
  /** Every buffer handed out (pruned of collected ones now and then). */
  #refs: WeakRef<ArrayBuffer>[] = [];
  #pruneAt = 64;

  /** Records a buffer over the mapping of `owner`. */
  add(buffer: ArrayBuffer, owner: object): void {
    owners.set(buffer, owner);
    const refs = this.#refs;
    append(refs, new NativeWeakRef(buffer));
    if (refs.length < this.#pruneAt) return;
    const kept: WeakRef<ArrayBuffer>[] = [];
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i];
      if (weakRefDeref(ref) !== undefined) append(kept, ref);
    }
    this.#refs = kept;
    this.#pruneAt = kept.length * 2 > 64 ? kept.length * 2 : 64;
  }

  /**
   * Empties every buffer handed out that is still reachable here: each
   * keeps its identity but loses its bytes (length 0), and its hold on the
   * pages goes at once.
   */
  detach(): void {
    const refs = this.#refs;
    this.#refs = [];
    for (let i = 0; i < refs.length; i++) {
      const buffer = weakRefDeref(refs[i]);
      if (buffer !== undefined && !arrayBufferDetached(buffer)) {
        arrayBufferTransfer(buffer, 0);
      }
    }
  }
}
