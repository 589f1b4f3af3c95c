// Load and leaks: many open/read/close cycles, and many handles dropped
// without close, must leave the process's file descriptors
// (/proc/self/fd) and mappings (/proc/self/maps) as they were. Each case
// runs in a subprocess (--allow-all, which Deno asks for to read /proc/self).
//
// MMAP_LONG_TESTS=1 runs 100,000 cycles and prints the figures.

import assert from "node:assert/strict";
import { GC, GC_FLAGS, lastJson, MOD_URL, runDeno } from "./_subprocess.ts";

const LONG = Deno.env.get("MMAP_LONG_TESTS") === "1";
const CYCLES = LONG ? 100_000 : 3_000;
const DROPPED = LONG ? 16_000 : 2_000;

interface Counts {
  /** Open file descriptors of the test file. */
  fds: number;
  /** All open file descriptors (Deno opens a few sockets on its own). */
  allFds: number;
  /** Kernel mappings of the test file. */
  maps: number;
  /** All kernel mappings (V8's heap comes and goes). */
  allMaps: number;
  /** Mappings in the native registry. */
  live: number;
  /** Bytes of live JS objects. */
  heapUsed: number;
}

interface Figures {
  before: Counts;
  middle?: Counts;
  after: Counts;
  peak?: Counts;
  cycles: number;
  ms: number;
}

const PRELUDE = `
import * as mmap from ${JSON.stringify(MOD_URL)};
${GC}
const dir = Deno.makeTempDirSync();
const path = dir + "/data.bin";
Deno.writeFileSync(path, new Uint8Array(3 * 4096 + 5).map((_, i) => i % 251));
function counts() {
  const maps = Deno.readTextFileSync("/proc/self/maps").split("\\n");
  const fds = [...Deno.readDirSync("/proc/self/fd")].map((entry) => {
    try {
      return Deno.readLinkSync("/proc/self/fd/" + entry.name);
    } catch {
      return ""; // the directory's own descriptor, closed by now
    }
  });
  return {
    fds: fds.filter((link) => link === path).length,
    allFds: fds.length,
    maps: maps.filter((line) => line.includes(path)).length,
    allMaps: maps.length,
    heapUsed: Deno.memoryUsage().heapUsed,
    live: live(),
  };
}
/** Full GCs (at least 5, so that heapUsed counts live objects only). */
const collectAll = (done: () => boolean) => collect(done, 5, 100);
const dst = new Uint8Array(64);
`;

async function measure(body: string): Promise<Figures> {
  const figures = lastJson<Figures>(await runDeno(PRELUDE + body, GC_FLAGS));
  if (LONG || Deno.env.get("MMAP_SHOW_FIGURES") === "1") {
    // deno-lint-ignore no-console
    console.log(JSON.stringify(figures));
  }
  return figures;
}

/**
 * Runs `cycle` after a warm-up, in two halves, and reports counts before,
 * between and after the halves (each after a full GC).
 */
function loop(cycle: string): string {
  return `
for (let i = 0; i < 200; i++) { ${cycle} }
await collectAll(() => counts().live === 0);
const before = counts();
const t0 = performance.now();
for (let i = 0; i < ${CYCLES / 2}; i++) { ${cycle} }
await collectAll(() => counts().live === 0);
const middle = counts();
for (let i = ${CYCLES / 2}; i < ${CYCLES}; i++) { ${cycle} }
const ms = performance.now() - t0;
await collectAll(() => counts().live === 0);
console.log(JSON.stringify({ before, middle, after: counts(), cycles: ${CYCLES}, ms }));
`;
}

function assertFlat(f: Figures): void {
  assert.equal(f.after.live, 0, "mappings left in the registry");
  assert.equal(f.after.fds, f.before.fds, "file descriptors leaked");
  assert.equal(f.after.fds, 0, "file descriptors left open");
  assert.equal(f.after.maps, f.before.maps, "mappings of the file leaked");
  // V8 grows its heap to a working size and keeps it (allMaps, reported but
  // not judged): what must not grow is the set of live JS objects. A leak
  // keeps growing, so the second half is compared with the first.
  const base = f.middle ?? f.before;
  assert.ok(
    f.after.allFds - base.allFds < 8,
    `descriptors grew from ${base.allFds} to ${f.after.allFds}`,
  );
  assert.ok(
    f.after.heapUsed - base.heapUsed < 4e6,
    `the JS heap grew from ${base.heapUsed} to ${f.after.heapUsed} bytes`,
  );
}

const linux = Deno.build.os === "linux";

Deno.test({
  name: `${CYCLES} openSync/readSync/close cycles keep fds and mappings flat`,
  ignore: !linux,
  async fn() {
    assertFlat(
      await measure(loop(`
        const h = mmap.openSync(path);
        h.readSync(dst, i % 4000);
        h.close();`)),
    );
  },
});

Deno.test({
  name:
    `${CYCLES} async open/read/view/close cycles keep fds and mappings flat`,
  ignore: !linux,
  async fn() {
    assertFlat(
      await measure(loop(`
        const h = await mmap.open(path);
        await mmap.read(h, dst, 4096);
        if (h.view(8, 8)[0] !== 8) throw new Error("wrong byte");
        await mmap.close(h);`)),
    );
  },
});

Deno.test({
  name: `${CYCLES} write/flush/close cycles keep fds and mappings flat`,
  ignore: !linux,
  async fn() {
    assertFlat(
      await measure(loop(`
        const h = mmap.openWriteSync(path);
        h.writeSync(dst.subarray(0, 8), 100);
        // Waiting for the disk every time would measure the disk.
        h.flushSync(0, 4096, i % 100 === 0 ? "sync" : "async");
        h.close();`)),
    );
  },
});

Deno.test({
  name:
    `${DROPPED} handles dropped without close are all unmapped after GC (fds and maps flat)`,
  ignore: !linux,
  async fn() {
    const f = await measure(`
await collectAll(() => counts().live === 0);
const before = counts();
const t0 = performance.now();
(() => {
  for (let i = 0; i < ${DROPPED}; i++) {
    const h = mmap.openSync(path);
    h.readSync(dst, 0);
    if (i % 2 === 0) h.view(0, 10);
  }
})();
const peak = counts();
await collectAll(() => counts().live === 0);
const ms = performance.now() - t0;
console.log(JSON.stringify({ before, peak, after: counts(), cycles: ${DROPPED}, ms }));
`);
    assert.ok(f.peak!.live > 0, "nothing was mapped");
    assertFlat(f);
  },
});
