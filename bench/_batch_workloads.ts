// The batch workloads: many records at random offsets of a file in one
// call (gatherSync) against the per-record ways of doing the same, as
// factories like those of _workloads.ts (tests/bench_smoke_test.ts runs them
// on small files). The side programs bench/c/gather.c and bench/py/gather.py
// do the same work outside Deno and report into the same groups.

import {
  closeSync,
  gatherSync,
  openAnonymousSync,
  openSync,
  readSync,
  view,
} from "@riaskov/mmap";
import { random } from "./_common.ts";
import { label, type Workload } from "./_workloads.ts";

/** Names of the gather alternatives (the side programs use the last two). */
export const GATHER = {
  gather: "gatherSync() (one call)",
  readSync: "readSync() per record",
  view: "view() subarray+set loop",
  c: "C loop of memcpy (mmap)",
  numpy: "numpy take on a memmap",
} as const;

/** The group name of a gather of `len`-byte records (side programs match it). */
export function gatherGroup(len: number): string {
  return `gather ${label(len)} records`;
}

/**
 * `count` random record offsets of a file of `size` bytes seen as rows of
 * `len` bytes (offset = row × len), as numpy's `take` over a 2-D memmap
 * sees it.
 */
export function rowOffsets(
  count: number,
  size: number,
  len: number,
  seed = 7,
): Float64Array {
  const rows = Math.floor(size / len);
  const next = random(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(next() * rows) * len;
  return out;
}

/**
 * `count` records of `len` bytes at random row offsets of `path` (`size`
 * bytes) per iteration, into one destination of `count * len` bytes.
 */
export function gatherRecords(
  path: string,
  size: number,
  len: number,
  count: number,
): Workload {
  const offsets = rowOffsets(count, size, len);
  // Populated in setup, as for the random reads: the steady state of a
  // long-lived mapping, not its first page faults.
  const h = openSync(path, { populate: true });
  const whole = view(h);
  // Touched once, so no alternative pays first-touch faults on dst.
  const outs = Array.from(
    { length: 3 },
    () => new Uint8Array(count * len).fill(1),
  );
  const [dGather, dRead, dView] = outs;
  const slots = Array.from(
    { length: count },
    (_, i) => dRead.subarray(i * len, (i + 1) * len),
  );
  return {
    group: gatherGroup(len),
    bytes: len * count,
    ops: count,
    offsets,
    alternatives: [
      {
        name: GATHER.readSync,
        baseline: true,
        fn() {
          for (let i = 0; i < count; i++) readSync(h, slots[i], offsets[i]);
        },
        out: () => dRead,
      },
      {
        name: GATHER.view,
        fn() {
          for (let i = 0; i < count; i++) {
            const o = offsets[i];
            dView.set(whole.subarray(o, o + len), i * len);
          }
        },
        out: () => dView,
      },
      {
        name: GATHER.gather,
        fn() {
          gatherSync(h, offsets, len, dGather);
        },
        out: () => dGather,
      },
    ],
    dispose() {
      closeSync(h);
    },
  };
}

/** Names of the huge-page alternatives. */
export const HUGE = {
  gatherHuge: 'gatherSync(), advise("hugepage")',
  gatherSmall: 'gatherSync(), advise("nohugepage")',
  readHuge: 'readSync() per record, advise("hugepage")',
  readSmall: 'readSync() per record, advise("nohugepage")',
} as const;

/**
 * Random `len`-byte reads over an anonymous table of `size` bytes (a copy
 * of the first `size` bytes of `path`), one table advised "hugepage" and
 * one "nohugepage" before it is filled: what transparent huge pages change
 * for a large in-memory table (a miss in the TLB on every random record
 * with 4 KiB pages). `count` records per iteration, by gatherSync() and by
 * a readSync() per record.
 */
export function hugePageTable(
  path: string,
  size: number,
  len: number,
  count: number,
): Workload {
  const offsets = rowOffsets(count, size, len, 11);
  const source = openSync(path, { length: size });
  const tables = (["hugepage", "nohugepage"] as const).map((advice) => {
    const table = openAnonymousSync(size);
    // Before the first touch, so the kernel chooses the page size when it
    // faults the memory in.
    table.advise(advice);
    table.view().set(source.view());
    return table;
  });
  closeSync(source);
  const [huge, small] = tables;
  const outs = Array.from(
    { length: 4 },
    () => new Uint8Array(count * len).fill(1),
  );
  const [dGh, dGs, dRh, dRs] = outs;
  const slotsOf = (d: Uint8Array) =>
    Array.from({ length: count }, (_, i) => d.subarray(i * len, (i + 1) * len));
  const [sRh, sRs] = [slotsOf(dRh), slotsOf(dRs)];
  return {
    group: `gather ${label(len)} records, ${label(size)} anonymous table`,
    bytes: len * count,
    ops: count,
    offsets,
    alternatives: [
      {
        name: HUGE.readSmall,
        baseline: true,
        fn() {
          for (let i = 0; i < count; i++) readSync(small, sRs[i], offsets[i]);
        },
        out: () => dRs,
      },
      {
        name: HUGE.readHuge,
        fn() {
          for (let i = 0; i < count; i++) readSync(huge, sRh[i], offsets[i]);
        },
        out: () => dRh,
      },
      {
        name: HUGE.gatherSmall,
        fn() {
          gatherSync(small, offsets, len, dGs);
        },
        out: () => dGs,
      },
      {
        name: HUGE.gatherHuge,
        fn() {
          gatherSync(huge, offsets, len, dGh);
        },
        out: () => dGh,
      },
    ],
    dispose() {
      for (const table of tables) closeSync(table);
    },
  };
}
