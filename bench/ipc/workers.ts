// Ping-pong latency between the main thread and a Worker: a word of
// `openShared` memory with wait()/notify() (spinning first, and always
// sleeping) against postMessage and a MessageChannel. p50 and p99 per round
// trip. A side program of `deno task bench:report` (bench/side.ts):
//
//   deno run -A --unstable-ffi bench/ipc/workers.ts [rounds, default 10000]

import { openSharedSync, unlinkSharedSync } from "../../mod.ts";
import { ask, type Play } from "./_turns.ts";
import { emit, emitSleeps, now, percentiles, stampCost } from "./_clock.ts";

const GROUP = "ping-pong between Workers (round trip)";
let WARMUP = 1000;

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

async function sharedMemory(rounds: number, play: Play) {
  const name = `mmap-bench-pw-${Deno.pid}-${play.spin}`;
  using m = openSharedSync(name, { create: true, size: 4096 });
  try {
    const worker = start();
    const done = message(worker);
    worker.postMessage({ kind: "shm", name, total: rounds + WARMUP, play });
    const { stamps, sleepsOf } = ask(m, rounds, WARMUP, play, now);
    await done;
    worker.terminate();
    return { stamps, sleeps: sleepsOf() / (rounds + WARMUP) };
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

if (import.meta.main) {
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
  const ways: [string, Play][] = [
    ["openShared + wait/notify, spinning (default spin)", {
      spin: 1000,
      asleep: false,
    }],
    ["openShared + wait/notify, always sleeping (spin 0)", {
      spin: 0,
      asleep: true,
    }],
  ];
  for (const [name, play] of ways) {
    const { stamps, sleeps } = await sharedMemory(rounds, play);
    emit(GROUP, name, percentiles(stamps, cost));
    emitSleeps(GROUP, name, sleeps);
  }
}
