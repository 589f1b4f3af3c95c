// An append-only log: 20,000 records of 100 B to 4 KiB, committed (made
// durable) every 100 records. The mapped log of examples/append_log.ts
// (chunks of 64 MiB allocated up front, a commit flushes the new records and
// then the header) against Deno.FsFile writeSync per record + syncData at
// the same cadence. Records per second, and each commit's time (p50, p99).
// Then the mapped log again with a follower in another process, woken by
// notify: how long after each commit it has the commit's records.
//
//   deno run -A bench/recipes/append_log.ts <data dir> [records]

import {
  LogFollower,
  LogWriter,
  payloadOf,
} from "../../examples/append_log.ts";
import { emit, hold, reportAndHold, reportAndWait } from "./_proc.ts";

const COMMIT_EVERY = 100;
const CHUNK = 64 << 20;
/** A pool of payloads, so making them is not what is timed. */
const POOL = Array.from({ length: 1024 }, (_, n) => payloadOf(n));

/** Absolute milliseconds, comparable between processes. */
const now = () => performance.timeOrigin + performance.now();

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))];
}

function create(path: string): LogWriter {
  return LogWriter.create(path, { chunk: CHUNK, commitEvery: COMMIT_EVERY });
}

function mapped(writer: LogWriter, count: number, commits?: number[]) {
  const t0 = performance.now();
  for (let n = 0; n < count; n++) {
    writer.append(POOL[n & 1023], n);
    if (commits && (n + 1) % COMMIT_EVERY === 0) commits.push(now());
  }
  writer.commit();
  const ms = performance.now() - t0;
  writer.close();
  return { ms, commitMs: writer.commitTimes };
}

function fsFile(path: string, count: number) {
  using file = Deno.openSync(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const record = new Uint8Array(8 + 4096 + 8);
  const head = new DataView(record.buffer);
  const commitMs: number[] = [];
  const t0 = performance.now();
  for (let n = 0; n < count; n++) {
    const payload = POOL[n & 1023];
    head.setUint32(0, payload.length, true);
    head.setUint32(4, n, true);
    record.set(payload, 8);
    const size = 8 + ((payload.length + 7) & ~7);
    for (let at = 0; at < size;) {
      at += file.writeSync(record.subarray(at, size));
    }
    if ((n + 1) % COMMIT_EVERY === 0) {
      const c0 = performance.now();
      file.syncDataSync();
      commitMs.push(performance.now() - c0);
    }
  }
  file.syncDataSync();
  return { ms: performance.now() - t0, commitMs };
}

/** In a child: follows the log until `count` records, noting when each
 * commit's last record arrived. */
async function follow(path: string, count: number) {
  using follower = new LogFollower(path);
  await reportAndWait({ ready: true });
  const seenAt: number[] = [];
  let seen = 0;
  while (seen < count) {
    const records = await follower.next(30_000);
    if (records.length === 0) break;
    seen += records.length;
    const t = now();
    while ((seenAt.length + 1) * COMMIT_EVERY <= seen) seenAt.push(t);
  }
  await reportAndHold({ seen, seenAt });
}

const [first, ...rest] = Deno.args;
if (first === "child") {
  await follow(rest[0], Number(rest[1]));
} else {
  const count = Number(rest[0] ?? 20_000);
  const path = `${first}/append-log.bin`;
  const label =
    `append log, ${count} records of 100 B–4 KiB, commit every ${COMMIT_EVERY}`;
  const runs = [
    [
      "LogWriter (mapped, preallocated 64 MiB chunks)",
      () => mapped(create(path), count),
    ],
    ["Deno.FsFile writeSync + syncData", () => fsFile(path, count)],
  ] as const;
  for (const [name, run] of runs) {
    const { ms, commitMs } = run();
    const baseline = name.startsWith("Deno");
    emit({ group: label, name, ns_per_op: ms * 1e6 / count, baseline });
    emit({
      group: `${label}: commit`,
      name,
      ns_per_op: quantile(commitMs, 0.5) * 1e6,
      p99_ns: quantile(commitMs, 0.99) * 1e6,
      baseline,
    });
    emit({
      group: `${label}: records/s`,
      name,
      value: count / (ms / 1000),
      unit: "records/s",
    });
    Deno.removeSync(path);
  }
  // With a follower in another process: it maps the log once the writer
  // has made it, then waits for commits.
  const writer = create(path);
  const child = await hold(new URL(import.meta.url).pathname, [
    "child",
    path,
    String(count),
  ]);
  const commits: number[] = [];
  await child.send("go");
  const { ms } = mapped(writer, count, commits);
  const { seen, seenAt } = await child.next<
    { seen: number; seenAt: number[] }
  >();
  await child.release();
  Deno.removeSync(path);
  if (seen !== count) throw new Error(`the follower saw ${seen} of ${count}`);
  const lags = commits.map((t, i) => seenAt[i] - t);
  emit({
    group: `${label}: with a follower process`,
    name: "LogWriter: records/s",
    value: count / (ms / 1000),
    unit: "records/s",
  });
  emit({
    group: `${label}: with a follower process`,
    name: "follower has a commit's records after (p50)",
    value: quantile(lags, 0.5) * 1000,
    unit: "µs",
  });
  emit({
    group: `${label}: with a follower process`,
    name: "follower has a commit's records after (p99)",
    value: quantile(lags, 0.99) * 1000,
    unit: "µs",
  });
}
