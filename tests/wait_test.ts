// wait(), waitAsync(), notify() and the Mmap methods: a word of a mapping
// between processes (shared memory and shared file mappings) and Workers,
// every argument error, and waiters whose mapping closes or moves.

import assert from "node:assert/strict";
import {
  type Mmap,
  notify,
  openAnonymousSync,
  openSharedSync,
  openSync,
  openWriteWithSizeSync,
  unlinkSharedSync,
  wait,
  WAIT_CELL_BYTES,
  waitAsync,
} from "../mod.ts";
import { withTempDir } from "./_helpers.ts";
import {
  FULL_FLAGS,
  lastJson,
  MOD_URL,
  runDeno,
  spawnDeno,
  waitForLine,
} from "./_subprocess.ts";

const IPC_FLAGS = [...FULL_FLAGS, "--allow-env"];
let serial = 0;

/** A fresh shared memory region of one page, unlinked by `done()`. */
function region(): { m: Mmap; name: string; done(): void } {
  const name = `mmap-wait-${Deno.pid}-${serial++}`;
  const m = openSharedSync(name, { create: true, exclusive: true, size: 4096 });
  return {
    m,
    name,
    done() {
      m.close();
      unlinkSharedSync(name);
    },
  };
}

function words(m: Mmap): Int32Array {
  return new Int32Array(m.view().buffer);
}

