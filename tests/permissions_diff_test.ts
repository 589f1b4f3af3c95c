// Differential test of the permission check: for every cell of flags ×
// paths × modes, `Deno.open` and the package's `openSync` run side by side in
// one subprocess per flag set, and their outcome classes (ok / NotCapable /
// NotFound / other) must agree. Paths are spelled every way Deno judges
// differently (relative, symlinked, `..`, `file:` URLs, and on Linux the
// `/proc/self/…`, `/proc/<pid>/…`, `/proc/thread-self/…`, `/dev/fd/…`,
// `/dev/stdin` and `/dev/shm/…` paths that `Deno.open` refuses without
// `--allow-all` although `querySync` says "granted"). The child's stdin and
// fd 5 are a regular file, so `/dev/fd/0` and `/dev/fd/5` can be mapped.

import assert from "node:assert/strict";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { withTempDir } from "./_helpers.ts";
import { lastJson, MOD_URL, runDeno } from "./_subprocess.ts";
import { platformAsset } from "../src/platform.ts";
import { openSharedSync, unlinkSharedSync } from "../mod.ts";

const DIST = dirname(
  fileURLToPath(new URL(`../dist/${platformAsset().asset}`, import.meta.url)),
);
const CREATE = { create: true, size: 100 };
const LINUX = Deno.build.os === "linux";
const WINDOWS = Deno.build.os === "windows";

type Mode = "read" | "write" | "create";
/** A path as the child spells it: `{pid}` is replaced by its pid. */
interface Cell {
  label: string;
  path: string;
  url: boolean;
  mode: Mode;
  /** The file does not exist: remove whatever a successful create made. */
  fresh: boolean;
}

const CHILD = `
import * as mmap from ${JSON.stringify(MOD_URL)};
const cells = JSON.parse(Deno.args[0]);
function outcome(f) {
  try {
    f();
    return "ok";
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) return "NotCapable";
    if (e instanceof Deno.errors.NotFound) return "NotFound";
    return "other:" + e.name + ": " + e.message;
  }
}
const OPTIONS = {
  read: [{ read: true }, undefined],
  write: [{ read: true, write: true }, { write: true }],
  create: [{ read: true, write: true, create: true }, { write: true, create: true, size: 8 }],
};
const results = [];
for (const cell of cells) {
  const path = cell.path.replace("{pid}", String(Deno.pid));
  const target = () => cell.url ? new URL("file://" + (path.startsWith("/") ? "" : "/") + path.replaceAll("\\\\", "/")) : path;
  const [denoOptions, mmapOptions] = OPTIONS[cell.mode];
  const cleanup = (result) => {
    if (result === "ok" && cell.fresh) {
      try { Deno.removeSync(target()); } catch (e) { return "cleanup failed: " + e.message; }
    }
    return result;
  };
  const deno = cleanup(outcome(() => Deno.openSync(target(), denoOptions).close()));
  const mine = cleanup(outcome(() => mmap.openSync(target(), mmapOptions).close()));
  results.push([deno, mine]);
}
console.log(JSON.stringify(results));
`;

/** The outcome class compared: ok, NotCapable, NotFound or other. */
function classOf(outcome: string): string {
  return outcome.startsWith("other:") ? "other" : outcome;
}

/** in/a.bin, out/b.bin, a link in/link → out/b.bin, a region in /dev/shm. */
function layout(base: string, shm: string): void {
  Deno.mkdirSync(join(base, "in"));
  Deno.mkdirSync(join(base, "out"));
  Deno.writeFileSync(join(base, "in", "a.bin"), new Uint8Array(100).fill(65));
  Deno.writeFileSync(join(base, "out", "b.bin"), new Uint8Array(100).fill(66));
  if (!WINDOWS) {
    Deno.symlinkSync(join(base, "out", "b.bin"), join(base, "in", "link"));
  }
  // The test itself has no --allow-all, which /dev/shm needs for Deno.open.
  if (LINUX) openSharedSync(shm.slice("/dev/shm/".length), CREATE).close();
}

function paths(base: string, shm: string): [string, string, boolean][] {
  const a = join(base, "in", "a.bin");
  const fresh = join(base, "in", "new.bin");
  const list: [string, string, boolean][] = [
    ["plain", a, false],
    ["relative", "a.bin", false],
    ["relative ..", join("..", "out", "b.bin"), false],
    ["outside", join(base, "out", "b.bin"), false],
    [".. out", join(base, "in", "..", "out", "b.bin"), false],
    [".. back in", join(base, "out", "..", "in", "a.bin"), false],
    ["missing", fresh, true],
    ["missing outside", join(base, "out", "new.bin"), true],
  ];
  if (!WINDOWS) list.push(["symlink", join(base, "in", "link"), false]);
  if (WINDOWS) list.push(["verbatim", `\\\\?\\${a}`, false]);
  if (LINUX) {
    list.push(
      ["/proc/self/root", `/proc/self/root${a}`, false],
      ["/proc/self/root missing", `/proc/self/root${fresh}`, true],
      ["/proc/self/cwd", "/proc/self/cwd/a.bin", false],
      ["/proc/<pid>/root", `/proc/{pid}/root${a}`, false],
      ["/proc/thread-self/root", `/proc/thread-self/root${a}`, false],
      ["/proc/self/fd/0", "/proc/self/fd/0", false],
      ["/proc/self/fd/5", "/proc/self/fd/5", false],
      ["/dev/fd/0", "/dev/fd/0", false],
      ["/dev/fd/5", "/dev/fd/5", false],
      ["/dev/stdin", "/dev/stdin", false],
      ["/dev/shm", shm, false],
      ["/dev/shm missing", `${shm}-new`, true],
      ["/proc/self/root ..", `/proc/self/root${base}/in/../in/a.bin`, false],
    );
  }
  return list;
}

