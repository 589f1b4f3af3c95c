// The per-call copies' short path (ffi/src/copy.rs, the fast paths of
// src/mmap.ts) keeps every guarantee of the long one: a close, resize or
// truncation on another thread never unmaps memory under a copy in flight,
// and each bad argument still gets its own error with nothing copied.
// The cross-thread scenarios run in a child: a failure there is a crash.

import assert from "node:assert/strict";
import { openSync, read, readSync, write, writeSync } from "@riaskov/mmap";
import { pattern, withTempDir } from "./_helpers.ts";
import {
  FFI_URL,
  FULL_FLAGS,
  lastJson,
  MOD_URL,
  REPORT,
  runDeno,
} from "./_subprocess.ts";

const unix = Deno.build.os !== "windows";

// A worker that finds every live mapping id by forging ids (slot +
// generation, as registry.rs makes them) and copies through the raw native
// symbols, 64 B and 256 KiB at a time, each after the prefetch hint that
// readSync() gives, as fast as it can, until told to stop; it counts each
// status it sees.
const WORKER = `
import { librarySync } from ${JSON.stringify(FFI_URL)};
const lib = librarySync();
const small = new Uint8Array(64);
const big = new Uint8Array(256 * 1024);
const counts: Record<string, number> = {};
let stop = false;
let seen = 0;
function live(): number[] {
  const ids = [];
  for (let gen = 1; gen <= 2; gen++) {
    for (let slot = 0; slot < 1024; slot++) {
      const id = (gen << 14) | slot;
      if (lib.mmap_read(id, 0, small, 1) === 0) ids.push(id);
    }
  }
  return ids;
}
self.onmessage = (e) => {
  if (e.data === "stop") {
    stop = true;
    return;
  }
};
async function run() {
  while (!stop) {
    const ids = live();
    seen += ids.length;
    for (let round = 0; round < 2000 && !stop; round++) {
      for (const id of ids) {
        const buffer = round % 8 === 0 ? big : small;
        const offset = (round * 4096) % (1024 * 1024 - buffer.length);
        // The prefetch hint pins nothing: it runs here against mappings
        // that the main thread closes, moves and truncates meanwhile.
        lib.mmap_prefetch(id, offset);
        const status = round % 2 === 0
          ? lib.mmap_read(id, offset, buffer, buffer.length)
          : lib.mmap_write(id, offset, buffer, buffer.length);
        counts[status] = (counts[status] ?? 0) + 1;
      }
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  self.postMessage({ counts, seen });
}
self.postMessage("ready");
run();
`;

Deno.test({
  name:
    "close(), resize() and truncation on the main thread never unmap under copies a worker makes with forged ids",
  ignore: !unix,
  async fn() {
    const out = await runDeno(
      `
import * as mmap from ${JSON.stringify(MOD_URL)};
${REPORT}
const dir = Deno.makeTempDirSync();
const workerPath = dir + "/worker.ts";
Deno.writeTextFileSync(workerPath, ${JSON.stringify(WORKER)});
const worker = new Worker(new URL("file://" + workerPath), { type: "module" });
await new Promise((resolve) => {
  worker.onmessage = (e) => e.data === "ready" && resolve(undefined);
});
const MiB = 1024 * 1024;
const events: Record<string, number> = {};
const count = (what: string) => (events[what] = (events[what] ?? 0) + 1);
const deadline = Date.now() + 3000;
let round = 0;
// Every kind of change at least twice, however slow the machine.
while (round < 8 || Date.now() < deadline) {
  const path = dir + "/f" + (round % 3) + ".bin";
  Deno.writeFileSync(path, new Uint8Array(MiB).fill(round & 255));
  const m = mmap.openSync(path, { write: true });
  // Let the worker find the mapping and copy for a moment.
  await new Promise((r) => setTimeout(r, 2 + (round % 5)));
  const what = round % 4;
  try {
    if (what === 0) {
      m.close();
      count("close");
    } else if (what === 1) {
      m.resizeSync(4096);
      count("shrink");
      await new Promise((r) => setTimeout(r, 1));
      m.resizeSync(2 * MiB);
      count("grow");
      m.close();
    } else if (what === 2) {
      // Truncation by the file's side: copies past the cut must fail
      // (Truncated) or read zeros, never crash.
      Deno.truncateSync(path, 8192);
      count("truncate");
      await new Promise((r) => setTimeout(r, 2));
      m.close();
    } else {
      // A 64 MiB copy on a thread from another mapping into this one's view
      // is done in place; an async read into a plain buffer runs on a thread
      // and close() waits for it or fails it cleanly.
      const big = mmap.openAnonymousSync(64 * MiB + 4096);
      const dst = new Uint8Array(64 * MiB);
      const pending = big.read(dst);
      big.close();
      try {
        await pending;
        count("thread-done");
      } catch (e) {
        count((e as Error).name);
      }
      m.close();
    }
  } catch (e) {
    // Busy: a view escaped (none here), anything else is a failure.
    count("error:" + (e as Error).name + ":" + (e as Error).message);
    if (!m.closed) m.close();
  }
  round++;
}
worker.postMessage("stop");
const result = await new Promise((resolve) => {
  worker.onmessage = (e) => resolve(e.data);
});
worker.terminate();
Deno.removeSync(dir, { recursive: true });
report({ events, result, round });
`,
      [...FULL_FLAGS, "--allow-env"],
    );
    const { events, result } = lastJson<{
      events: Record<string, number>;
      result: { counts: Record<string, number>; seen: number };
      round: number;
    }>(out);
    const errors = Object.keys(events).filter((k) => k.startsWith("error:"));
    assert.deepEqual(errors, [], JSON.stringify(events));
    // The worker saw mappings and copied through them, and saw them go.
    assert.ok(result.seen > 0, JSON.stringify(result));
    assert.ok((result.counts["0"] ?? 0) > 100, JSON.stringify(result));
    // Ids that died under the worker (closed, resized away) were refused.
    assert.ok((result.counts["1"] ?? 0) > 0, JSON.stringify(result));
    // Only success, a dead id (1), a range past a shrunk end (2) or a
    // truncated range (4): never a crash, never another status.
    for (const status of Object.keys(result.counts)) {
      assert.ok(["0", "1", "2", "4"].includes(status), JSON.stringify(result));
    }
    assert.ok((events.close ?? 0) > 0 && (events.truncate ?? 0) > 0);
  },
});