/** Polls until `check()` holds (a sleeper count, say), or fails. */
async function until(check: () => boolean, what: string, ms = 120_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

Deno.test("wait() says not-equal and timed-out like Atomics.wait, without a peer", () => {
  using m = openAnonymousSync(4096);
  const w = words(m);
  assert.equal(wait(m, 0, 1), "not-equal");
  assert.equal(m.wait(0, 0, 0), "timed-out");
  const start = performance.now();
  assert.equal(wait(m, 8, 0, 30, { spin: 0 }), "timed-out");
  assert.ok(performance.now() - start >= 25, "slept for the timeout");
  Atomics.store(w, 2, -5);
  assert.equal(wait(m, 8, -5, 1), "timed-out");
  // The expected value is compared as 32 bits: 2^32 - 5 is -5.
  assert.equal(wait(m, 8, 2 ** 32 - 5, 1), "timed-out");
  assert.equal(wait(m, 8, 5, 1), "not-equal");
  // Nobody sleeps: notify makes no system call and says 0; the count stays.
  assert.equal(notify(m, 8), 0);
  assert.equal(m.notify(0, 1), 0);
  assert.equal(w[3], 0, "the sleeper count is back to 0");
  assert.equal(w[1], 0);
  assert.equal(WAIT_CELL_BYTES, 8);
});

Deno.test("wait() in one process is woken by notify() in another, over shared memory, both ways", async () => {
  const r = region();
  try {
    const rounds = 50;
    // w[0]: the turn counter, even = parent's move, odd = child's; the child
    // always sleeps (spin 0) so that every round goes through the kernel.
    const child = spawnDeno(
      `
      import { openSharedSync, wait, notify } from ${JSON.stringify(MOD_URL)};
      using m = openSharedSync(${JSON.stringify(r.name)});
      const w = new Int32Array(m.view().buffer);
      console.log("ready");
      for (let i = 0; i < ${rounds}; i++) {
        while (Atomics.load(w, 0) !== 2 * i + 1) wait(m, 0, 2 * i, 60_000, { spin: 0 });
        Atomics.store(w, 0, 2 * i + 2);
        notify(m, 0);
      }
      console.log("done");
      `,
      IPC_FLAGS,
    );
    await waitForLine(child, "ready");
    const w = words(r.m);
    let woken = 0;
    for (let i = 0; i < rounds; i++) {
      Atomics.store(w, 0, 2 * i + 1);
      woken += notify(r.m, 0);
      while (Atomics.load(w, 0) !== 2 * i + 2) {
        wait(r.m, 0, 2 * i + 1, 60_000);
      }
    }
    const status = await child.status;
    assert.equal(status.code, 0);
    assert.equal(Atomics.load(w, 0), 2 * rounds);
    assert.ok(woken > 0, "the child slept, and notify woke it");
    assert.equal(w[1], 0, "no sleeper is left counted");
  } finally {
    r.done();
  }
});

Deno.test("two processes that always sleep and hand the turn over the moment the other counts itself in lose no wake", async () => {
  // Each side hands the turn over as soon as the cell's count says the other
  // sleeps, which may be before the other is inside the OS wait; the handing
  // side then waits itself. A wake that the later waiter could take (a
  // semaphore's permit, Windows) left both asleep: each wait has a timeout
  // here, so a lost wake shows as a "timed-out" instead of a hang.
  const r = region();
  try {
    const rounds = 2000;
    Atomics.store(words(r.m), 8, -1);
    const child = spawnDeno(
      `
      import { openSharedSync, wait, notify } from ${JSON.stringify(MOD_URL)};
      using m = openSharedSync(${JSON.stringify(r.name)});
      const w = new Int32Array(m.view().buffer);
      let late = 0;
      console.log("ready");
      for (let i = 0; i < ${rounds}; i++) {
        while (Atomics.load(w, 0) !== 2 * i + 1) {
          if (wait(m, 0, 2 * i, 10_000, { spin: 0 }) === "timed-out") late++;
        }
        while (Atomics.load(w, 1) === 0);
        Atomics.store(w, 0, 2 * i + 2);
        notify(m, 0);
      }
      Atomics.store(w, 8, late);
      `,
      IPC_FLAGS,
    );
    await waitForLine(child, "ready");
    const w = words(r.m);
    let late = 0;
    for (let i = 0; i < rounds; i++) {
      if (i > 0) { while (Atomics.load(w, 1) === 0); }
      Atomics.store(w, 0, 2 * i + 1);
      notify(r.m, 0);
      while (Atomics.load(w, 0) !== 2 * i + 2) {
        if (wait(r.m, 0, 2 * i + 1, 10_000, { spin: 0 }) === "timed-out") {
          late++;
        }
      }
    }
    assert.equal((await child.status).code, 0);
    assert.equal(
      Atomics.load(w, 8),
      0,
      "no wait of the child outlived its wake",
    );
    assert.equal(late, 0, "no wait of the parent outlived its wake");
    assert.equal(w[1], 0, "no sleeper is left counted");
  } finally {
    r.done();
  }
});

Deno.test("wait() works across processes over a shared file mapping too", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cell.bin`;
    using m = openWriteWithSizeSync(path, 4096);
    const w = words(m);
    const child = spawnDeno(
      `
      import { openWriteSync, wait } from ${JSON.stringify(MOD_URL)};
      using m = openWriteSync(${JSON.stringify(path)});
      const outcome = wait(m, 64, 0, 120_000, { spin: 0 });
      const w = new Int32Array(m.view().buffer);
      console.log(JSON.stringify({ outcome, value: Atomics.load(w, 16) }));
      `,
      IPC_FLAGS,
    );
    await until(() => Atomics.load(w, 17) === 1, "the child to sleep");
    Atomics.store(w, 16, 42);
    assert.equal(notify(m, 64), 1);
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1);
    assert.deepEqual(JSON.parse(line!), { outcome: "ok", value: 42 });
  });
});

Deno.test("notify() wakes as many as asked and says how many woke", async () => {
  const r = region();
  try {
    const children = Array.from({ length: 3 }, () =>
      spawnDeno(
        `
        import { openSharedSync, wait } from ${JSON.stringify(MOD_URL)};
        using m = openSharedSync(${JSON.stringify(r.name)});
        console.log(wait(m, 128, 0, 120_000, { spin: 0 }));
        `,
        IPC_FLAGS,
      ));
    const w = words(r.m);
    await until(() => Atomics.load(w, 33) === 3, "three sleepers");
    Atomics.store(w, 32, 1);
    assert.equal(notify(r.m, 128, 0), 0);
    assert.equal(notify(r.m, 128, 2), 2);
    await until(() => Atomics.load(w, 33) === 1, "two to leave");
    assert.equal(notify(r.m, 128, Infinity), 1);
    for (const child of children) {
      const out = await child.output();
      assert.equal(out.code, 0);
      assert.equal(new TextDecoder().decode(out.stdout).trim(), "ok");
    }
    assert.equal(notify(r.m, 128), 0);
  } finally {
    r.done();
  }
});

Deno.test("waitAsync() leaves the event loop running and is woken from a Worker", async () => {
  // In a subprocess: `deno run` starts the Worker without type-checking it.
  const out = await runDeno(
    `
    import { openSharedSync, unlinkSharedSync, waitAsync } from ${
      JSON.stringify(MOD_URL)
    };
    const name = "mmap-wait-worker-" + Deno.pid;
    using m = openSharedSync(name, { create: true, size: 4096 });
    const w = new Int32Array(m.view().buffer);
    const dir = Deno.makeTempDirSync();
    const url = "file://" + dir + "/worker.ts";
    Deno.writeTextFileSync(dir + "/worker.ts", \`
      import { openSharedSync, notify, wait } from ${JSON.stringify(MOD_URL)};
      using m = openSharedSync("\${name}");
      const w = new Int32Array(m.view().buffer);
      // Wait (synchronously, as a worker may) for the main thread to sleep;
      // a worker starts slowly under emulation.
      const end = Date.now() + 120_000;
      while (Atomics.load(w, 1) !== 1 && Date.now() < end) wait(m, 8, 0, 1);
      Atomics.store(w, 0, 7);
      self.postMessage(notify(m, 0));
    \`);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const pending = waitAsync(m, 0, 0, 120_000, { spin: 0 });
    const worker = new Worker(url, { type: "module" });
    const woken = await new Promise((resolve) => worker.onmessage = (e) => resolve(e.data));
    const outcome = await pending;
    clearInterval(timer);
    worker.terminate();
    unlinkSharedSync(name);
    Deno.removeSync(dir, { recursive: true });
    console.log(JSON.stringify({ outcome, woken, value: w[0], ticks }));
    `,
    IPC_FLAGS,
  );
  const result = lastJson<
    { outcome: string; woken: number; value: number; ticks: number }
  >(out);
  assert.equal(result.outcome, "ok");
  assert.equal(result.woken, 1);
  assert.equal(result.value, 7);
  assert.ok(result.ticks > 0, "timers ran while waitAsync was pending");
});

