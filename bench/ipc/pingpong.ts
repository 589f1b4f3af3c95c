// Ping-pong latency between two Deno processes: a word of `openShared`
// memory with wait()/notify() (spinning first, as by default, and always
// sleeping, spin 0), against one byte over a pipe (Deno.Command
// stdin/stdout) and over TCP on 127.0.0.1. p50 and p99 per round trip, each
// round stamped (bench/ipc/_clock.ts). A side program of
// `deno task bench:report` (bench/side.ts):
//
//   deno run -A --unstable-ffi bench/ipc/pingpong.ts [rounds, default 10000]

import { notify, openSharedSync, unlinkSharedSync, wait } from "../../mod.ts";
import { emit, now, percentiles, stampCost } from "./_clock.ts";

const GROUP = "ping-pong between processes (round trip)";
let WARMUP = 1000;
const self = new URL(import.meta.url).pathname;

function child(args: string[], stdio: "piped" | "null" = "null") {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-ffi", self, ...args],
    stdin: stdio,
    stdout: stdio,
    stderr: "inherit",
  }).spawn();
}

// Cell layout: the turn counter's wait cell at 0; "ready" at 16.
const TURN = 0;
const READY = 16;

async function sharedMemory(rounds: number, spin: number) {
  const name = `mmap-bench-pp-${Deno.pid}-${spin}`;
  using m = openSharedSync(name, { create: true, size: 4096 });
  try {
    const w = new Int32Array(m.view().buffer);
    const peer = child([
      "peer-shm",
      name,
      String(rounds + WARMUP),
      String(spin),
    ]);
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
    const { code } = await peer.status;
    if (code !== 0) throw new Error(`peer failed: ${code}`);
    return stamps;
  } finally {
    unlinkSharedSync(name);
  }
}

function peerShm(name: string, total: number, spin: number) {
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

async function pipe(rounds: number) {
  const peer = child(["peer-pipe", String(rounds + WARMUP)], "piped");
  const writer = peer.stdin.getWriter();
  const reader = peer.stdout.getReader();
  const byte = new Uint8Array([1]);
  const stamps = new Float64Array(rounds + 1);
  for (let i = 0; i < rounds + WARMUP; i++) {
    await writer.write(byte);
    const { done } = await reader.read();
    if (done) throw new Error("the pipe peer ended early");
    if (i >= WARMUP - 1) stamps[i - WARMUP + 1] = now();
  }
  await writer.close();
  reader.releaseLock();
  await peer.stdout.cancel();
  await peer.status;
  return stamps;
}

function peerPipe(total: number) {
  const byte = new Uint8Array(1);
  for (let i = 0; i < total; i++) {
    if (Deno.stdin.readSync(byte) !== 1) return;
    Deno.stdout.writeSync(byte);
  }
}

async function tcp(rounds: number) {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peer = child([
    "peer-tcp",
    String(listener.addr.port),
    String(rounds + WARMUP),
  ]);
  using conn = await listener.accept();
  conn.setNoDelay(true);
  const byte = new Uint8Array([1]);
  const back = new Uint8Array(1);
  const stamps = new Float64Array(rounds + 1);
  for (let i = 0; i < rounds + WARMUP; i++) {
    await conn.write(byte);
    if (await conn.read(back) === null) {
      throw new Error("the TCP peer ended early");
    }
    if (i >= WARMUP - 1) stamps[i - WARMUP + 1] = now();
  }
  await peer.status;
  return stamps;
}

async function peerTcp(port: number, total: number) {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const byte = new Uint8Array(1);
  for (let i = 0; i < total; i++) {
    if (await conn.read(byte) === null) return;
    await conn.write(byte);
  }
}

const [role, ...rest] = Deno.args;
if (role === "peer-shm") {
  peerShm(rest[0]!, Number(rest[1]), Number(rest[2]));
} else if (role === "peer-pipe") {
  peerPipe(Number(rest[0]));
} else if (role === "peer-tcp") {
  await peerTcp(Number(rest[0]), Number(rest[1]));
} else if (Deno.build.os === "windows") {
  console.log(
    JSON.stringify({ skip: "wait/notify is not available on Windows yet" }),
  );
} else {
  const rounds = Number(role ?? 10_000);
  WARMUP = Math.min(WARMUP, rounds);
  const cost = stampCost();
  emit(
    GROUP,
    "pipe (Deno.Command stdin/stdout)",
    percentiles(await pipe(rounds), cost),
    true,
  );
  emit(GROUP, "TCP 127.0.0.1", percentiles(await tcp(rounds), cost));
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
