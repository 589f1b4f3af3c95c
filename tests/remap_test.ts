// remap(), remapSync() and Mmap.remapSync(): a reader following a file that
// another handle or process appends to, whole files and windows, and every
// mapping that cannot be remapped.

import assert from "node:assert/strict";
import {
  openAnonymousSync,
  openSharedSync,
  openSync,
  remap,
  remapSync,
  stream,
  unlinkSharedSync,
} from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";
import { FULL_FLAGS, MOD_URL, runDeno, spawnDeno } from "./_subprocess.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("remapSync() maps what another process appended; views handed out before become empty", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/log.txt`;
    Deno.writeTextFileSync(path, "first;");
    using h = openSync(path);
    const before = h.view();
    const out = await runDeno(
      `Deno.writeTextFileSync(${
        JSON.stringify(path)
      }, "second;", { append: true });`,
      FULL_FLAGS,
    );
    assert.equal(out.code, 0, out.stderr);
    assert.equal(h.len, 6);
    remapSync(h);
    assert.equal(before.length, 0, "the old view is detached");
    assert.equal(h.len, 13);
    assert.equal(text(h.view()), "first;second;");
    assert.equal(Deno.statSync(path).size, 13, "the file is unchanged");
    // Remapping at the same length changes nothing visible.
    h.remapSync();
    assert.equal(text(h.view()), "first;second;");
  });
});

Deno.test("remap() with a length maps that many bytes, and refuses to reach past the file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/sized.bin`;
    Deno.writeFileSync(path, pattern(10_000));
    using h = openSync(path, { length: 10 });
    await remap(h, 5000);
    assert.equal(h.len, 5000);
    assert.deepEqual(h.view(), pattern(5000));
    await h.remap(0);
    assert.equal(h.len, 0);
    assert.equal(h.view().length, 0);
    await remap(h);
    assert.equal(h.len, 10_000);
    assert.throws(() => remapSync(h, 10_001), RangeError, "past the end");
    assert.equal(h.len, 10_000, "a refused remap keeps the mapping");
    assert.deepEqual(h.view(9990), pattern(10_000).subarray(9990));
    assert.equal(Deno.statSync(path).size, 10_000);
    assert.throws(() => remapSync(h, -1), RangeError);
    assert.throws(() => remapSync(h, "1" as unknown as number), TypeError);
  });
});

Deno.test("remapSync() on a window keeps its offset and grows it, also from empty at an unaligned offset", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/window.bin`;
    Deno.writeFileSync(path, pattern(5003));
    using h = openSync(path, { offset: 5001 });
    assert.equal(h.len, 2);
    using tail = openSync(path, { offset: 5003 });
    assert.equal(tail.len, 0);
    const file = Deno.openSync(path, { append: true });
    file.writeSync(pattern(3, 77));
    file.close();
    h.remapSync();
    assert.deepEqual(
      h.view(),
      new Uint8Array([...pattern(5003).subarray(5001), ...pattern(3, 77)]),
    );
    tail.remapSync();
    assert.deepEqual(tail.view(), pattern(3, 77));
    // A shrunk file shrinks the window, with no fault. (Windows refuses to
    // truncate a mapped file.)
    if (Deno.build.os === "windows") return;
    Deno.truncateSync(path, 5002);
    h.remapSync();
    assert.equal(h.len, 1);
    assert.deepEqual(h.view(), pattern(5003).subarray(5001, 5002));
  });
});

Deno.test({
  name:
    "remapSync() makes a mapping whose file was truncated under it whole again",
  // Windows refuses to truncate a mapped file: nothing to recover from.
  ignore: Deno.build.os === "windows",
}, async () => {
  await withTempDir((dir) => {
    const path = `${dir}/cut.bin`;
    Deno.writeFileSync(path, pattern(3 * 65536));
    using h = openSync(path);
    Deno.truncateSync(path, 4096);
    const dst = new Uint8Array(16);
    assert.throws(() => h.readSync(dst, 65536 * 2), Deno.errors.UnexpectedEof);
    Deno.writeFileSync(path, pattern(2 * 65536, 9));
    h.remapSync();
    h.readSync(dst, 65536);
    assert.deepEqual(dst, pattern(2 * 65536, 9).subarray(65536, 65536 + 16));
  });
});

Deno.test("remapSync() refuses with Busy while a view's buffer escaped the handle", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/held.bin`;
    Deno.writeFileSync(path, pattern(100));
    using h = openSync(path);
    const moved = h.view().buffer.transfer();
    assert.throws(() => h.remapSync(), Deno.errors.Busy);
    assert.equal(new Uint8Array(moved)[5], 5);
    assert.equal(h.len, 100);
    // Emptied, the buffer lets the pages go (and, on Windows, the file).
    moved.transfer(0);
    Deno.writeFileSync(path, pattern(100), { append: true });
    h.remapSync();
    assert.equal(h.len, 200);
  });
});

