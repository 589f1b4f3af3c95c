// Lifetimes: close, views after close, garbage collection of handles and
// the views that keep them alive. GC scenarios run in subprocesses started
// with --expose-gc and count live mappings two ways: the native registry
// (`mmap_stats`) and the kernel's list of mappings (/proc/self/maps).

import assert from "node:assert/strict";
import * as mmap from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";
import {
  GC,
  GC_FLAGS,
  lastJson,
  MOD_URL,
  REPORT,
  runDeno,
} from "./_subprocess.ts";

/** Prelude: a 3-page file and counters of live mappings. */
const PRELUDE = `
import * as mmap from ${JSON.stringify(MOD_URL)};
${GC}
${REPORT}
const dir = Deno.makeTempDirSync();
const path = dir + "/data.bin";
const bytes = new Uint8Array(3 * 4096).map((_, i) => i % 251);
Deno.writeFileSync(path, bytes);
/** Kernel mappings of the file (Linux; -1 elsewhere). */
function mapped(): number {
  if (Deno.build.os !== "linux") return -1;
  return Deno.readTextFileSync("/proc/self/maps").split("\\n")
    .filter((line) => line.includes(path)).length;
}
`;

async function scenario(body: string): Promise<Record<string, unknown>> {
  // Deno asks for --allow-all to read /proc/self/maps.
  return lastJson(await runDeno(PRELUDE + body, GC_FLAGS));
}

const linux = Deno.build.os === "linux";

Deno.test("after close, every function throws BadResource and every view is empty", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/data.bin`;
    await Deno.writeFile(path, pattern(10_000));
    const h = mmap.openSync(path, { write: true });
    const whole = h.view();
    const part = h.view(4097, 100);
    const floats = new Float64Array(whole.buffer, 0, 8);
    const dataView = new DataView(part.buffer);
    const sub = whole.subarray(10, 20);
    h.close();
    const dst = new Uint8Array(4);
    const sync: [string, () => unknown][] = [
      ["readSync", () => h.readSync(dst, 0)],
      ["writeSync", () => h.writeSync(dst, 0)],
      ["flushSync", () => h.flushSync()],
      ["view", () => h.view()],
      ["view(0, 0)", () => h.view(0, 0)],
      ["mmap.readSync", () => mmap.readSync(h, dst)],
      ["mmap.writeSync", () => mmap.writeSync(h, dst)],
      ["mmap.flushSync", () => mmap.flushSync(h)],
      ["mmap.view", () => mmap.view(h)],
      ["syncSync", () => h.syncSync()],
      ["advise", () => h.advise("normal")],
      ["residency", () => h.residency()],
      ["lock", () => h.lock()],
      ["unlock", () => h.unlock()],
      ["resizeSync", () => h.resizeSync(10)],
      ["stream", () => h.stream()],
      ["mmap.syncSync", () => mmap.syncSync(h)],
      ["mmap.advise", () => mmap.advise(h, "normal")],
      ["mmap.residency", () => mmap.residency(h)],
      ["mmap.lock", () => mmap.lock(h)],
      ["mmap.unlock", () => mmap.unlock(h)],
      ["mmap.resizeSync", () => mmap.resizeSync(h, 10)],
      ["mmap.stream", () => mmap.stream(h)],
    ];
    for (const [name, call] of sync) {
      assert.throws(call, Deno.errors.BadResource, name);
    }
    assert.throws(() => h.readSync(dst), /closed/);
    const async: [string, () => Promise<unknown>][] = [
      ["read", () => h.read(dst)],
      ["write", () => h.write(dst)],
      ["flush", () => h.flush()],
      ["mmap.read", () => mmap.read(h, dst)],
      ["mmap.write", () => mmap.write(h, dst)],
      ["mmap.flush", () => mmap.flush(h)],
      ["sync", () => h.sync()],
      ["resize", () => h.resize(10)],
      ["mmap.sync", () => mmap.sync(h)],
      ["mmap.resize", () => mmap.resize(h, 10)],
    ];
    for (const [name, call] of async) {
      await assert.rejects(call, Deno.errors.BadResource, name);
    }
    // Closing again, in any form, does nothing.
    h.close();
    mmap.closeSync(h);
    await mmap.close(h);
    h[Symbol.dispose]();
    await h[Symbol.asyncDispose]();
    assert.equal(h.closed, true);
    assert.equal(h.ptr, null);
    assert.deepEqual(
      [whole.length, part.length, floats.length, sub.length],
      [0, 0, 0, 0],
    );
    assert.equal((whole.buffer as ArrayBuffer).detached, true);
    assert.equal(whole[0], undefined);
    assert.throws(() => dataView.getUint8(0), TypeError);
  });
});

Deno.test("`using` closes the mapping at the end of the block", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/data.bin`;
    await Deno.writeFile(path, pattern(100));
    let view: Uint8Array;
    let handle: mmap.Mmap;
    {
      using h = mmap.openSync(path);
      handle = h;
      view = h.view();
      assert.equal(view[5], 5);
    }
    assert.equal(handle.closed, true);
    assert.equal(view.length, 0);
    {
      await using h = await mmap.open(path);
      handle = h;
    }
    assert.equal(handle.closed, true);
  });
});

