// A read-only lookup table shared by many processes: a 1 GiB sorted file of
// 16-byte records (examples/lookup_table.ts), searched by 8 processes at
// once for 2 s, each either over a mapping of the file or over its own copy
// read into memory. Lookups per second per process and in total, and the
// PSS of the 8 processes together (shared pages count once across them).
//
//   deno run -A bench/recipes/lookup_table.ts <data dir> [MiB] [procs] [s]

import {
  lookup,
  LookupTable,
  valueOf,
  writeTable,
} from "../../examples/lookup_table.ts";
import {
  emit,
  haveProc,
  hold,
  procBytes,
  readSized,
  reportAndHold,
  reportAndWait,
  warm,
} from "./_proc.ts";

const MiB = 1024 * 1024;

interface Counted {
  lookups: number;
  seconds: number;
  bad: number;
}

async function child(mode: string, path: string, seconds: number) {
  let get: (key: bigint) => bigint | undefined;
  let count: number;
  if (mode === "mmap") {
    const table = new LookupTable(path);
    count = table.count;
    get = (key) => table.get(key);
  } else {
    const bytes = readSized(path);
    const records = new BigUint64Array(bytes.buffer, 16);
    count = records.length / 2;
    get = (key) => lookup(records, count, key);
  }
  await reportAndWait({ ready: true });
  // xorshift32: the same cheap key stream in every mode.
  let x = (Deno.pid * 2654435761) >>> 0 || 1;
  let lookups = 0;
  let bad = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const key = BigInt(2 * ((x >>> 0) % count) + 1);
      if (get(key) !== valueOf(key, 1)) bad++;
    }
    lookups += 1000;
  }
  const result: Counted = {
    lookups,
    seconds: (performance.now() - start) / 1000,
    bad,
  };
  await reportAndHold(result);
}

const [first, ...rest] = Deno.args;
if (first === "child") {
  await child(rest[0], rest[1], Number(rest[2]));
} else if (!haveProc()) {
  emit({ skip: "needs /proc (Linux) for PSS" });
} else {
  const size = Number(rest[0] ?? 1024) * MiB;
  const procs = Number(rest[1] ?? 8);
  const seconds = Number(rest[2] ?? 2);
  const count = Math.floor((size - 16) / 16);
  const path = `${first}/lookup-${size / MiB}m.bin`;
  try {
    if (Deno.statSync(path).size !== 16 + count * 16) throw new Error();
  } catch {
    writeTable(`${path}.tmp`, count, 1);
    Deno.renameSync(`${path}.tmp`, path);
  }
  warm(path);
  const bytes = Deno.statSync(path).size;
  const label = bytes >= 1024 ** 3
    ? `${+(bytes / 1024 ** 3).toFixed(1)} GiB`
    : `${Math.round(bytes / MiB)} MiB`;
  const script = new URL(import.meta.url).pathname;
  const alternatives = [
    ["mmap", "mmap (LookupTable)"],
    ["copy", "each process reads the file into memory"],
  ] as const;
  for (const [mode, name] of alternatives) {
    const children = [];
    for (let i = 0; i < procs; i++) {
      children.push(hold(script, ["child", mode, path, String(seconds)]));
    }
    const held = await Promise.all(children);
    await Promise.all(held.map((h) => h.send("go")));
    const results = await Promise.all(held.map((h) => h.next<Counted>()));
    let pss = 0;
    for (const h of held) pss += procBytes("smaps_rollup", "Pss", h.pid);
    await Promise.all(held.map((h) => h.release()));
    const bad = results.reduce((n, r) => n + r.bad, 0);
    if (bad > 0) throw new Error(`${name}: ${bad} wrong lookups`);
    const rates = results.map((r) => r.lookups / r.seconds);
    const total = rates.reduce((a, b) => a + b, 0);
    const group = `lookup table ${label}, ${procs} processes`;
    emit({
      group,
      name,
      ns_per_op: 1e9 / (total / procs),
      baseline: mode === "copy",
    });
    const figures = `${group}: throughput and memory`;
    emit({
      group: figures,
      name: `${name}: lookups/s per process`,
      value: total / procs,
      unit: "/s",
    });
    emit({
      group: figures,
      name: `${name}: lookups/s, all ${procs}`,
      value: total,
      unit: "/s",
    });
    emit({
      group: figures,
      name: `${name}: PSS of all ${procs}`,
      value: pss / bytes,
      unit: "× file size",
    });
  }
}
