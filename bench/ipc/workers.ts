// Ping-pong latency between the main thread and a Worker: a word of
// `openShared` memory with wait()/notify() (spinning first, and always
// sleeping) against postMessage and a MessageChannel. p50 and p99 per round
// trip. A side program of `deno task bench:report` (bench/side.ts):
//
//   deno run -A --unstable-ffi bench/ipc/workers.ts [rounds, default 10000]

import { notify, openSharedSync, unlinkSharedSync, wait } from "../../mod.ts";
import { emit, now, percentiles, stampCost } from "./_clock.ts";

const GROUP = "ping-pong between Workers (round trip)";
let WARMUP = 1000;
const TURN = 0;
const READY = 16;

function start(): Worker {
  return new Worker(new URL("./_peer_worker.ts", import.meta.url), {
    type: "module",
  });
}

function message(worker: Worker | MessagePort): Promise<unknown> {
  return new Promise((resolve) => {
    worker.onmessage = (event) => resolve(event.data);
  });
}

async function sharedMemory(rounds: number, spin: number) {
  const name = `mmap-bench-pw-${Deno.pid}-${spin}`;
  using m = openSharedSync(name, { create: true, size: 4096 });
  try {
    const w = new Int32Array(m.view().buffer);
    const worker = start();
    const done = message(worker);
    worker.postMessage({ kind: "shm", name, total: rounds + WARMUP, spin });
    while (Atomics.load(w, READY / 4) === 0) wait(m, READY, 0, 10);
    const options = { spin };
    const stamps = new Float64Array(rounds + 1);
    for (let i = 0; i < rounds + WARMUP; i++) {
      Atomics.store(w, TURN, 2 * i + 1);
      notify(m, TURN);
      while (Atomics.load(w, TURN) !== 2 * i + 2) {
        wait(m, TURN, 2 * i + 1, Infinity, options);
      }
      if (i >= WARMUP - 1) stamps[i - WARMUP + 1] = now();
    }
    await done;
    worker.terminate();
    return stamps;
  } finally {
    unlinkSharedSync(name);
  }
}

async function echo(rounds: number, channel: boolean) {
  const worker = start();
  let port: Worker | MessagePort = worker;
  if (channel) {
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ kind: "port", port: port2 }, [port2]);
    port = port1;
  } else {
    worker.postMessage({ kind: "echo" });
  }
  const stamps = new Float64Array(rounds + 1);
  for (let i = 0; i < rounds + WARMUP; i++) {
    const back = message(port);
    port.postMessage(i);
    await back;
    if (i >= WARMUP - 1) stamps[i - WARMUP + 1] = now();
  }
  if (port instanceof MessagePort) port.close();
  worker.terminate();
  return stamps;
}

if (Deno.build.os === "windows") {
  console.log(
    JSON.stringify({ skip: "wait/notify is not available on Windows yet" }),
  );
} else {
  const rounds = Number(Deno.args[0] ?? 10_000);
  WARMUP = Math.min(WARMUP, rounds);
  const cost = stampCost();
  emit(
    GROUP,
    "postMessage",
    percentiles(await echo(rounds, false), cost),
    true,
  );
  emit(GROUP, "MessageChannel", percentiles(await echo(rounds, true), cost));
  emit(
    GROUP,
    "openShared + wait/notify, spinning (default spin)",
    percentiles(await sharedMemory(rounds, 1000), cost),
  );
  emit(
    GROUP,
    "openShared + wait/notify, always sleeping (spin 0)",
    percentiles(await sharedMemory(rounds, 0), cost),
  );
}
