// A monotonic clock for per-round-trip timing: `performance.now()` costs
// about 330 ns per call on the report's VM, libc's `clock_gettime` through
// FFI about 140 ns (the VM's clock source is not served by the vDSO), so
// each round is stamped with the latter and the cost of one stamp, measured
// here, is taken off every interval.

const libc = Deno.build.os === "linux"
  ? Deno.dlopen("libc.so.6", {
    clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  })
  : undefined;
const spec = new Int32Array(4);
const CLOCK_MONOTONIC = 1;

/** Nanoseconds from an arbitrary start (seconds' low 32 bits suffice). */
export const now: () => number = libc
  ? () => {
    libc.symbols.clock_gettime(CLOCK_MONOTONIC, spec);
    return spec[0] * 1e9 + spec[2];
  }
  : () => performance.now() * 1e6;

/** The median cost of one `now()` in ns. */
export function stampCost(): number {
  const gaps: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const a = now();
    gaps.push(now() - a);
  }
  gaps.sort((a, b) => a - b);
  return gaps[gaps.length >> 1];
}

/** p50 and p99 of the intervals between consecutive stamps, less `cost`. */
export function percentiles(
  stamps: Float64Array,
  cost: number,
): { p50: number; p99: number } {
  const gaps = new Float64Array(stamps.length - 1);
  for (let i = 1; i < stamps.length; i++) {
    gaps[i - 1] = Math.max(0, stamps[i] - stamps[i - 1] - cost);
  }
  gaps.sort();
  const at = (q: number) =>
    gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

/** Prints one measurement for bench/side.ts. */
export function emit(
  group: string,
  name: string,
  result: { p50: number; p99: number },
  baseline = false,
): void {
  console.log(JSON.stringify({
    group,
    name,
    ns_per_op: result.p50,
    p99_ns: result.p99,
    ...(baseline ? { baseline: true } : {}),
  }));
}

/** The intervals between consecutive stamps, less `cost`, in ns. */
export function gapsOf(stamps: Float64Array, cost: number): Float64Array {
  const gaps = new Float64Array(stamps.length - 1);
  for (let i = 1; i < stamps.length; i++) {
    gaps[i - 1] = Math.max(0, stamps[i] - stamps[i - 1] - cost);
  }
  return gaps;
}

/** Prints p50 and p99 of several slices' intervals (`gapsOf`) pooled. */
export function pooled(
  group: string,
  name: string,
  slices: Float64Array[],
  baseline = false,
): void {
  const all = new Float64Array(slices.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of slices) {
    all.set(s, at);
    at += s.length;
  }
  all.sort();
  const q = (p: number) =>
    all[Math.min(all.length - 1, Math.floor(p * all.length))];
  emit(group, name, { p50: q(0.5), p99: q(0.99) }, baseline);
}

/**
 * Prints how many times per round trip the two sides slept (NaN, where the
 * OS does not say, prints nothing).
 */
export function emitSleeps(
  group: string,
  name: string,
  perRound: number,
): void {
  if (Number.isNaN(perRound)) return;
  console.log(JSON.stringify({
    group,
    name: `${name}: sleeps per round trip`,
    value: +perRound.toFixed(2),
    unit: "sleeps (both sides)",
  }));
}
