// Ping-pong latency between two Deno processes: a word of `openShared`
// memory with wait()/notify() (spinning first, as by default, and always
// sleeping: spin 0, and each side hands the turn over only once the other
// sleeps, bench/ipc/_turns.ts), against one byte over a pipe (Deno.Command
// stdin/stdout) and over TCP on 127.0.0.1. p50 and p99 per round trip, each
// round stamped (bench/ipc/_clock.ts), and how many times per round trip
// the two main threads really slept (voluntary context switches, Linux).
//
// Where the scheduler puts the two processes changes every figure (a wake
// of a process on an idle CPU of a VM costs tens of microseconds, on the
// waker's own CPU a few), and it may choose differently from one minute to
// the next; so the rounds are played in slices, taking turns between the
// ways, and each way's figures pool its slices.
//
// A side program of `deno task bench:report` (bench/side.ts):
//
//   deno run -A --unstable-ffi bench/ipc/pingpong.ts [rounds, default 10000]

import { openSharedSync, unlinkSharedSync } from "../../mod.ts";
import { answer, ask, type Play } from "./_turns.ts";
import { emitSleeps, gapsOf, now, pooled, stampCost } from "./_clock.ts";
import { sleeps } from "./_sched.ts";

const GROUP = "ping-pong between processes (round trip)";
const SLICES = 5;
const self = new URL(import.meta.url).pathname;

/** One way's measurement of one slice. */
interface Slice {
  stamps: Float64Array;
  /** Sleeps of both sides over all its turns (warm-up included). */
  sleeps: number;
  turns: number;
}

function child(args: string[], stdio: "piped" | "null" = "null") {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-ffi", self, ...args],
    stdin: stdio,
    stdout: stdio,
    stderr: "inherit",
  }).spawn();
}

async function sharedMemory(
  rounds: number,
  warmup: number,
  play: Play,
): Promise<Slice> {
  const name = `mmap-bench-pp-${Deno.pid}-${play.spin}`;
  using m = openSharedSync(name, { create: true, size: 4096 });
  try {
    const peer = child([
      "peer-shm",
      name,
      String(rounds + warmup),
      String(play.spin),
      String(play.asleep),
    ]);
    const { stamps, sleepsOf } = ask(m, rounds, warmup, play, now);
    const { code } = await peer.status;
    if (code !== 0) throw new Error(`peer failed: ${code}`);
    return { stamps, sleeps: sleepsOf(), turns: rounds + warmup };
  } finally {
    unlinkSharedSync(name);
  }
}

/** Reads exactly `n` bytes (the peer's sleeps at the end of a stream). */
async function readAll(
  read: (into: Uint8Array) => Promise<number | null>,
  n: number,
): Promise<Uint8Array> {
  const bytes = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const k = await read(bytes.subarray(got));
    if (k === null) throw new Error("the peer ended before its sleeps");
    got += k;
  }
  return bytes;
}

async function pipe(rounds: number, warmup: number): Promise<Slice> {
  const peer = child(["peer-pipe", String(rounds + warmup)], "piped");
  const writer = peer.stdin.getWriter();
  const reader = peer.stdout.getReader();
  const byte = new Uint8Array([1]);
  const stamps = new Float64Array(rounds + 1);
  let pending: Uint8Array | undefined;
  const before = sleeps();
  for (let i = 0; i < rounds + warmup; i++) {
    await writer.write(byte);
    const { done, value } = await reader.read();
    if (done) throw new Error("the pipe peer ended early");
    // The last answer may come with the peer's sleeps.
    if (value.length > 1) pending = value.subarray(1);
    if (i >= warmup - 1) stamps[i - warmup + 1] = now();
  }
  const mine = sleeps() - before;
  await writer.close();
  const theirs = await readAll(async (into) => {
    if (pending === undefined || pending.length === 0) {
      const { value, done } = await reader.read();
      if (done) return null;
      pending = value;
    }
    const n = Math.min(into.length, pending.length);
    into.set(pending.subarray(0, n));
    pending = pending.subarray(n);
    return n;
  }, 8);
  reader.releaseLock();
  await peer.stdout.cancel();
  await peer.status;
  const peerSleeps = new Float64Array(theirs.buffer)[0];
  return { stamps, sleeps: mine + peerSleeps, turns: rounds + warmup };
}

