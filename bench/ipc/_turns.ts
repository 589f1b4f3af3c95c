// The shared-memory ping-pong of bench/ipc/pingpong.ts (two processes) and
// bench/ipc/workers.ts (two Workers): a turn counter's wait cell at offset 0
// of an `openShared` mapping (the word, then the package's count of the
// threads asleep on it, at 4), a "ready" word at 16 that the answering side
// sets once it has opened the mapping, and at 32 the answering side's
// sleeps (bench/ipc/_sched.ts) when it is done.
//
// Two ways to play:
// - spinning (`spin` > 0, `asleep` false): each wait looks at the word
//   `spin` times before it sleeps, and a notify makes a system call only
//   when the count says someone sleeps: the quick answer of two running
//   processes;
// - always sleeping (`spin` 0, `asleep` true): before it hands the turn
//   over, each side waits until the count says the other side is asleep on
//   the word, so every round trip wakes two sleepers (without it, a wait
//   that comes after the answer returns "not-equal" without sleeping, and a
//   round may sleep once or not at all).

import { type Mmap, notify, openSharedSync, wait } from "../../mod.ts";
import { sleeps, yieldCpu } from "./_sched.ts";

const TURN = 0;
const SLEEPING = 1;
const READY = 16;
const PEER_SLEEPS = 32;

/** How the two sides play (see the module notes). */
export interface Play {
  spin: number;
  asleep: boolean;
}

/** Waits until the count of the turn's cell says the other side sleeps. */
function untilAsleep(w: Int32Array): void {
  for (let look = 0; Atomics.load(w, SLEEPING) === 0; look++) {
    // The other side may need this CPU to get to sleep.
    if (look % 64 === 63) yieldCpu();
  }
}

/**
 * The asking side: waits for the answering side to be ready, then plays
 * `warmup + rounds` turns. The clock is the caller's, so the answering side
 * (a Worker) does not load it. Returns the stamps (`now()`) of the last
 * `rounds + 1` turns, and `sleepsOf()`: the sleeps of both sides
 * (bench/ipc/_sched.ts) over all turns, once the answering side is done.
 */
export function ask(
  m: Mmap,
  rounds: number,
  warmup: number,
  play: Play,
  now: () => number,
): { stamps: Float64Array; sleepsOf: () => number } {
  const w = new Int32Array(m.view().buffer);
  while (Atomics.load(w, READY / 4) === 0) wait(m, READY, 0, 10);
  const options = { spin: play.spin };
  const stamps = new Float64Array(rounds + 1);
  const before = sleeps();
  for (let i = 0; i < rounds + warmup; i++) {
    if (play.asleep) untilAsleep(w);
    Atomics.store(w, TURN, 2 * i + 1);
    notify(m, TURN);
    while (Atomics.load(w, TURN) !== 2 * i + 2) {
      wait(m, TURN, 2 * i + 1, Infinity, options);
    }
    if (i >= warmup - 1) stamps[i - warmup + 1] = now();
  }
  const mine = sleeps() - before;
  const peer = new Float64Array(m.view().buffer, PEER_SLEEPS, 1);
  return { stamps, sleepsOf: () => mine + peer[0] };
}

/** The answering side: opens the mapping `name`, answers `total` turns. */
export function answer(name: string, total: number, play: Play): void {
  using m = openSharedSync(name);
  const w = new Int32Array(m.view().buffer);
  const options = { spin: play.spin };
  const before = sleeps();
  Atomics.store(w, READY / 4, 1);
  notify(m, READY);
  for (let i = 0; i < total; i++) {
    while (Atomics.load(w, TURN) !== 2 * i + 1) {
      wait(m, TURN, 2 * i, Infinity, options);
    }
    if (play.asleep) untilAsleep(w);
    Atomics.store(w, TURN, 2 * i + 2);
    notify(m, TURN);
  }
  new Float64Array(m.view().buffer, PEER_SLEEPS, 1)[0] = sleeps() - before;
}