Deno.test("waitAsync() settles at once with not-equal, and with timed-out after its timeout", async () => {
  using m = openAnonymousSync(4096);
  assert.equal(await waitAsync(m, 0, 3), "not-equal");
  assert.equal(await m.waitAsync(0, 0, 0), "timed-out");
  const start = performance.now();
  assert.equal(await waitAsync(m, 0, 0, 40, { spin: 0 }), "timed-out");
  assert.ok(performance.now() - start >= 35);
  assert.equal(words(m)[1], 0);
});

Deno.test("a waiter whose mapping is closed wakes with BadResource at once, never hangs", async () => {
  const r = region();
  try {
    const m = openSharedSync(r.name);
    const w = words(r.m);
    const pending = waitAsync(m, 0, 0, Infinity, { spin: 0 });
    await until(() => Atomics.load(w, 1) === 1, "the waiter to sleep");
    const start = performance.now();
    m.close();
    await assert.rejects(
      pending,
      Deno.errors.BadResource,
      "closed while waiting",
    );
    assert.ok(performance.now() - start < 5000);
    assert.equal(Atomics.load(w, 1), 0, "the sleeper left the count");
  } finally {
    r.done();
  }
});

Deno.test("a waiter whose mapping is resized or remapped wakes with Interrupted", async () => {
  using m = openAnonymousSync(4096);
  const w = words(m);
  const pending = waitAsync(m, 0, 0, 60_000, { spin: 0 });
  await until(() => Atomics.load(w, 1) === 1, "the waiter to sleep");
  // The view's buffer was reachable from here, so resize detaches it.
  m.resizeSync(8192);
  await assert.rejects(pending, Deno.errors.Interrupted, "while waiting");
  assert.equal(m.len, 8192);
  assert.equal(new Int32Array(m.view().buffer)[1], 0);

  await withTempDir(async (dir) => {
    const path = `${dir}/follow.bin`;
    using f = openWriteWithSizeSync(path, 4096);
    const fw = words(f);
    const waiting = f.waitAsync(16, 0, 60_000, { spin: 0 });
    await until(() => Atomics.load(fw, 5) === 1, "the waiter to sleep");
    f.remapSync();
    await assert.rejects(waiting, Deno.errors.Interrupted);
  });
});

