// A single-producer single-consumer ring of 64-byte messages between two
// processes, over `openShared` memory with wait()/notify() for "not empty"
// and "not full" (published 64 at a time), against the same messages through a pipe (the producer's
// stdout, written 64 messages = 4 KiB at a time, as a buffered writer
// would, and one write per message). Messages per second, as ns per
// message. A side program of `deno task bench:report` (bench/side.ts):
//
//   deno run -A --unstable-ffi bench/ipc/ring.ts [messages, default 1000000]

import { notify, openSharedSync, unlinkSharedSync, wait } from "../../mod.ts";
import { now } from "./_clock.ts";

const GROUP = "SPSC ring of 64 B messages between processes (per message)";
const MESSAGE = 64;
const SLOTS = 4096;
/** Messages published at once, as the pipe's 4 KiB writes carry 64. */
const BATCH = 64;
// Header page: the head (messages published) and tail (messages consumed)
// wait cells, on cache lines of their own; the ring follows.
const HEAD = 0;
const TAIL = 64;
const DATA = 4096;
const self = new URL(import.meta.url).pathname;

function child(args: string[], stdout: "piped" | "null") {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-ffi", self, ...args],
    stdout,
    stderr: "inherit",
  }).spawn();
}

/**
 * The consumer (this process): copies each run of published messages out
 * of the ring in one copy (as a pipe read copies a chunk), checks every
 * sequence number, then frees the slots. Returns ns per message.
 */
async function ring(count: number): Promise<number> {
  const name = `mmap-bench-ring-${Deno.pid}`;
  using m = openSharedSync(name, {
    create: true,
    size: DATA + SLOTS * MESSAGE,
  });
  try {
    const w = new Int32Array(m.view().buffer);
    const bytes = m.view();
    const copy = new Uint8Array(SLOTS * MESSAGE);
    const seqs = new DataView(copy.buffer);
    const producer = child(["produce-ring", name, String(count)], "null");
    let tail = 0;
    let started = 0;
    while (tail < count) {
      const head = Atomics.load(w, HEAD / 4);
      if (head === tail) {
        wait(m, HEAD, tail);
        continue;
      }
      if (tail === 0) started = now();
      // The run [tail, head), up to the ring's end (the rest next time).
      const first = tail % SLOTS;
      const n = Math.min(head - tail, SLOTS - first);
      const at = DATA + first * MESSAGE;
      copy.set(bytes.subarray(at, at + n * MESSAGE));
      for (let i = 0; i < n; i++) {
        if (seqs.getUint32(i * MESSAGE, true) !== tail + i) {
          throw new Error(`message ${tail + i} lost or out of order`);
        }
      }
      tail += n;
      Atomics.store(w, TAIL / 4, tail);
      notify(m, TAIL);
    }
    const elapsed = now() - started;
    await producer.status;
    return elapsed / count;
  } finally {
    unlinkSharedSync(name);
  }
}

/**
 * The producer: writes each message into its slot and publishes them 64 at
 * a time (the pipe's 4 KiB writes), or when the ring is full.
 */
function produceRing(name: string, count: number) {
  using m = openSharedSync(name);
  const w = new Int32Array(m.view().buffer);
  const bytes = m.view();
  const message = new Uint8Array(MESSAGE).fill(7);
  const seqOf = new DataView(message.buffer);
  let tail = 0;
  const publish = (head: number) => {
    Atomics.store(w, HEAD / 4, head);
    notify(m, HEAD);
  };
  for (let seq = 0; seq < count; seq++) {
    while (seq - tail >= SLOTS) {
      publish(seq);
      tail = Atomics.load(w, TAIL / 4);
      if (seq - tail >= SLOTS) wait(m, TAIL, tail);
    }
    seqOf.setUint32(0, seq, true);
    bytes.set(message, DATA + (seq % SLOTS) * MESSAGE);
    if (seq % BATCH === BATCH - 1) publish(seq + 1);
  }
  publish(count);
}

/** The consumer of the pipe: returns ns per message. */
async function pipe(count: number, batch: number): Promise<number> {
  const producer = child(
    ["produce-pipe", String(count), String(batch)],
    "piped",
  );
  const reader = producer.stdout.getReader();
  let received = 0;
  let started = 0;
  let expect = 0;
  while (received < count * MESSAGE) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the producer ended early");
    if (received === 0) started = now();
    // Look at each message's sequence number, as the ring's consumer does.
    const view = new DataView(value.buffer, value.byteOffset, value.length);
    // (A number split across two reads is counted, not checked.)
    const first = (MESSAGE - received % MESSAGE) % MESSAGE;
    for (let at = first; at < value.length; at += MESSAGE, expect++) {
      if (at + 4 <= value.length && view.getUint32(at, true) !== expect) {
        throw new Error("pipe message out of order");
      }
    }
    received += value.length;
  }
  const elapsed = now() - started;
  reader.releaseLock();
  await producer.status;
  return elapsed / count;
}

function producePipe(count: number, batch: number) {
  const buffer = new Uint8Array(MESSAGE * batch).fill(7);
  const view = new DataView(buffer.buffer);
  for (let seq = 0; seq < count;) {
    const n = Math.min(batch, count - seq);
    for (let i = 0; i < n; i++) view.setUint32(i * MESSAGE, seq + i, true);
    let written = 0;
    const chunk = buffer.subarray(0, n * MESSAGE);
    while (written < chunk.length) {
      written += Deno.stdout.writeSync(chunk.subarray(written));
    }
    seq += n;
  }
}

function emit(name: string, nsPerMessage: number, baseline = false) {
  console.log(JSON.stringify({
    group: GROUP,
    name,
    ns_per_op: nsPerMessage,
    ...(baseline ? { baseline: true } : {}),
  }));
  console.log(JSON.stringify({
    group: GROUP,
    name: `${name}: messages/s`,
    value: 1e9 / nsPerMessage,
    unit: "messages/s",
  }));
}

const [role, ...rest] = Deno.args;
if (role === "produce-ring") {
  produceRing(rest[0]!, Number(rest[1]));
} else if (role === "produce-pipe") {
  producePipe(Number(rest[0]), Number(rest[1]));
} else if (Deno.build.os === "windows") {
  console.log(
    JSON.stringify({ skip: "wait/notify is not available on Windows yet" }),
  );
} else {
  const count = Number(role ?? 1_000_000);
  emit("pipe, 4 KiB writes (64 messages)", await pipe(count, 64), true);
  emit("pipe, one write per message", await pipe(Math.min(count, 200_000), 1));
  emit("openShared ring + wait/notify", await ring(count));
}
