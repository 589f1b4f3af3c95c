// The shared-memory ping-pong of bench/ipc/pingpong.ts (two processes) and
// bench/ipc/workers.ts (two Workers): a turn counter's wait cell at offset 0
// of an `openShared` mapping, and a "ready" word at 16 that the answering
// side sets once it has opened the mapping.

import { type Mmap, notify, openSharedSync, wait } from "../../mod.ts";

const TURN = 0;
const READY = 16;

/**
 * The asking side: waits for the answering side to be ready, then plays
 * `warmup + rounds` turns; returns the stamps (`now()`) of the last
 * `rounds + 1`. The clock is the caller's, so the answering side (a Worker)
 * does not load it.
 */
export function ask(
  m: Mmap,
  rounds: number,
  warmup: number,
  spin: number,
  now: () => number,
): Float64Array {
  const w = new Int32Array(m.view().buffer);
  while (Atomics.load(w, READY / 4) === 0) wait(m, READY, 0, 10);
  const options = { spin };
  const stamps = new Float64Array(rounds + 1);
  for (let i = 0; i < rounds + warmup; i++) {
    Atomics.store(w, TURN, 2 * i + 1);
    notify(m, TURN);
    while (Atomics.load(w, TURN) !== 2 * i + 2) {
      wait(m, TURN, 2 * i + 1, Infinity, options);
    }
    if (i >= warmup - 1) stamps[i - warmup + 1] = now();
  }
  return stamps;
}

/** The answering side: opens the mapping `name`, answers `total` turns. */
export function answer(name: string, total: number, spin: number): void {
  using m = openSharedSync(name);
  const w = new Int32Array(m.view().buffer);
  Atomics.store(w, READY / 4, 1);
  notify(m, READY);
  const options = { spin };
  for (let i = 0; i < total; i++) {
    while (Atomics.load(w, TURN) !== 2 * i + 1) {
      wait(m, TURN, 2 * i, Infinity, options);
    }
    Atomics.store(w, TURN, 2 * i + 2);
    notify(m, TURN);
  }
}
