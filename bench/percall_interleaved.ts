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
import { BIG_SIZE, BULK_SIZE, DATA_DIR, dataFile } from "./_common.ts";

const LEN = 64;
const BATCH = 8192;
/** Slices of each loop per pair of figures. */
const SLICES = Number(Deno.args[1] ?? 200);
const OFFSETS = 1 << 20;

const dir = Deno.args[0] ?? DATA_DIR;
const emit = (row: Record<string, unknown>) => console.log(JSON.stringify(row));

let raw: Deno.DynamicLibrary<{
  raw_set_base: { parameters: ["u32", "pointer"]; result: "void" };
  raw_read: { parameters: ["u32", "f64", "buffer", "f64"]; result: "i32" };
  raw_write: { parameters: ["u32", "f64", "buffer", "f64"]; result: "i32" };
}>["symbols"];
try {
  raw = Deno.dlopen(`${dir}/libraw_copy.so`, {
    raw_set_base: { parameters: ["u32", "pointer"], result: "void" },
    raw_read: { parameters: ["u32", "f64", "buffer", "f64"], result: "i32" },
    raw_write: { parameters: ["u32", "f64", "buffer", "f64"], result: "i32" },
  }).symbols;
} catch (e) {
  emit({
    skip: `no raw FFI copy (bench/c/raw_copy.c): ${(e as Error).message}`,
  });
  Deno.exit(0);
}

function randomOffsets(size: number): Float64Array {
  const offsets = new Float64Array(OFFSETS);
  for (let i = 0; i < OFFSETS; i++) {
    offsets[i] = Math.floor(Math.random() * (size / LEN - 1)) * LEN;
  }
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
    // Rotating order, so neither always runs right after the other.
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

// The read and the write blocks below are written out twice on purpose:
// each loop calls one function from one call site, as the `deno bench`
// groups do, so that V8 compiles each FFI call as a direct fast call; one
// loop shared by both would see two targets.
{
  const path = dataFile("big.bin", BIG_SIZE, { dir });
  const h = openSync(path, { populate: true });
  raw.raw_set_base(0, h.ptr);
  const ourOffsets = randomOffsets(BIG_SIZE);
  const rawOffsets = randomOffsets(BIG_SIZE);
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
      read(0, rawOffsets[iRaw], dRaw, LEN);
      iRaw = (iRaw + 1) & mask;
    }
  });
  const group = "random 64 B per call, interleaved with the raw FFI copy";
  emit({
    group,
    name: "readSync(), ns a read",
    value: result.ours,
    unit: "ns",
  });
  emit({
    group,
    name: "raw FFI copy, ns a read",
    value: result.theirs,
    unit: "ns",
  });
  emit({
    group,
    name: "readSync() / raw FFI copy",
    value: result.ratio,
    unit: "×",
  });
  h.close();
}

{
  const path = dataFile("random_write.bin", BULK_SIZE, { dir });
  const h = openSync(path, { write: true, populate: true });
  raw.raw_set_base(1, h.ptr);
  const ourOffsets = randomOffsets(BULK_SIZE);
  const rawOffsets = randomOffsets(BULK_SIZE);
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
      write(1, rawOffsets[iRaw], sRaw, LEN);
      iRaw = (iRaw + 1) & mask;
    }
  });
  const group = "random 64 B per call, interleaved with the raw FFI copy";
  emit({
    group,
    name: "writeSync(), ns a write",
    value: result.ours,
    unit: "ns",
  });
  emit({
    group,
    name: "raw FFI write, ns a write",
    value: result.theirs,
    unit: "ns",
  });
  emit({
    group,
    name: "writeSync() / raw FFI write",
    value: result.ratio,
    unit: "×",
  });
  h.close();
}