function flagSets(base: string, shm: string): [string, string[]][] {
  const inDir = join(base, "in");
  const sets: [string, string[]][] = [
    ["none", []],
    ["--allow-read", ["--allow-read"]],
    ["--allow-read --allow-write", ["--allow-read", "--allow-write"]],
    ["scoped to in/", [
      `--allow-read=${inDir},${DIST}`,
      `--allow-write=${inDir}`,
    ]],
    ["--allow-write only", [`--allow-write=${base}`]],
    ["--deny-read=out/", [
      "--allow-read",
      "--allow-write",
      `--deny-read=${join(base, "out")}`,
    ]],
    ["--deny-write=in/a.bin", [
      "--allow-read",
      "--allow-write",
      `--deny-write=${join(inDir, "a.bin")}`,
    ]],
    ["--allow-write=in/new.bin", [
      `--allow-read=${base},${DIST}`,
      `--allow-write=${join(inDir, "new.bin")}`,
    ]],
  ];
  if (LINUX) {
    sets.push(["scoped to /proc, /dev, /tmp", [
      `--allow-read=/proc,/dev,${base},${DIST}`,
      `--allow-write=/proc,/dev,${base}`,
    ]], ["scoped to the /dev/shm file", [
      `--allow-read=${shm},${base},${DIST}`,
      `--allow-write=${shm},${base}`,
    ]]);
  }
  return [
    ...sets.map(([n, f]): [string, string[]] => [n, ["--allow-ffi", ...f]]),
    ["-A", ["--allow-all"]],
    ["-A --deny-read=out/", [
      "--allow-all",
      `--deny-read=${join(base, "out")}`,
    ]],
  ];
}

Deno.test("the package's open() refuses exactly what Deno.open refuses, over flags × paths × modes", async () => {
  await withTempDir(async (base) => {
    const shm = `/dev/shm/mmap_diff_${crypto.randomUUID()}`;
    try {
      layout(base, shm);
      const cells: Cell[] = [];
      for (const [label, path, fresh] of paths(base, shm)) {
        for (const mode of ["read", "write", "create"] as const) {
          // An absolute path is tried as a file: URL too.
          const urls = isAbsolute(path) && label !== "verbatim"
            ? [false, true]
            : [false];
          for (const url of urls) cells.push({ label, path, url, mode, fresh });
        }
      }
      const stdin = join(base, "in", "a.bin");
      // Deno.Command cannot hand a file to the child as stdin or fd 5: a
      // shell does, then runs Deno in its place.
      const wrap = WINDOWS
        ? undefined
        : ["sh", "-c", 'exec "$@" <"$0" 5<"$0"', stdin];
      const disagreements: string[] = [];
      let total = 0;
      const tally = new Map<string, number>();
      for (const [name, flags] of flagSets(base, shm)) {
        const out = await runDeno(
          CHILD,
          ["--unstable-ffi", "--no-prompt", ...flags],
          { args: [JSON.stringify(cells)], cwd: join(base, "in"), wrap },
        );
        const results = lastJson<[string, string][]>(out);
        assert.equal(results.length, cells.length);
        results.forEach(([deno, mine], i) => {
          const cell = cells[i]!;
          total++;
          const key = `${classOf(deno)}`;
          tally.set(key, (tally.get(key) ?? 0) + 1);
          assert.doesNotMatch(`${deno} ${mine}`, /cleanup failed/);
          if (classOf(deno) !== classOf(mine)) {
            disagreements.push(
              `${name} | ${cell.label}${
                cell.url ? " (URL)" : ""
              } | ${cell.mode}: Deno.open ${deno}, open() ${mine}`,
            );
          }
        });
        // Nothing refused was created, and nothing created was left behind.
        assert.deepEqual(
          [...Deno.readDirSync(join(base, "in"))].map((e) => e.name).sort(),
          WINDOWS ? ["a.bin"] : ["a.bin", "link"],
          name,
        );
        assert.deepEqual(
          [...Deno.readDirSync(join(base, "out"))].map((e) => e.name),
          ["b.bin"],
          name,
        );
        if (LINUX) {
          assert.throws(
            () => openSharedSync(`${shm.slice("/dev/shm/".length)}-new`),
            Deno.errors.NotFound,
          );
        }
      }
      console.log(
        `${total} cells (${cells.length} per flag set), ${disagreements.length} disagreements; Deno.open outcomes: ${
          JSON.stringify(Object.fromEntries(tally))
        }`,
      );
      assert.deepEqual(disagreements, []);
    } finally {
      if (LINUX) unlinkSharedSync(shm.slice("/dev/shm/".length));
    }
  });
});
