// Shared test helpers: temp directories and Deno subprocesses.

/** Runs `fn` with a fresh temp directory, removed afterwards. */
export async function withTempDir<T>(
  fn: (dir: string) => T | Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "mmap_test_" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Bytes 0, 1, 2, … (mod 251, so no period aligns with pages). */
export function pattern(length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i + seed) % 251;
  return bytes;
}

/** What a finished subprocess left behind. */
export interface Output {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** URL of the package entry point, for scripts run in subprocesses. */
export const MOD_URL = new URL("../mod.ts", import.meta.url).href;

/**
 * Runs `deno run` on a script (source text) with the given permission flags.
 * The script can import the package from `MOD_URL`.
 */
export async function runDeno(
  source: string,
  flags: string[],
  options: { args?: string[]; env?: Record<string, string>; cwd?: string } = {},
): Promise<Output> {
  const dir = await Deno.makeTempDir({ prefix: "mmap_script_" });
  const script = `${dir}/script.ts`;
  await Deno.writeTextFile(script, source);
  try {
    const { code, signal, stdout, stderr } = await new Deno.Command(
      Deno.execPath(),
      {
        args: ["run", "--quiet", ...flags, script, ...(options.args ?? [])],
        env: options.env,
        cwd: options.cwd,
        stdout: "piped",
        stderr: "piped",
      },
    ).output();
    const decoder = new TextDecoder();
    return {
      code,
      signal,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The permission flags the package's README asks for. */
export const FULL_FLAGS = [
  "--allow-ffi",
  "--unstable-ffi",
  "--allow-read",
  "--allow-write",
];
