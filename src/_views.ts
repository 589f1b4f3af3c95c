/**
 * View bookkeeping: which buffers a mapping has handed out, so that close()
 * can empty them before the memory behind them goes, and so that a live view
 * keeps its handle from being collected. Private to the package.
 *
 * @module
 */

// A live view keeps its handle alive: the key (the view's buffer) holds the
// value (the handle) for as long as the buffer is reachable.
const owners = new WeakMap<ArrayBuffer, object>();

/** Whether `buffer` is the memory of a mapping, handed out by `view()`. */
export function isMapped(buffer: ArrayBufferLike): boolean {
  return buffer instanceof ArrayBuffer && owners.has(buffer);
}

/** The buffers one mapping has handed out. */
export class Views {
  /** Every buffer handed out (pruned of collected ones now and then). */
  #refs: WeakRef<ArrayBuffer>[] = [];
  #pruneAt = 64;

  /** Records a buffer over the mapping of `owner`. */
  add(buffer: ArrayBuffer, owner: object): void {
    owners.set(buffer, owner);
    this.#refs.push(new WeakRef(buffer));
    if (this.#refs.length >= this.#pruneAt) {
      this.#refs = this.#refs.filter((ref) => ref.deref() !== undefined);
      this.#pruneAt = Math.max(64, this.#refs.length * 2);
    }
  }

  /**
   * Whether a buffer handed out was detached by someone else: moved with
   * `ArrayBuffer.prototype.transfer`, `structuredClone` or `postMessage`.
   * The new buffer still points at the mapping and nothing tracks it, so
   * unmapping (or moving) the mapping would leave it dangling, a crash on
   * its next access: such a mapping is deliberately left in place until the
   * process exits. (A buffer collected already cannot be checked.)
   */
  escaped(): boolean {
    return this.#refs.some((ref) => ref.deref()?.detached === true);
  }

  /** Empties every buffer handed out, before the memory behind it goes. */
  detach(): void {
    for (const ref of this.#refs) {
      const buffer = ref.deref();
      // Detach: the buffer keeps its identity but loses its bytes.
      if (buffer !== undefined && !buffer.detached) buffer.transfer(0);
    }
    this.#refs = [];
  }
}
