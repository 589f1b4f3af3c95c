// Crash durability and concurrent writers: data that was flushed survives
// the writer being killed with SIGKILL, and writers on disjoint ranges of one
// shared file (processes and Workers) lose nothing.

import assert from "node:assert/strict";
import * as mmap from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";
import { FULL_FLAGS, MOD_URL, spawnDeno, waitForLine } from "./_subprocess.ts";

const PAGE = 4096;

/** Starts `deno run` on `source` with the package's flags. */
function spawn(source: string, args: string[]): Deno.ChildProcess {
  return spawnDeno(source, FULL_FLAGS, { args });
}

/** Reads the file through a fresh mapping in this process. */
function readMapped(path: string): Uint8Array {
  using h = mmap.openSync(path);
  const bytes = new Uint8Array(h.len);
  h.readSync(bytes, 0);
  return bytes;
}

/**
 * How long a child of these tests may take (natively they finish in about a
 * second, under wine in seconds; under qemu on a loaded machine the Workers
 * took over a minute): past it the child is killed and the test fails with
 * what it printed, instead of holding CI.
 */
const CHILD_LIMIT_MS = 300_000;

/**
 * The child's output once it ends, or a failure naming `what` and carrying
 * what it printed when it runs past `limitMs` (it is killed then).
 */
async function finished(
  child: Deno.ChildProcess,
  what: string,
  limitMs = CHILD_LIMIT_MS,
): Promise<Deno.CommandOutput> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let late = false;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      late = true;
      resolve();
    }, limitMs);
  });
  const output = child.output();
  await Promise.race([output, limit]);
  clearTimeout(timer);
  if (!late) return await output;
  child.kill("SIGKILL");
  const out = await output;
  const decoder = new TextDecoder();
  throw new Error(
    `${what} did not end within ${limitMs / 1000} s and was killed; ` +
      `its stdout: ${JSON.stringify(decoder.decode(out.stdout))}, ` +
      `its stderr: ${JSON.stringify(decoder.decode(out.stderr))}`,
  );
}

const WRITER = `
import * as mmap from ${JSON.stringify(MOD_URL)};
const [path, how] = Deno.args;
const size = 64 * 4096;
const bytes = new Uint8Array(size).map((_, i) => (i * 7 + 3) % 251);
const h = await mmap.openWriteWithSize(path, size);
if (how === "view") h.view().set(bytes);
else h.writeSync(bytes, 0);
if (how === "durable") h.syncSync();
else await h.flush();
console.log("flushed");
// Keep writing past the flushed data until killed.
let n = 0;
for (;;) {
  h.writeSync(new Uint8Array([n++ & 255]), size - 1);
  await new Promise((r) => setTimeout(r, 1));
}
`;

