// Per-call copies against the raw FFI copy, interleaved in one process: a
// side program of `deno task bench:report` (bench/side.ts).
//
// The random 64 B groups of `deno bench` time each alternative on its own,
// one after the other, and on this kind of VM the cost of a random cache
// miss drifts by tens of percent within a minute, so the ratio of two means
// taken apart says as much about the drift as about the code. Here the two
// loops take turns in short slices (8,192 copies each, in alternating
// order) over the same mapping with buffers of the same shape, and the
// figure is the median of the per-slice ratios. Each loop has its own random
// offsets: with shared ones, the second loop of a pair would find in the
// cache the lines the first had just loaded.
//
//   deno run -A --unstable-ffi bench/percall_interleaved.ts [data dir] [slices]

import { openSync, readSync, writeSync } from "../mod.ts";
import {
  BIG_SIZE,
  BULK_SIZE,
  DATA_DIR,
  dataFile,
  randomOffsets,
} from "./_common.ts";
import { rawCopy } from "./_workloads.ts";

const LEN = 64;
const BATCH = 8192;
/** Slices of each loop per pair of figures. */
const SLICES = Number(Deno.args[1] ?? 200);
const OFFSETS = 1 << 20;

const dir = Deno.args[0] ?? DATA_DIR;
const emit = (row: Record<string, unknown>) => console.log(JSON.stringify(row));

/** `OFFSETS` random offsets of `LEN`-byte records, aligned to `LEN`. */
function alignedOffsets(size: number, seed: number): Float64Array {
  const offsets = randomOffsets(OFFSETS, size / LEN, 1, seed);
  for (let i = 0; i < OFFSETS; i++) offsets[i] *= LEN;
  return offsets;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Times `ours` and `theirs` in alternating slices; ns per copy and ratios. */
function interleave(ours: () => void, theirs: () => void) {
  const time = (f: () => void) => {
    const t0 = performance.now();
    f();
    return ((performance.now() - t0) * 1e6) / BATCH;
  };
  for (let i = 0; i < Math.min(20, SLICES); i++) {
    ours();
    theirs();
  }
  const a: number[] = [], b: number[] = [], r: number[] = [];
  for (let i = 0; i < SLICES; i++) {
    // Alternating order, so neither always runs right after the other.
    let x: number, y: number;
    if (i % 2 === 0) {
      x = time(ours);
      y = time(theirs);
    } else {
      y = time(theirs);
      x = time(ours);
    }
    a.push(x);
    b.push(y);
    r.push(x / y);
  }
  return { ours: median(a), theirs: median(b), ratio: median(r) };
}

/** The raw FFI copy registered for the mapping at `ptr`, or a skip row. */
function rawOrExit(
  ptr: Deno.PointerValue,
): NonNullable<ReturnType<typeof rawCopy>> {
  const raw = rawCopy(dir, ptr);
  if (raw !== undefined) return raw;
  emit({ skip: `no raw FFI copy (bench/c/raw_copy.c) built in ${dir}` });
  Deno.exit(0);
}

const GROUP = "random 64 B per call, interleaved with the raw FFI copy";

/** The three figures of one pair: both times and their ratio. */
function report(
  result: ReturnType<typeof interleave>,
  ours: string,
  theirs: string,
  ratio: string,
): void {
  emit({ group: GROUP, name: ours, value: result.ours, unit: "ns" });
  emit({ group: GROUP, name: theirs, value: result.theirs, unit: "ns" });
  emit({ group: GROUP, name: ratio, value: result.ratio, unit: "×" });
}

// The read and the write blocks below are written out twice on purpose:
// each loop calls one function from one call site, as the `deno bench`
// groups do, so that V8 compiles each FFI call as a direct fast call; one
// loop shared by both would see two targets.
{
  const path = dataFile("big.bin", BIG_SIZE, { dir });
  const h = openSync(path, { populate: true });
  const [raw, base] = rawOrExit(h.ptr);
  const ourOffsets = alignedOffsets(BIG_SIZE, 1);
  const rawOffsets = alignedOffsets(BIG_SIZE, 2);
  const mask = OFFSETS - 1;
  const dOurs = new Uint8Array(LEN), dRaw = new Uint8Array(LEN);
  let iOurs = 0, iRaw = 0;
  const result = interleave(() => {
    for (let k = 0; k < BATCH; k++) {
      readSync(h, dOurs, ourOffsets[iOurs]);
      iOurs = (iOurs + 1) & mask;
    }
  }, () => {
    const read = raw.raw_read;
    for (let k = 0; k < BATCH; k++) {
      read(base, rawOffsets[iRaw], dRaw, LEN);
      iRaw = (iRaw + 1) & mask;
    }
  });
  report(
    result,
    "readSync(), ns a read",
    "raw FFI copy, ns a read",
    "readSync() / raw FFI copy",
  );
  h.close();
}

{
  const path = dataFile("random_write.bin", BULK_SIZE, { dir });
  const h = openSync(path, { write: true, populate: true });
  const [raw, base] = rawOrExit(h.ptr);
  const ourOffsets = alignedOffsets(BULK_SIZE, 3);
  const rawOffsets = alignedOffsets(BULK_SIZE, 4);
  const mask = OFFSETS - 1;
  const sOurs = new Uint8Array(LEN).fill(1), sRaw = new Uint8Array(LEN).fill(2);
  let iOurs = 0, iRaw = 0;
  const result = interleave(() => {
    for (let k = 0; k < BATCH; k++) {
      writeSync(h, sOurs, ourOffsets[iOurs]);
      iOurs = (iOurs + 1) & mask;
    }
  }, () => {
    const write = raw.raw_write;
    for (let k = 0; k < BATCH; k++) {
      write(base, rawOffsets[iRaw], sRaw, LEN);
      iRaw = (iRaw + 1) & mask;
    }
  });
  report(
    result,
    "writeSync(), ns a write",
    "raw FFI write, ns a write",
    "writeSync() / raw FFI write",
  );
  h.close();
}