Deno.test("a pending waitAsync() in a Worker ends when the Worker does (the mapping closes)", async () => {
  const r = region();
  try {
    const out = await runDeno(
      `
      const dir = Deno.makeTempDirSync();
      Deno.writeTextFileSync(dir + "/worker.ts", \`
        import { openSharedSync, waitAsync } from ${JSON.stringify(MOD_URL)};
        const m = openSharedSync(${JSON.stringify(r.name)});
        waitAsync(m, 0, 0, Infinity, { spin: 0 }).catch(() => {});
        self.postMessage("waiting");
      \`);
      const worker = new Worker("file://" + dir + "/worker.ts", { type: "module" });
      await new Promise((resolve) => worker.onmessage = resolve);
      console.log("worker waiting");
      await new Promise((r) => setTimeout(r, 500));
      worker.terminate();
      Deno.removeSync(dir, { recursive: true });
      console.log(JSON.stringify({ terminated: true }));
      `,
      IPC_FLAGS,
    );
    assert.deepEqual(lastJson(out), { terminated: true });
    const w = words(r.m);
    // The worker's sleeper is gone from the count (its mapping was closed
    // when it ended, which woke it), and the process exited.
    await until(() => Atomics.load(w, 1) === 0, "the worker's sleeper to go");
  } finally {
    r.done();
  }
});

Deno.test("a pending waitAsync() keeps a process alive only until it settles", async () => {
  const start = performance.now();
  const out = await runDeno(
    `
    import { openAnonymousSync, waitAsync } from ${JSON.stringify(MOD_URL)};
    const m = openAnonymousSync(4096);
    waitAsync(m, 0, 0, 300, { spin: 0 }).then((o) => console.log(o));
    const n = openAnonymousSync(4096);
    waitAsync(n, 0, 0).catch((e) => console.log(e.name));
    setTimeout(() => n.close(), 100);
    `,
    IPC_FLAGS,
  );
  assert.equal(out.code, 0, out.stderr);
  // Both settle, in either order (timers are late under emulation).
  assert.deepEqual(out.stdout.trim().split("\n").sort(), [
    "BadResource",
    "timed-out",
  ]);
  assert.ok(performance.now() - start < 60_000);
});

Deno.test("wait(), waitAsync() and notify() refuse bad offsets with RangeError", async () => {
  using m = openAnonymousSync(4096);
  for (const offset of [2, 4095, 4092, 4096, 1e20, -4, 0.5, NaN]) {
    assert.throws(() => wait(m, offset, 0, 0), RangeError, `offset ${offset}`);
    assert.throws(() => notify(m, offset), RangeError, `offset ${offset}`);
    await assert.rejects(waitAsync(m, offset, 0, 0), RangeError);
  }
  // The last whole cell is fine.
  assert.equal(wait(m, 4088, 0, 0), "timed-out");
  assert.equal(wait(m, 4088n, 0, 0), "timed-out");
  assert.throws(() => wait(m, "0" as unknown as number, 0), TypeError);
  using empty = openAnonymousSync(4);
  assert.throws(() => notify(empty, 0), RangeError, "8 bytes");
});

