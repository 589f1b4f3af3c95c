// Shared test helpers: temp directories and byte patterns (subprocesses are
// in _subprocess.ts).

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