Deno.test("readSync()/writeSync() give the same error for each bad argument and copy nothing", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/a.bin`;
    const data = pattern(8192, 4);
    Deno.writeFileSync(path, data);
    const ro = openSync(path);
    const rw = openSync(path, { write: true });
    const dst = new Uint8Array(16).fill(9);
    const cases: [string, () => unknown, ErrorConstructor | unknown][] = [
      ["negative", () => rw.readSync(dst, -1), RangeError],
      ["fraction", () => rw.readSync(dst, 0.5), RangeError],
      ["NaN", () => rw.readSync(dst, NaN), RangeError],
      ["Infinity", () => rw.readSync(dst, Infinity), RangeError],
      ["2^53", () => rw.readSync(dst, 2 ** 53), RangeError],
      ["past the end", () => rw.readSync(dst, 8192 - 15), RangeError],
      ["negative bigint", () => rw.readSync(dst, -1n), RangeError],
      ["string", () => rw.readSync(dst, "1" as unknown as number), TypeError],
      [
        "Float64Array",
        () => rw.readSync(new Float64Array(2) as never),
        TypeError,
      ],
      [
        "DataView",
        () => rw.readSync(new DataView(new ArrayBuffer(8)) as never),
        TypeError,
      ],
      ["read-only write", () => ro.writeSync(dst, 0), TypeError],
      ["write past the end", () => rw.writeSync(dst, 8190), RangeError],
    ];
    for (const [what, call, type] of cases) {
      assert.throws(call, type as ErrorConstructor, what);
      assert.ok(dst.every((b) => b === 9), `${what}: dst changed`);
    }
    assert.deepEqual(Deno.readFileSync(path), data);
    // The messages are those of the long path: call, name, value.
    assert.throws(
      () => rw.readSync(dst, 8190),
      (e: Error) =>
        e instanceof RangeError &&
        e.message.includes(`mmap read "${path}"`) &&
        e.message.includes("range 8190..8206 is outside the mapping of 8192"),
    );
    ro.close();
    rw.close();
    assert.throws(() => rw.readSync(dst, 0), Deno.errors.BadResource);
    assert.throws(() => rw.writeSync(dst, 0), Deno.errors.BadResource);
  });
});

Deno.test("the async copies' short path rejects, never throws, and resolves with the length", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/a.bin`;
    const data = pattern(4096, 2);
    Deno.writeFileSync(path, data);
    const m = openSync(path, { write: true });
    const dst = new Uint8Array(100);
    assert.equal(await read(m, dst, 7), 100);
    assert.deepEqual(dst, data.subarray(7, 107));
    assert.equal(await m.read(dst, 9), 100);
    assert.deepEqual(dst, data.subarray(9, 109));
    const src = new Uint8Array(100).fill(3);
    assert.equal(await write(m, src, 1000), 100);
    assert.equal(readSync(m, dst, 1000), 100);
    assert.deepEqual(dst, src);
    // Bad arguments become rejections of the right class.
    let pending = m.read(dst, 4090);
    await assert.rejects(pending, RangeError);
    pending = read(m, dst, -1);
    await assert.rejects(pending, RangeError);
    pending = write(m, new Float64Array(1) as never, 0);
    await assert.rejects(pending, TypeError);
    // A replaced Promise.resolve after load changes nothing.
    const original = Promise.resolve;
    Promise.resolve = (() => {
      throw new Error("replaced");
    }) as typeof Promise.resolve;
    try {
      assert.equal(await m.read(dst, 0), 100);
      assert.equal(writeSync(m, src, 0), 100);
    } finally {
      Promise.resolve = original;
    }
    m.close();
    await assert.rejects(m.read(dst, 0), Deno.errors.BadResource);
    await assert.rejects(write(m, src, 0), Deno.errors.BadResource);
  });
});
