// Sharing a mapping with a Worker, as the README's "Using it from Workers"
// says: open the same path (or the same openShared name) in the worker; a
// handle posted to a worker arrives as a plain `{}`, which no call accepts.
import assert from "node:assert/strict";
import { MOD_URL } from "./_subprocess.ts";
import { openSharedSync, openSync, unlinkSharedSync } from "../mod.ts";
import { withTempDir } from "./_helpers.ts";

/** Starts a module worker running `body` (which may import `mmap`). */
function worker(body: string): Worker {
  const source = `import * as mmap from ${JSON.stringify(MOD_URL)};\n${body}`;
  const url = URL.createObjectURL(
    new Blob([source], { type: "application/javascript" }),
  );
  return new Worker(url, { type: "module" });
}

/** The next message from `w`. */
function reply(w: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    w.onmessage = (event) => resolve(event.data);
    w.onerror = (event) => {
      event.preventDefault();
      reject(new Error(event.message));
    };
  });
}

Deno.test("a worker that opens the same path shares the file's pages both ways", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/shared.bin`;
    Deno.writeFileSync(path, new Uint8Array(8192));
    using m = openSync(path, { write: true });
    const view = m.view();
    view.set([1, 2, 3]);
    const w = worker(`
self.onmessage = (event) => {
  const m = mmap.openSync(event.data, { write: true });
  const seen = [...m.view(0, 3)];
  m.view()[8191] = 42; // seen by the main thread at once: the same pages
  m.close();
  self.postMessage(seen);
};`);
    try {
      const answer = reply(w);
      w.postMessage(path);
      assert.deepEqual(await answer, [1, 2, 3]);
      assert.equal(view[8191], 42);
    } finally {
      w.terminate();
    }
  });
});

Deno.test({
  name:
    "a worker that opens the same openShared name shares the memory, Atomics included",
  ignore: Deno.build.os === "darwin",
  fn: async () => {
    const name = `mmap_workers_${Deno.pid}`;
    using region = openSharedSync(name, { create: true, size: 4096 });
    const cells = new Int32Array(region.view().buffer, 0, 2);
    const w = worker(`
self.onmessage = (event) => {
  using region = mmap.openSharedSync(event.data);
  const cells = new Int32Array(region.view().buffer, 0, 2);
  Atomics.add(cells, 1, 5);
  Atomics.store(cells, 0, 1);
  self.postMessage("done");
};`);
    try {
      const answer = reply(w);
      w.postMessage(name);
      assert.equal(await answer, "done");
      assert.equal(Atomics.load(cells, 0), 1);
      assert.equal(Atomics.load(cells, 1), 5);
    } finally {
      w.terminate();
      unlinkSharedSync(name);
    }
  },
});

Deno.test("a handle posted to a worker arrives as a plain {} that no call accepts", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/h.bin`;
    Deno.writeTextFileSync(path, "abc");
    using m = openSync(path);
    const w = worker(`
self.onmessage = (event) => {
  const h = event.data.h;
  let error = "none";
  try { mmap.readSync(h, new Uint8Array(1)); } catch (e) { error = e.name + ": " + e.message; }
  self.postMessage({ keys: Object.keys(h), error, path: event.data.path });
};`);
    try {
      const answer = reply(w);
      w.postMessage({ h: m, path: m.path });
      const got = await answer as {
        keys: string[];
        error: string;
        path: string;
      };
      assert.deepEqual(got.keys, []);
      assert.match(
        got.error,
        /^TypeError: mmap read: expected a handle returned by open\(\)/,
      );
      // The path travels; the worker opens it itself.
      assert.equal(got.path, m.path);
    } finally {
      w.terminate();
    }
  });
});
