// The one way tests run Deno in a child process: a script (source text) or a
// Deno subcommand, with the permission flags the test names, to completion
// (`runDeno`, `runDenoArgs`) or while the test talks to it (`spawnDeno`).
// Crashes are tested this way, so a crash is a failed test, not a dead runner.
// Scenario suites (faults, lifetimes, leaks, permissions) put a prelude of
// helpers before each body (`scenario`) and read its last JSON line
// (`lastJson`); the snippets below are the helpers they share.

import assert from "node:assert/strict";

/** What a finished subprocess left behind. */
export interface Output {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** Where and how a child runs. */
export interface ChildOptions {
  /** Arguments after the script (`Deno.args`). */
  args?: string[];
  env?: Record<string, string>;
  cwd?: string | URL;
  /** A command that runs Deno, e.g. `["prlimit", "--memlock=0:0"]`. */
  wrap?: string[];
  /**
   * Milliseconds after which `runDenoArgs` kills the child: a hang then
   * fails its test, naming it, instead of stopping the whole suite.
   */
  timeoutMs?: number;
}

/** URL of the package entry point, for scripts run in subprocesses. */
export const MOD_URL = new URL("../mod.ts", import.meta.url).href;
/** URL of the module that loads the native library (`librarySync()`). */
export const FFI_URL = new URL("../src/ffi.ts", import.meta.url).href;

/** The permission flags the package's README asks for. */
export const FULL_FLAGS = [
  "--allow-ffi",
  "--unstable-ffi",
  "--allow-read",
  "--allow-write",
];

function command(
  args: string[],
  options: ChildOptions,
  signal?: AbortSignal,
): Deno.Command {
  const [program, ...wrapped] = [...(options.wrap ?? []), Deno.execPath()];
  return new Deno.Command(program!, {
    args: [...wrapped, ...args],
    env: options.env,
    cwd: options.cwd,
    stdout: "piped",
    stderr: "piped",
    signal,
  });
}

/** Runs `deno <args>` to completion. */
export async function runDenoArgs(
  args: string[],
  options: ChildOptions = {},
): Promise<Output> {
  const limit = new AbortController();
  const timer = options.timeoutMs === undefined
    ? undefined
    : setTimeout(() => limit.abort(), options.timeoutMs);
  try {
    const { code, signal, stdout, stderr } = await command(
      args,
      options,
      limit.signal,
    ).output();
    const decoder = new TextDecoder();
    const killed = limit.signal.aborted
      ? `\n(killed: still running after ${options.timeoutMs} ms)`
      : "";
    return {
      code,
      signal,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr) + killed,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Writes `source` to a fresh temp dir; returns the script path. */
function scriptFile(source: string): string {
  const dir = Deno.makeTempDirSync({ prefix: "mmap_script_" });
  const script = `${dir}/script.ts`;
  Deno.writeTextFileSync(script, source);
  return script;
}

function removeScript(script: string): void {
  Deno.removeSync(script.slice(0, script.lastIndexOf("/")), {
    recursive: true,
  });
}

/**
 * Runs `deno run` on a script (source text) with the given permission flags.
 * The script can import the package from `MOD_URL`.
 */
export async function runDeno(
  source: string,
  flags: string[],
  options: ChildOptions = {},
): Promise<Output> {
  const script = scriptFile(source);
  try {
    return await runDenoArgs(
      ["run", "--quiet", ...flags, script, ...(options.args ?? [])],
      options,
    );
  } finally {
    removeScript(script);
  }
}

/**
 * Starts `deno run` on a script (source text) and returns the running child,
 * for tests that read its output as it comes or kill it. The script's temp
 * dir goes when the child ends.
 */
export function spawnDeno(
  source: string,
  flags: string[],
  options: ChildOptions = {},
): Deno.ChildProcess {
  const script = scriptFile(source);
  const child = command(
    ["run", "--quiet", ...flags, script, ...(options.args ?? [])],
    options,
  ).spawn();
  child.status.finally(() => removeScript(script));
  return child;
}

/** Reads a spawned child's stdout until a line equals `line`. */
export async function waitForLine(
  child: Deno.ChildProcess,
  line: string,
): Promise<void> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  try {
    while (!seen.split("\n").includes(line)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`child ended before "${line}": ${seen}`);
      seen += value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * The last line a child printed, parsed as JSON; fails with the child's
 * output unless it exited with code 0.
 */
export function lastJson<T = Record<string, unknown>>(out: Output): T {
  assert.equal(
    out.code,
    0,
    `child failed (code ${out.code}, signal ${out.signal})\n${out.stdout}\n${out.stderr}`,
  );
  return JSON.parse(out.stdout.trim().split("\n").at(-1)!);
}

/**
 * A runner of scenarios: each body runs after `prelude` in its own child,
 * with `flags` unless the call names others.
 */
export function scenario(
  prelude: string,
  flags: string[],
): (body: string, other?: string[]) => Promise<Output> {
  return (body, other = flags) => runDeno(prelude + body, other);
}

/** Prelude snippet: `report(value)` prints one JSON line for `lastJson`. */
export const REPORT = `
function report(value: unknown) {
  console.log(JSON.stringify(value));
}
`;

/** Flags for scenarios that count mappings and force garbage collection. */
export const GC_FLAGS = [
  "--allow-all",
  "--unstable-ffi",
  "--v8-flags=--expose-gc",
];

/**
 * Prelude snippet (run with `GC_FLAGS`): `live()` counts the mappings in the
 * native registry, and `collect(done, min, max)` runs full GCs and lets
 * finalizers run, at least `min` times, until `done()` or `max` rounds.
 */
export const GC = `
import { librarySync } from ${JSON.stringify(FFI_URL)};
const stats = new Float64Array(2);
/** Mappings in the native registry. */
function live(): number {
  librarySync().mmap_stats(stats);
  return stats[0];
}
async function collect(done: () => boolean = () => false, min = 0, max = 50) {
  for (let i = 0; i < max && (i < min || !done()); i++) {
    (globalThis as unknown as { gc(): void }).gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}
`;

/** What a seeded fuzz child prints last: its work count and what differed. */
interface FuzzResult {
  count: number;
  mismatches: number;
  notes: string[];
}

/**
 * Runs a seeded fuzz program (`source`, which reads `Deno.args` = [seed,
 * count] and prints `{ count, mismatches, notes }` last) in a child per
 * seed, and asserts that no child crashed and none saw a mismatch. The
 * default suite uses the fixed `seeds`; `MMAP_LONG_TESTS=1` draws 8 new ones
 * with `long` steps each and prints them, and `MMAP_FUZZ_SEED` replays one.
 */
export async function fuzzInChildren(
  label: string,
  source: string,
  flags: string[],
  options: { seeds: number[]; count: number; long: number },
): Promise<void> {
  const long = Deno.env.get("MMAP_LONG_TESTS") === "1";
  const fixed = Deno.env.get("MMAP_FUZZ_SEED");
  const seeds = fixed !== undefined
    ? [Number(fixed)]
    : long
    ? Array.from({ length: 8 }, () => (Math.random() * 2 ** 32) >>> 0)
    : options.seeds;
  const count = long ? options.long : options.count;
  let made = 0;
  for (const seed of seeds) {
    const out = await runDeno(source, flags, {
      args: [String(seed), String(count)],
    });
    assert.equal(
      out.signal,
      null,
      `seed ${seed}: the child died of ${out.signal}\n${out.stderr}`,
    );
    const result = lastJson<FuzzResult>(out);
    assert.deepEqual(
      { seed, mismatches: result.mismatches, notes: result.notes },
      { seed, mismatches: 0, notes: [] },
    );
    made += result.count;
  }
  if (long) {
    console.log(`${label}: ${made} over seeds ${seeds.join(", ")}, 0 crashes`);
  }
}