Deno.test("a follower's remapSync() in a loop is never Busy for views it dropped, read through stream() or gave to a Response", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/grow.bin`;
    const first = pattern(4096);
    Deno.writeFileSync(path, first);
    using h = openSync(path);
    for (let i = 1; i <= 200; i++) {
      // Dropped at once: never collected before the next remap, but still
      // reachable to the handle, which empties it.
      const view = h.view();
      assert.equal(view.length, h.len);
      assert.equal(view[4095], first[4095]);
      Deno.writeFileSync(path, pattern(64, i), { append: true });
      h.remapSync();
      assert.equal(h.len, 4096 + 64 * i);
    }
    for await (const chunk of stream(h)) assert.ok(chunk.length > 0);
    h.remapSync();
    assert.equal(
      (await new Response(h.view()).arrayBuffer()).byteLength,
      h.len,
    );
    h.remapSync();
  });
});

Deno.test("remapSync() is Busy for a dropped buffer that escaped the handle until the engine collects it, which never dangles", async () => {
  // In a subprocess, to collect garbage on demand (--expose-gc).
  await withTempDir(async (dir) => {
    const path = `${dir}/escaped.bin`;
    Deno.writeFileSync(path, pattern(4096));
    const out = await runDeno(
      `
      import { openSync } from ${JSON.stringify(MOD_URL)};
      const path = ${JSON.stringify(path)};
      using h = openSync(path);
      let kept = h.view().buffer.transfer();
      const busy = () => {
        try { h.remapSync(); return false; }
        catch (e) { if (e instanceof Deno.errors.Busy) return true; throw e; }
      };
      const seen = [busy()];
      // Still mapped, with its bytes, while Busy.
      seen.push(new Uint8Array(kept)[4095] === ${pattern(4096)[4095]});
      kept = undefined;
      // Dropped, not yet collected: still Busy.
      seen.push(busy());
      let turns = 0;
      for (; turns < 50 && busy(); turns++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      seen.push(turns < 50);
      console.log(JSON.stringify(seen));
      `,
      [...FULL_FLAGS, "--v8-flags=--expose-gc"],
    );
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), [true, true, true, true]);
  });
});

Deno.test("remapSync() refuses anonymous, shared-memory, copy-on-write and closed mappings", async () => {
  using anonymous = openAnonymousSync(4096);
  assert.throws(() => remapSync(anonymous), TypeError, "file mappings");
  const name = `mmap-remap-${Deno.pid}`;
  using shared = openSharedSync(name, { create: true, size: 4096 });
  try {
    assert.throws(() => shared.remapSync(), TypeError, "file mappings");
  } finally {
    unlinkSharedSync(name);
  }
  await withTempDir(async (dir) => {
    const path = `${dir}/cow.bin`;
    Deno.writeFileSync(path, pattern(10));
    using cow = openSync(path, { private: true });
    assert.throws(() => cow.remapSync(), TypeError, "copy-on-write");
    const closed = openSync(path);
    closed.close();
    assert.throws(() => closed.remapSync(), Deno.errors.BadResource);
    await assert.rejects(remap(closed), Deno.errors.BadResource);
    await assert.rejects(remap({} as never), TypeError);
  });
});

Deno.test("a follower in another process waits, remaps and reads what the writer appends", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/follow.log`;
    const name = `mmap-remap-follow-${Deno.pid}`;
    using cell = openSharedSync(name, { create: true, size: 4096 });
    Deno.writeFileSync(path, new Uint8Array(0));
    try {
      const child = spawnDeno(
        `
        import { openSharedSync, openSync, wait } from ${
          JSON.stringify(MOD_URL)
        };
        using cell = openSharedSync(${JSON.stringify(name)});
        const w = new Int32Array(cell.view().buffer);
        using log = openSync(${JSON.stringify(path)});
        let seen = 0;
        while (seen < 3) {
          wait(cell, 0, seen, 20_000);
          seen = Atomics.load(w, 0);
          log.remapSync();
        }
        console.log(new TextDecoder().decode(log.view()));
        `,
        FULL_FLAGS,
      );
      const w = new Int32Array(cell.view().buffer);
      for (const record of ["one\n", "two\n", "three\n"]) {
        Deno.writeTextFileSync(path, record, { append: true });
        Atomics.add(w, 0, 1);
        cell.notify(0);
        await new Promise((r) => setTimeout(r, 20));
      }
      const out = await child.output();
      assert.equal(out.code, 0, text(out.stderr));
      assert.equal(text(out.stdout), "one\ntwo\nthree\n\n");
    } finally {
      unlinkSharedSync(name);
    }
  });
});
