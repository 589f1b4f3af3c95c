// Embedding table gather: a 2 GiB table of 384-float32 rows
// (examples/embedding_gather.ts); batches of 1, 32, 1,024 and 32,768 random
// row ids copied into one contiguous Float32Array. The batch gather (one
// native call per batch) against readSync per row and Deno.FsFile seek+read
// per row, with and without advise("random"); numpy's take on a memmap is
// bench/recipes/embedding_gather.py. Each alternative runs in a fresh
// process, so each starts with no page of the table mapped (the file itself
// is in the page cache); every batch is timed: p50 and p99 per batch, and
// rows per second at the median. One more gather row maps the whole table
// at open (populate), so that no batch pays a first touch: how much of the
// fresh process's gather time is page faults (and the open's time for it).
//
//   deno run -A bench/recipes/embedding_gather.ts <data dir> [MiB] [--make]
//
// --cold: the same batches of 1,024 rows with the table evicted from the
// page cache first (posix_fadvise DONTNEED, through python3): every row is a
// disk read, as in a table larger than memory. Also how much of the file
// each way brought into memory.
//
// --make only writes the table (bench/side.ts runs it as the build step, so
// that the numpy program finds the file).

import {
  DIM,
  EmbeddingTable,
  writeTable,
} from "../../examples/embedding_gather.ts";
import { emit, warm } from "./_proc.ts";

const MiB = 1024 * 1024;
const ROW = DIM * 4;
/** Batch sizes and how many batches of each are timed. */
const BATCHES: [number, number][] = [[1, 4000], [32, 1000], [1024, 100], [
  32768,
  12,
]];

const ALTERNATIVES = {
  gather: "gatherSync()",
  "gather-random": 'gatherSync(), advise("random")',
  "gather-populate":
    "gatherSync(), opened with populate (pages mapped up front)",
  read: "readSync() per row",
  "read-random": 'readSync() per row, advise("random")',
  fsfile: "Deno.FsFile seek+readSync per row",
} as const;
type Mode = keyof typeof ALTERNATIVES;

/** The table's file for a size, made once and kept in the data dir. */
export function tablePath(dir: string, size: number): [string, number] {
  const rows = Math.floor(size / ROW);
  const path = `${dir}/embedding-${Math.round(size / MiB)}m.f32`;
  try {
    if (Deno.statSync(path).size === rows * ROW) return [path, rows];
  } catch { /* not made yet */ }
  writeTable(`${path}.tmp`, rows);
  Deno.renameSync(`${path}.tmp`, path);
  return [path, rows];
}

function child(mode: Mode, path: string, label: string) {
  const t0 = performance.now();
  const table = new EmbeddingTable(path, DIM, {
    populate: mode === "gather-populate",
  });
  if (mode === "gather-populate") {
    // What the batches below no longer pay: mapping every page at open.
    emit({
      group: `embedding gather ${label}: open with populate`,
      name: ALTERNATIVES[mode],
      value: performance.now() - t0,
      unit: "ms",
    });
  }
  if (mode.endsWith("-random")) table.mapping.advise("random");
  const map = table.mapping;
  using file = Deno.openSync(path);
  const rows = table.rows;
  let x = 12345;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % rows;
  };
  for (const [n, reps] of BATCHES) {
    const ids = new Uint32Array(n);
    const out = new Float32Array(n * DIM);
    const bytes = new Uint8Array(out.buffer);
    const times: number[] = [];
    let check = 0;
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) ids[i] = rand();
      const t0 = performance.now();
      if (mode.startsWith("gather")) {
        table.gather(ids, out);
      } else if (mode === "fsfile") {
        for (let i = 0; i < n; i++) {
          const row = bytes.subarray(i * ROW, (i + 1) * ROW);
          file.seekSync(ids[i] * ROW, Deno.SeekMode.Start);
          for (let at = 0; at < ROW;) at += file.readSync(row.subarray(at))!;
        }
      } else {
        for (let i = 0; i < n; i++) {
          map.readSync(bytes.subarray(i * ROW, (i + 1) * ROW), ids[i] * ROW);
        }
      }
      times.push((performance.now() - t0) * 1e6);
      check += out[(n - 1) * DIM];
    }
    if (Number.isNaN(check)) throw new Error("unreachable");
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length * 0.5)];
    const p99 =
      times[Math.min(times.length - 1, Math.floor(times.length * 0.99))];
    const group = `embedding gather ${label}, batch of ${n}`;
    emit({
      group,
      name: ALTERNATIVES[mode],
      ns_per_op: p50,
      p99_ns: p99,
      baseline: mode === "fsfile",
    });
    emit({
      group: `${group}: rows/s at p50`,
      name: ALTERNATIVES[mode],
      value: n / (p50 / 1e9),
      unit: "rows/s",
    });
  }
  table.close();
}

