// A small filesystem that can be filled, for the out-of-space tests (faults,
// preallocation): a 1 MiB tmpfs mounted by the test.

/**
 * Why a small full filesystem cannot be made here, or `undefined` when it
 * can: the out-of-space tests mount a 1 MiB tmpfs, which needs Linux and
 * root (CAP_SYS_ADMIN). Tried once, at load; tests that need it are ignored
 * with this reason printed.
 */
export const NO_FULL_DISK: string | undefined = (() => {
  if (Deno.build.os !== "linux") return "not Linux";
  const dir = Deno.makeTempDirSync({ prefix: "mmap_probe_" });
  try {
    const mounted = mount(dir);
    if (mounted !== undefined) return mounted;
    umount(dir);
    return undefined;
  } finally {
    Deno.removeSync(dir);
  }
})();
if (NO_FULL_DISK !== undefined) {
  console.warn(
    `skipping the out-of-space tests: cannot mount a 1 MiB tmpfs (${NO_FULL_DISK}); run them as root on Linux`,
  );
}

/** Mounts a 1 MiB tmpfs on `dir`; the failure's text, if any. */
function mount(dir: string): string | undefined {
  try {
    const r = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir],
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    return r.success ? undefined : new TextDecoder().decode(r.stderr).trim();
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Unmounts `dir`; lazily (`-l`), so that a mapping a failed test left open
 * cannot keep the filesystem mounted after the test.
 */
function umount(dir: string): void {
  new Deno.Command("umount", {
    args: ["-l", dir],
    stdout: "null",
    stderr: "null",
  }).outputSync();
}

/**
 * Runs `fn` with a directory on a fresh 1 MiB tmpfs (see `NO_FULL_DISK`),
 * unmounted and removed afterwards. `fill(dir)` fills the filesystem.
 */
export async function withSmallDisk<T>(
  fn: (dir: string) => T | Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "mmap_full_" });
  const failed = mount(dir);
  if (failed !== undefined) {
    await Deno.remove(dir);
    throw new Error(`mount of a 1 MiB tmpfs failed: ${failed}`);
  }
  try {
    return await fn(dir);
  } finally {
    umount(dir);
    await Deno.remove(dir, { recursive: true });
  }
}

/** Fills the filesystem of `dir` with a file `dir/filler`. */
export function fill(dir: string): void {
  try {
    Deno.writeFileSync(`${dir}/filler`, new Uint8Array(4 << 20));
  } catch (error) {
    if (!/No space left/.test((error as Error).message)) throw error;
  }
}
