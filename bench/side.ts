// Programs outside `deno bench` whose figures go into the same report and
// the same run: C loops, numpy, other runtimes, several processes. Each one
// is listed here; scripts/bench_report.ts runs every entry once per report
// run, after that run's `deno bench`, from the repository root.
//
// A program prints JSON lines, one per measurement:
//   {"group": "random 64 B read", "name": "C loop of memcpy", "ns_per_op": 21.3}
// with optional "baseline": true and "p99_ns": <ns>; or a figure that is not
// a time: {"group": …, "name": …, "value": 1.02, "unit": "× file size"};
// or {"skip": "why"} when it cannot measure here (numpy missing, say).
// A row whose group is also a `deno bench` group joins that table:
// "ns_per_op" is per read (or per operation) of the group, the report
// multiplies it by the group's operations per iteration.

/** One program of the report, with how to build and run it. */
export interface SideProgram {
  /** Shown in the report's log and in skip notes. */
  name: string;
  /**
   * Run once before the first run; a failure skips the program. Tokens:
   * `$DENO` is the running deno binary, `$DATA` the bench/.data directory.
   */
  build?: string[];
  /** The command whose stdout is the JSON lines (same tokens). */
  run: string[];
  /** Programs that must be on PATH; the program is skipped without one. */
  requires?: string[];
}

/** Every side program of `deno task bench:report`. */
export const SIDE: SideProgram[] = [
  // The gather groups (bench/gather_bench.ts): a plain C loop of memcpy at
  // the offsets over an mmap of big.bin, and numpy's take on a memmap of it.
  {
    name: "C gather loop (bench/c/gather.c)",
    build: ["gcc", "-O2", "-o", "$DATA/gather", "bench/c/gather.c"],
    run: ["$DATA/gather", "$DATA/big.bin", "9"],
    requires: ["gcc"],
  },
  {
    name: "numpy take (bench/py/gather.py)",
    run: ["python3", "bench/py/gather.py", "$DATA/big.bin", "9"],
    requires: ["python3"],
  },
  // Processes and Workers that talk: wait/notify against pipes, TCP and
  // postMessage (bench/ipc/).
  {
    name: "ipc ping-pong between processes",
    run: ["$DENO", "run", "-A", "--unstable-ffi", "bench/ipc/pingpong.ts"],
  },
  // The same ping-pong in C (pipe and futexes, bench/c/pingpong.c): the
  // OS's own cost of a round trip that wakes a sleeper.
  {
    name: "C ping-pong between processes (bench/c/pingpong.c)",
    build: ["gcc", "-O2", "-o", "$DATA/pingpong", "bench/c/pingpong.c"],
    run: ["$DATA/pingpong", "10000"],
    requires: ["gcc"],
  },
  {
    name: "ipc ping-pong between Workers",
    run: ["$DENO", "run", "-A", "--unstable-ffi", "bench/ipc/workers.ts"],
  },
  {
    name: "ipc SPSC ring between processes",
    run: ["$DENO", "run", "-A", "--unstable-ffi", "bench/ipc/ring.ts"],
  },
  // Recipes (the README's workloads; bench/recipes/)
  {
    name: "recipe: safetensors",
    run: ["$DENO", "run", "-A", "bench/recipes/safetensors.ts", "$DATA"],
  },
  {
    name: "recipe: lookup table",
    run: ["$DENO", "run", "-A", "bench/recipes/lookup_table.ts", "$DATA"],
  },
  {
    name: "recipe: embedding gather",
    build: [
      "$DENO",
      "run",
      "-A",
      "bench/recipes/embedding_gather.ts",
      "$DATA",
      "--make",
    ],
    run: ["$DENO", "run", "-A", "bench/recipes/embedding_gather.ts", "$DATA"],
  },
  {
    name: "recipe: embedding gather (numpy)",
    build: [
      "$DENO",
      "run",
      "-A",
      "bench/recipes/embedding_gather.ts",
      "$DATA",
      "--make",
    ],
    run: [
      "python3",
      "bench/recipes/embedding_gather.py",
      "$DATA/embedding-2048m.f32",
    ],
    requires: ["python3"],
  },
  {
    // Evicts the table from the page cache (posix_fadvise, via python3).
    name: "recipe: embedding gather, cold cache",
    run: [
      "$DENO",
      "run",
      "-A",
      "bench/recipes/embedding_gather.ts",
      "$DATA",
      "--cold",
    ],
    requires: ["python3"],
  },
  {
    name: "recipe: append log",
    run: ["$DENO", "run", "-A", "bench/recipes/append_log.ts", "$DATA"],
  },
  // Per-call copies: the physical limit of the random-read and random-write
  // groups. The raw FFI copy (bench/c/raw_copy.c) is built here, before the
  // first run, and joins the deno bench groups from inside them (it must
  // copy over the same mapping in the same process); the C loop of memcpy
  // at the same offsets is a program of its own.
  {
    name: "C loop of memcpy at the offsets (and the raw FFI copy)",
    requires: ["gcc", "sh"],
    build: [
      "sh",
      "-c",
      "gcc -O2 -shared -fPIC -o $DATA/libraw_copy.so bench/c/raw_copy.c && gcc -O2 -o $DATA/memcpy_loop bench/c/memcpy_loop.c",
    ],
    run: ["$DATA/memcpy_loop", "$DATA/big.bin"],
  },
  // The per-call ratios again, with readSync/writeSync and the raw FFI copy
  // taking turns in short slices in one process (after the program above,
  // which builds the raw copy).
  {
    name: "per-call copies interleaved with the raw FFI copy",
    requires: ["gcc"],
    run: [
      "$DENO",
      "run",
      "-A",
      "--unstable-ffi",
      "bench/percall_interleaved.ts",
      "$DATA",
    ],
  },
  // Bun's mmap, when the environment names a bun binary (`BUN=…`; one can
  // be had from the npm registry: `npm install @oven/bun-linux-x64`, then
  // node_modules/@oven/bun-linux-x64/bin/bun).
  {
    name: "Bun.mmap (BUN)",
    requires: ["sh"],
    run: [
      "sh",
      "-c",
      'if [ -n "$BUN" ]; then exec "$BUN" bench/bun/mmap_read.js "$1"; else echo \'{"skip": "set BUN to a bun binary"}\'; fi',
      "sh",
      "$DATA/big.bin",
    ],
  },
];