for (const how of ["write", "view", "durable"]) {
  Deno.test({
    name:
      `a writer killed with SIGKILL after flush (${how}) leaves its data for a fresh process`,
    // Windows has no signals: a killed child reports none.
    ignore: Deno.build.os === "windows",
  }, async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/data.bin`;
      const child = spawn(WRITER, [path, how]);
      // A child that never flushes is killed, and waitForLine then fails
      // with what it printed.
      const limit = setTimeout(() => child.kill("SIGKILL"), CHILD_LIMIT_MS);
      try {
        await waitForLine(child, "flushed");
      } finally {
        clearTimeout(limit);
      }
      child.kill("SIGKILL");
      const status = await child.status;
      await child.stderr.cancel();
      assert.equal(status.signal, "SIGKILL");
      const expected = new Uint8Array(64 * PAGE).map((_, i) =>
        (i * 7 + 3) % 251
      );
      const got = readMapped(path);
      assert.equal(got.length, expected.length);
      // The last byte was being rewritten until the kill.
      assert.deepEqual(got.subarray(0, -1), expected.subarray(0, -1));
      // And a plain read (not a mapping) sees the same bytes.
      assert.deepEqual(
        (await Deno.readFile(path)).subarray(0, -1),
        expected.subarray(0, -1),
      );
    });
  });
}

/**
 * Writer `k` of `n` writes every chunk `c` with `c % n === k`, `rounds`
 * times, alternating native writes and writes through a view, then flushes.
 */
const STRIPES = `
import * as mmap from ${JSON.stringify(MOD_URL)};
export async function stripes(path, k, n, chunk, rounds, step = () => {}) {
  const h = mmap.openWriteSync(path);
  step("opened");
  const view = h.view();
  const chunks = Math.floor(h.len / chunk);
  for (let r = 0; r < rounds; r++) {
    for (let c = k; c < chunks; c += n) {
      const bytes = new Uint8Array(chunk).fill((c * 13 + r) % 256);
      if ((c + r) % 2 === 0) h.writeSync(bytes, c * chunk);
      else view.set(bytes, c * chunk);
    }
    step(\`round \${r} written\`);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  await h.flush();
  step("flushed");
  h.close();
  step("closed");
}
if (import.meta.main) {
  const [path, k, n, chunk, rounds] = Deno.args;
  await stripes(path, +k, +n, +chunk, +rounds);
  console.log("done");
}
`;

/** What the file holds after `rounds` rounds of every stripe. */
function expectedStripes(size: number, chunk: number, rounds: number) {
  const bytes = new Uint8Array(size);
  for (let c = 0; c < size / chunk; c++) {
    bytes.fill((c * 13 + rounds - 1) % 256, c * chunk, (c + 1) * chunk);
  }
  return bytes;
}

Deno.test("two processes writing disjoint ranges of one shared file lose nothing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/shared.bin`;
    const size = 256 * PAGE;
    const chunk = 100; // not page aligned: stripes share pages
    const rounds = 40;
    await Deno.writeFile(path, new Uint8Array(size));
    const children = [0, 1].map((k) =>
      spawn(STRIPES, [path, String(k), "2", String(chunk), String(rounds)])
    );
    const outputs = await Promise.all(
      children.map((c, k) => finished(c, `writer process ${k}`)),
    );
    for (const out of outputs) {
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    }
    const size2 = Math.floor(size / chunk) * chunk;
    const got = readMapped(path);
    assert.deepEqual(
      got.subarray(0, size2),
      expectedStripes(size2, chunk, rounds),
    );
  });
});

Deno.test("Workers writing disjoint ranges of one shared file lose nothing", async () => {
  // In a subprocess: `deno run` starts Workers without type-checking them.
  await withTempDir(async (dir) => {
    const path = `${dir}/shared.bin`;
    const size = 128 * PAGE;
    const chunk = 64;
    const rounds = 20;
    const n = 4;
    await Deno.writeFile(path, pattern(size));
    const module = `${dir}/stripes.js`;
    await Deno.writeTextFile(module, STRIPES);
    // Each Worker reports its steps; one that has not ended within the
    // child's own limit is named on stderr with the last step it reached,
    // and the child exits with 3 (the test's limit on the child is longer).
    const main = `
      const [module, path, n, chunk, rounds, limit] = Deno.args;
      const source = \`
        import { stripes } from \${JSON.stringify(new URL("file://" + module).href)};
        self.postMessage("loaded");
        self.onmessage = async (e) => {
          const { path, k, n, chunk, rounds } = e.data;
          await stripes(path, k, n, chunk, rounds, (step) => self.postMessage(step));
          self.postMessage("done");
        };\`;
      const url = "data:application/javascript;base64," + btoa(source);
      const steps = Array.from({ length: +n }, () => "started");
      const at = Array.from({ length: +n }, () => Date.now());
      const timer = setTimeout(() => {
        const stuck = steps.map((step, k) =>
          \`Worker \${k}: \${step} (\${Date.now() - at[k]} ms ago)\`
        );
        console.error("Workers still running after " + limit + " ms: " + stuck.join(", "));
        Deno.exit(3);
      }, +limit);
      const workers = Array.from({ length: +n }, () => new Worker(url, { type: "module" }));
      await Promise.all(workers.map((worker, k) => new Promise((resolve, reject) => {
        worker.onmessage = (e) => {
          steps[k] = e.data;
          at[k] = Date.now();
          if (e.data === "loaded") {
            worker.postMessage({ path, k, n: +n, chunk: +chunk, rounds: +rounds });
          } else if (e.data === "done") resolve();
        };
        worker.onerror = (e) => reject(e.message);
      })));
      clearTimeout(timer);
      for (const worker of workers) worker.terminate();
      console.log("done");
    `;
    const out = await finished(
      spawn(main, [
        module,
        path,
        String(n),
        String(chunk),
        String(rounds),
        String(CHILD_LIMIT_MS * 0.8),
      ]),
      "the process of the Workers",
    );
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "done");
    assert.deepEqual(readMapped(path), expectedStripes(size, chunk, rounds));
  });
});
