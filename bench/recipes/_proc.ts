// What the recipe benchmarks share: memory figures from /proc, child
// processes that report a JSON line and then hold their memory until told
// to go, and the JSON lines of the side-program contract (bench/side.ts).

/** One measurement line for scripts/bench_report.ts. */
export function emit(row: Record<string, unknown>): void {
  console.log(JSON.stringify(row));
}

/** A field of /proc/<pid>/status or smaps_rollup, in bytes ("VmHWM", "Pss"). */
export function procBytes(
  file: "status" | "smaps_rollup",
  field: string,
  pid: number | "self" = "self",
): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/${file}`);
  const m = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  if (!m) throw new Error(`/proc/${pid}/${file} has no ${field}`);
  return Number(m[1]) * 1024;
}

/** Whether /proc has the figures (Linux). */
export function haveProc(): boolean {
  try {
    procBytes("smaps_rollup", "Pss");
    return true;
  } catch {
    return false;
  }
}

/** A child that printed its JSON line and holds its memory until released. */
export interface Held<T> {
  pid: number;
  result: T;
  /** Writes a line to the child's stdin. */
  send(line: string): Promise<void>;
  /** The child's next JSON line. */
  next<U>(): Promise<U>;
  /** Lets the child end (closes its stdin) and waits for it. */
  release(): Promise<void>;
}

/**
 * Runs `deno run -A <script> ...args` and waits for its first JSON line.
 * The child should print it, then read stdin to its end before exiting, so
 * its memory can be measured while it is alive.
 */
export async function hold<T>(
  script: string,
  args: string[],
): Promise<Held<T>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", script, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = child.stdin.getWriter();
  let seen = "";
  const next = async <U>(): Promise<U> => {
    while (!seen.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) {
        await child.status;
        throw new Error(`${script} ${args.join(" ")} ended without a result`);
      }
      seen += value;
    }
    const line = seen.slice(0, seen.indexOf("\n"));
    seen = seen.slice(line.length + 1);
    return JSON.parse(line) as U;
  };
  const result = await next<T>();
  return {
    pid: child.pid,
    result,
    next,
    async send(line: string) {
      await writer.write(new TextEncoder().encode(line + "\n"));
    },
    async release() {
      await writer.close();
      await reader.cancel();
      const status = await child.status;
      if (!status.success) throw new Error(`${script} failed: ${status.code}`);
    },
  };
}

/** In a child: print the result, then wait until the parent lets go. */
export async function reportAndHold(result: unknown): Promise<void> {
  console.log(JSON.stringify(result));
  const buf = new Uint8Array(16);
  while ((await Deno.stdin.read(buf)) !== null) { /* until EOF */ }
}

/** In a child: print a line, then wait for one line from the parent. */
export async function reportAndWait(result: unknown): Promise<void> {
  console.log(JSON.stringify(result));
  const buf = new Uint8Array(1);
  while ((await Deno.stdin.read(buf)) !== null && buf[0] !== 10) { /* … */ }
}

/** Reads a whole file once, so that it is in the page cache. */
export function warm(path: string): void {
  using file = Deno.openSync(path);
  const buf = new Uint8Array(1 << 22);
  while (file.readSync(buf) !== null) { /* the read is the point */ }
}

/** Reads a whole file into a buffer of its size, with Deno.FsFile. */
export function readSized(path: string): Uint8Array {
  using file = Deno.openSync(path);
  const bytes = new Uint8Array(file.statSync().size);
  for (let at = 0; at < bytes.length;) {
    const n = file.readSync(bytes.subarray(at));
    if (n === null) throw new Error(`${path}: shorter than its size`);
    at += n;
  }
  return bytes;
}
