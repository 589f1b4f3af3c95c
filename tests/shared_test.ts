// openShared(), openSharedSync(), unlinkShared(), unlinkSharedSync(): named
// shared memory, between handles and between processes.

import assert from "node:assert/strict";
import {
  openShared,
  openSharedSync,
  unlinkShared,
  unlinkSharedSync,
  view,
} from "../mod.ts";
import { FULL_FLAGS, MOD_URL, runDeno } from "./_subprocess.ts";

Deno.test("openShared() regions are shared, exclusive and unlinkable", async () => {
  const name = `mmap-test-${Deno.pid}-a`;
  const a = await openShared(name, {
    create: true,
    exclusive: true,
    size: 10_000,
  });
  try {
    assert.equal(a.kind, "shared");
    assert.ok(a.len >= 10_000);
    assert.throws(
      () => openSharedSync(name, { create: true, exclusive: true, size: 1 }),
      Deno.errors.AlreadyExists,
    );
    const b = openSharedSync(name);
    b.writeSync(new TextEncoder().encode("hi"), 5000);
    assert.equal(new TextDecoder().decode(view(a, 5000, 2)), "hi");
    b.close();
  } finally {
    a.close();
    await unlinkShared(name);
  }
  await assert.rejects(openShared(name), Deno.errors.NotFound);
  assert.throws(() => unlinkSharedSync(name), Deno.errors.NotFound);
  for (const bad of ["", "a/b", "x\0y"]) {
    assert.throws(
      () => openSharedSync(bad, { create: true, size: 1 }),
      TypeError,
    );
  }
  assert.throws(() => openSharedSync(name, { create: true }), TypeError);
  assert.throws(() => openSharedSync(name, { exclusive: true }), TypeError);
});

Deno.test("openShared() lets two processes play ping-pong with Atomics", async () => {
  const name = `mmap-test-${Deno.pid}-pingpong`;
  const rounds = 200;
  using region = openSharedSync(name, {
    create: true,
    exclusive: true,
    size: 4096,
  });
  try {
    // cells[0]: whose turn (0 = parent, 1 = child); cells[1]: the counter.
    // A mapping is not a SharedArrayBuffer, so Atomics.wait is not available
    // on it: each side polls with Atomics.load and yields in between.
    const cells = new Int32Array(region.view().buffer, 0, 2);
    const child = runDeno(
      `import { openSharedSync } from ${JSON.stringify(MOD_URL)};
       const region = openSharedSync(Deno.args[0]);
       const cells = new Int32Array(region.view().buffer, 0, 2);
       for (let i = 0; i < ${rounds}; i++) {
         while (Atomics.load(cells, 0) !== 1) {
           await new Promise((resolve) => setTimeout(resolve, 0));
         }
         Atomics.add(cells, 1, 1);
         Atomics.store(cells, 0, 0);
       }
       console.log("child done", Atomics.load(cells, 1));`,
      FULL_FLAGS,
      { args: [name] },
    );
    for (let i = 0; i < rounds; i++) {
      Atomics.add(cells, 1, 1);
      Atomics.store(cells, 0, 1);
      // Round 0 waits for the child to start, which takes Deno's start-up:
      // under qemu on a busy machine that is well past 10 s.
      const deadline = Date.now() + (i === 0 ? 120_000 : 10_000);
      while (Atomics.load(cells, 0) !== 0) {
        if (Date.now() > deadline) throw new Error(`no answer in round ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    const out = await child;
    assert.equal(out.code, 0, out.stderr);
    assert.equal(Atomics.load(cells, 1), 2 * rounds);
    assert.equal(out.stdout.trim(), `child done ${2 * rounds}`);
  } finally {
    unlinkSharedSync(name);
  }
});
