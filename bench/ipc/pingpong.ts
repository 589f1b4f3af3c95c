// Ping-pong latency between two Deno processes: a word of `openShared`
// memory with wait()/notify() (spinning first, as by default, and always
// sleeping, spin 0), against one byte over a pipe (Deno.Command
// stdin/stdout) and over TCP on 127.0.0.1. p50 and p99 per round trip, each
// round stamped (bench/ipc/_clock.ts). A side program of
// `deno task bench:report` (bench/side.ts):
//
//   deno run -A --unstable-ffi bench/ipc/pingpong.ts [rounds, default 10000]

import { openSharedSync, unlinkSharedSync } from "../../mod.ts";
import { answer, ask } from "./_turns.ts";
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

async function sharedMemory(rounds: number, spin: number) {
  const name = `mmap-bench-pp-${Deno.pid}-${spin}`;
  using m = openSharedSync(name, { create: true, size: 4096 });
  try {
    const peer = child([
      "peer-shm",
      name,
      String(rounds + WARMUP),
      String(spin),
    ]);
    const stamps = ask(m, rounds, WARMUP, spin, now);
    const { code } = await peer.status;
    if (code !== 0) throw new Error(`peer failed: ${code}`);
    return stamps;
  } finally {
    unlinkSharedSync(name);
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
  answer(rest[0]!, Number(rest[1]), Number(rest[2]));
} else if (role === "peer-pipe") {
  peerPipe(Number(rest[0]));
} else if (role === "peer-tcp") {
  await peerTcp(Number(rest[0]), Number(rest[1]));
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