/** Drops the file's pages from the page cache (clean pages only). */
function evict(path: string): void {
  const code = `import os; fd = os.open(${
    JSON.stringify(path)
  }, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)`;
  const { success } = new Deno.Command("python3", { args: ["-c", code] })
    .outputSync();
  if (!success) throw new Error("python3 could not evict the table");
}

const COLD: Mode[] = ["gather", "gather-random", "fsfile"];
const COLD_BATCHES = 5;

function coldChild(mode: Mode, path: string, label: string) {
  evict(path);
  const table = new EmbeddingTable(path);
  if (table.mapping.residency() > 64 * MiB) {
    emit({ skip: "the page cache kept the table (eviction did not work)" });
    return;
  }
  if (mode === "gather-random") table.mapping.advise("random");
  using file = Deno.openSync(path);
  let x = 999;
  const n = 1024;
  const ids = new Uint32Array(n);
  const out = new Float32Array(n * DIM);
  const bytes = new Uint8Array(out.buffer);
  const times: number[] = [];
  for (let r = 0; r < COLD_BATCHES; r++) {
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      ids[i] = (x >>> 0) % table.rows;
    }
    const t0 = performance.now();
    if (mode === "fsfile") {
      for (let i = 0; i < n; i++) {
        const row = bytes.subarray(i * ROW, (i + 1) * ROW);
        file.seekSync(ids[i] * ROW, Deno.SeekMode.Start);
        for (let at = 0; at < ROW;) at += file.readSync(row.subarray(at))!;
      }
    } else {
      table.gather(ids, out);
    }
    times.push((performance.now() - t0) * 1e6);
  }
  const resident = table.mapping.residency();
  table.close();
  const group =
    `embedding gather ${label}, cold cache, ${COLD_BATCHES} batches of ${n}`;
  const sorted = [...times].sort((a, b) => a - b);
  emit({
    group,
    name: ALTERNATIVES[mode],
    ns_per_op: sorted[Math.floor(sorted.length / 2)],
    p99_ns: sorted[sorted.length - 1],
    baseline: mode === "fsfile",
  });
  emit({
    group: `${group}: first batch, and the file read in`,
    name: `${ALTERNATIVES[mode]}: first batch`,
    value: times[0] / 1e6,
    unit: "ms",
  });
  emit({
    group: `${group}: first batch, and the file read in`,
    name: `${ALTERNATIVES[mode]}: in the page cache after`,
    value: resident / MiB,
    unit: "MiB",
  });
}

async function runChild(args: string[]): Promise<void> {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", new URL(import.meta.url).pathname, ...args],
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`${args.join(" ")}: exit ${code}`);
  await Deno.stdout.write(stdout);
}

const [first, ...rest] = Deno.args;
if (first === "child") {
  child(rest[0] as Mode, rest[1], rest[2]);
} else if (first === "cold-child") {
  coldChild(rest[0] as Mode, rest[1], rest[2]);
} else {
  const make = rest.includes("--make");
  const cold = rest.includes("--cold");
  const sizes = rest.filter((a) => !a.startsWith("--"));
  const size = Number(sizes[0] ?? 2048) * MiB;
  const [path] = tablePath(first, size);
  if (make) Deno.exit(0);
  const bytes = Deno.statSync(path).size;
  const label = bytes >= 1024 ** 3
    ? `${+(bytes / 1024 ** 3).toFixed(1)} GiB`
    : `${Math.round(bytes / MiB)} MiB`;
  if (cold) {
    for (const mode of COLD) await runChild(["cold-child", mode, path, label]);
  } else {
    warm(path);
    for (const mode of Object.keys(ALTERNATIVES)) {
      await runChild(["child", mode, path, label]);
    }
  }
}