function peerPipe(total: number) {
  const byte = new Uint8Array(1);
  const before = sleeps();
  for (let i = 0; i < total; i++) {
    if (Deno.stdin.readSync(byte) !== 1) return;
    Deno.stdout.writeSync(byte);
  }
  const mine = new Float64Array([sleeps() - before]);
  const bytes = new Uint8Array(mine.buffer);
  for (let done = 0; done < 8;) {
    done += Deno.stdout.writeSync(bytes.subarray(done));
  }
}

async function tcp(rounds: number, warmup: number): Promise<Slice> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peer = child([
    "peer-tcp",
    String(listener.addr.port),
    String(rounds + warmup),
  ]);
  using conn = await listener.accept();
  conn.setNoDelay(true);
  const byte = new Uint8Array([1]);
  const back = new Uint8Array(1);
  const stamps = new Float64Array(rounds + 1);
  const before = sleeps();
  for (let i = 0; i < rounds + warmup; i++) {
    await conn.write(byte);
    if (await conn.read(back) === null) {
      throw new Error("the TCP peer ended early");
    }
    if (i >= warmup - 1) stamps[i - warmup + 1] = now();
  }
  const mine = sleeps() - before;
  const theirs = await readAll((into) => conn.read(into), 8);
  await peer.status;
  const peerSleeps = new Float64Array(theirs.buffer)[0];
  return { stamps, sleeps: mine + peerSleeps, turns: rounds + warmup };
}

async function peerTcp(port: number, total: number) {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const byte = new Uint8Array(1);
  const before = sleeps();
  for (let i = 0; i < total; i++) {
    if (await conn.read(byte) === null) return;
    await conn.write(byte);
  }
  const mine = new Float64Array([sleeps() - before]);
  const bytes = new Uint8Array(mine.buffer);
  for (let done = 0; done < 8;) done += await conn.write(bytes.subarray(done));
}

const SPINNING: Play = { spin: 1000, asleep: false };
const SLEEPING: Play = { spin: 0, asleep: true };

const WAYS: {
  name: string;
  baseline?: boolean;
  run: (rounds: number, warmup: number) => Promise<Slice>;
}[] = [
  { name: "pipe (Deno.Command stdin/stdout)", baseline: true, run: pipe },
  { name: "TCP 127.0.0.1", run: tcp },
  {
    name: "openShared + wait/notify, spinning (default spin)",
    run: (r, w) => sharedMemory(r, w, SPINNING),
  },
  {
    name: "openShared + wait/notify, always sleeping (spin 0)",
    run: (r, w) => sharedMemory(r, w, SLEEPING),
  },
];

const [role, ...rest] = Deno.args;
if (role === "peer-shm") {
  answer(rest[0]!, Number(rest[1]), {
    spin: Number(rest[2]),
    asleep: rest[3] === "true",
  });
} else if (role === "peer-pipe") {
  peerPipe(Number(rest[0]));
} else if (role === "peer-tcp") {
  await peerTcp(Number(rest[0]), Number(rest[1]));
} else {
  const rounds = Number(role ?? 10_000);
  const slice = Math.max(1, Math.ceil(rounds / SLICES));
  // Each slice starts a new peer process: enough rounds first for both
  // sides' loops to be compiled (500 left the spinning figure at 4 µs), but
  // no more than the rounds asked for (the smoke test asks for 200).
  const warmup = Math.min(5000, rounds);
  const cost = stampCost();
  const slices: Slice[][] = WAYS.map(() => []);
  for (let s = 0; s < SLICES; s++) {
    for (let w = 0; w < WAYS.length; w++) {
      slices[w].push(await WAYS[w].run(slice, warmup));
    }
  }
  WAYS.forEach((way, w) => {
    const mine = slices[w];
    pooled(
      GROUP,
      way.name,
      mine.map((x) => gapsOf(x.stamps, cost)),
      way.baseline,
    );
    emitSleeps(
      GROUP,
      way.name,
      mine.reduce((a, x) => a + x.sleeps, 0) /
        mine.reduce((a, x) => a + x.turns, 0),
    );
  });
}