Deno.test("handles dropped without close are unmapped after garbage collection", async () => {
  const r = await scenario(`
const before = { live: live(), mapped: mapped() };
(() => {
  for (let i = 0; i < 50; i++) mmap.openSync(path).readSync(new Uint8Array(1), i);
})();
const open = { live: live(), mapped: mapped() };
await collect(() => live() === 0);
report({ before, open, after: { live: live(), mapped: mapped() } });
`);
  assert.deepEqual(r.before, { live: 0, mapped: linux ? 0 : -1 });
  assert.deepEqual(r.open, { live: 50, mapped: linux ? 50 : -1 });
  assert.deepEqual(r.after, { live: 0, mapped: linux ? 0 : -1 });
});

Deno.test("a live view keeps its handle (and mapping) alive; dropping it releases both", async () => {
  const r = await scenario(`
let view: Uint8Array | null = (() => mmap.openSync(path).view(4096, 4096))();
let sub: Uint8Array | null = view.subarray(1, 3);
view = null;
await collect();
const kept = { live: live(), mapped: mapped(), bytes: [sub[0], sub[1]] };
sub = null;
await collect(() => live() === 0);
report({ kept, after: { live: live(), mapped: mapped() } });
`);
  assert.deepEqual(r.kept, {
    live: 1,
    mapped: linux ? 1 : -1,
    bytes: [(4097) % 251, (4098) % 251],
  });
  assert.deepEqual(r.after, { live: 0, mapped: linux ? 0 : -1 });
});

Deno.test("a closed handle is never closed again by GC (a newer mapping in its slot stays)", async () => {
  const r = await scenario(`
let first: mmap.Mmap | null = mmap.openSync(path);
first.close();
first = null;
const second = mmap.openSync(path);
await collect();
const dst = new Uint8Array(4);
second.readSync(dst, 8);
report({ live: live(), mapped: mapped(), bytes: Array.from(dst) });
second.close();
`);
  assert.deepEqual(r, {
    live: 1,
    mapped: linux ? 1 : -1,
    bytes: [8, 9, 10, 11],
  });
});

Deno.test("a view whose buffer was transferred away never dangles: its pages outlive the handle", async () => {
  // transfer(), structuredClone and postMessage move the view's backing
  // store to a buffer the handle does not know; that buffer owns the pages,
  // so close() retires the handle (live 0) and the pages stay until the
  // moved buffers are collected.
  const r = await scenario(`
const h = mmap.openSync(path);
let moved: ArrayBuffer | null = h.view().buffer.transfer();
let cloned: Uint8Array | null = structuredClone(h.view(), { transfer: [h.view(4096).buffer] });
const untouched = h.view();
h.close();
await collect();
const closed = {
  moved: new Uint8Array(moved)[7],
  cloned: cloned.length,
  untouched: untouched.length,
  live: live(),
  mapped: mapped(),
};
moved = null;
cloned = null;
await collect(() => mapped() <= 0, 5);
report({ closed, after: mapped() });
`);
  assert.deepEqual(r, {
    closed: {
      moved: 7,
      cloned: 3 * 4096,
      untouched: 0,
      live: 0,
      mapped: linux ? 1 : -1,
    },
    after: linux ? 0 : -1,
  });
});

Deno.test("a handle dropped without close whose view moved away leaves the pages to the moved buffer", async () => {
  const r = await scenario(`
let moved: ArrayBuffer | null = (() => mmap.openSync(path).view().buffer.transfer())();
await collect(() => live() === 0, 5);
const dropped = { live: live(), mapped: mapped(), byte: new Uint8Array(moved)[300] };
moved = null;
await collect(() => mapped() <= 0, 5);
report({ dropped, after: mapped() });
`);
  assert.deepEqual(r, {
    dropped: { live: 0, mapped: linux ? 1 : -1, byte: 300 % 251 },
    after: linux ? 0 : -1,
  });
});

Deno.test(
  "a truncated page touched through a stale buffer after close reads zeros",
  {
    ignore: Deno.build.os === "windows",
  },
  async () => {
    // The SIGBUS guard still finds a closed mapping that a buffer keeps.
    const r = await scenario(`
const h = mmap.openSync(path, { write: true });
const moved = new Uint8Array(h.view().buffer.transfer());
h.close();
Deno.truncateSync(path, 4096);
report({ kept: moved[4095], lost: moved[2 * 4096 + 1], again: moved[4096] });
`);
    assert.deepEqual(r, { kept: 4095 % 251, lost: 0, again: 0 });
  },
);

Deno.test("resize refuses while a view's buffer that escaped still references the mapping", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/data.bin`;
    await Deno.writeFile(path, pattern(8192));
    const h = mmap.openSync(path, { write: true });
    const moved = (h.view().buffer as ArrayBuffer).transfer();
    assert.throws(() => h.resizeSync(3 * 8192), Deno.errors.Busy);
    assert.equal(h.len, 8192);
    assert.equal(new Uint8Array(moved)[100], 100);
    // Views the handle can reach are emptied first, so they never block it.
    const reachable = h.view();
    (moved as ArrayBuffer).transfer(0); // lets go of the pages at once
    h.resizeSync(3 * 8192);
    assert.equal(reachable.length, 0);
    assert.equal(h.len, 3 * 8192);
    assert.equal(h.view()[101], 101);
    h.close();
  });
});