Deno.test("wait() refuses NaN and negative timeouts, and treats huge ones as no limit", async () => {
  using m = openAnonymousSync(4096);
  for (const timeout of [NaN, -1, -Infinity]) {
    assert.throws(() => wait(m, 0, 0, timeout), RangeError, String(timeout));
    await assert.rejects(waitAsync(m, 0, 0, timeout), RangeError);
  }
  assert.throws(() => wait(m, 0, 0, "1" as unknown as number), TypeError);
  for (const expected of [2 ** 32, -(2 ** 31) - 1, 0.5, NaN]) {
    assert.throws(() => wait(m, 0, expected, 0), RangeError);
  }
  assert.throws(() => wait(m, 0, 0n as unknown as number), TypeError);
  for (const spin of [-1, 0.5, 2 ** 32]) {
    assert.throws(() => wait(m, 0, 0, 0, { spin }), RangeError);
  }
  assert.throws(() => wait(m, 0, 0, 0, 7 as unknown as object), TypeError);
  for (const count of [-1, 0.5, NaN]) {
    assert.throws(() => notify(m, 0, count), RangeError);
  }
  // A timeout of 1e300 ms sleeps without limit, until notified.
  const w = words(m);
  const pending = waitAsync(m, 0, 0, 1e300, { spin: 0 });
  await until(() => Atomics.load(w, 1) === 1, "the waiter to sleep");
  Atomics.store(w, 0, 1);
  assert.equal(notify(m, 0), 1);
  assert.equal(await pending, "ok");
});

Deno.test("wait() and notify() refuse read-only, copy-on-write and closed handles", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/ro.bin`;
    Deno.writeFileSync(path, new Uint8Array(4096));
    using ro = openSync(path);
    assert.throws(() => wait(ro, 0, 0, 0), TypeError, "read-write");
    assert.throws(() => notify(ro, 0), TypeError, "read-write");
    await assert.rejects(waitAsync(ro, 0, 0, 0), TypeError);
    using cow = openSync(path, { private: true });
    assert.throws(() => wait(cow, 0, 0, 0), TypeError, "copy-on-write");
    const m = openAnonymousSync(4096);
    m.close();
    assert.throws(() => wait(m, 0, 0), Deno.errors.BadResource);
    assert.throws(() => notify(m, 0), Deno.errors.BadResource);
    await assert.rejects(waitAsync(m, 0, 0), Deno.errors.BadResource);
    assert.throws(
      () => wait({ ptr: null, len: 8 } as unknown as Mmap, 0, 0),
      TypeError,
    );
  });
});

Deno.test("a remap refused for the kind of mapping leaves its waiters asleep", async () => {
  const r = region();
  try {
    const w = words(r.m);
    const pending = waitAsync(r.m, 0, 0, 60_000, { spin: 0 });
    await until(() => Atomics.load(w, 1) === 1, "the waiter to sleep");
    assert.throws(() => r.m.remapSync(), TypeError, "file mappings");
    assert.equal(Atomics.load(w, 1), 1, "still asleep");
    Atomics.store(w, 0, 1);
    assert.equal(notify(r.m, 0), 1);
    assert.equal(await pending, "ok");
  } finally {
    r.done();
  }
});

Deno.test("a resize or remap refused with Busy (a view's buffer escaped) leaves the mapping's waiters asleep", async () => {
  using m = openAnonymousSync(4096);
  const moved = m.view().buffer.transfer();
  const w = new Int32Array(moved);
  const pending = waitAsync(m, 0, 0, 60_000, { spin: 0 });
  await until(() => Atomics.load(w, 1) === 1, "the waiter to sleep");
  assert.throws(() => m.resizeSync(8192), Deno.errors.Busy);
  assert.equal(Atomics.load(w, 1), 1, "still asleep after the resize");
  Atomics.store(w, 0, 1);
  assert.equal(notify(m, 0), 1);
  assert.equal(await pending, "ok");

  await withTempDir(async (dir) => {
    const path = `${dir}/held.bin`;
    using f = openWriteWithSizeSync(path, 4096);
    const held = f.view().buffer.transfer();
    const fw = new Int32Array(held);
    const waiting = f.waitAsync(16, 0, 60_000, { spin: 0 });
    await until(() => Atomics.load(fw, 5) === 1, "the waiter to sleep");
    assert.throws(() => f.remapSync(), Deno.errors.Busy);
    assert.equal(Atomics.load(fw, 5), 1, "still asleep after the remap");
    Atomics.store(fw, 4, 1);
    assert.equal(f.notify(16), 1);
    assert.equal(await waiting, "ok");
    // Emptied, the buffer lets the mapping change again.
    held.transfer(0);
    f.remapSync();
  });
  moved.transfer(0);
  m.resizeSync(8192);
  assert.equal(m.len, 8192);
});
