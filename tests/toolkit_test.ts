// The mapping toolkit: windows, copy-on-write, anonymous and shared memory,
// advice, residency, locking, resizing, durability levels, streams, stats.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  advise,
  flush,
  flushSync,
  lock,
  Mmap,
  open,
  openAnonymous,
  openAnonymousSync,
  openShared,
  openSharedSync,
  openSync,
  openWriteSync,
  residency,
  resize,
  resizeSync,
  stats,
  stream,
  sync,
  syncSync,
  unlinkShared,
  unlinkSharedSync,
  unlock,
  view,
} from "../mod.ts";
import {
  FULL_FLAGS,
  MOD_URL,
  pattern,
  runDeno,
  withTempDir,
} from "./_helpers.ts";

const PAGE = 4096;

Deno.test("open() with offset/length maps exactly that window", async () => {
  await withTempDir(async (dir) => {
    const size = 5 * 65536 + 321;
    const data = pattern(size, 1);
    const path = `${dir}/window.bin`;
    await Deno.writeFile(path, data);
    const cases: [number, number | undefined][] = [
      [0, 1],
      [1, 100],
      [PAGE - 1, 2],
      [PAGE, PAGE],
      [PAGE + 1, 3 * PAGE],
      [65535, 70_000],
      [65536 + 77, undefined],
      [size - 1, 1],
      [size, 0],
      [size, undefined],
    ];
    for (const [offset, length] of cases) {
      using m = openSync(path, { offset, length });
      const expected = data.subarray(
        offset,
        length === undefined ? size : offset + length,
      );
      assert.equal(m.len, expected.length, `len at ${offset}`);
      assert.deepEqual(m.view(), expected, `view at ${offset}`);
      const copy = new Uint8Array(m.len);
      m.readSync(copy);
      assert.deepEqual(copy, expected, `read at ${offset}`);
      if (m.len > 2) {
        const two = new Uint8Array(2);
        m.readSync(two, m.len - 2);
        assert.deepEqual(two, expected.subarray(m.len - 2));
        assert.throws(() => m.readSync(two, m.len - 1), RangeError);
      }
    }
    // Writes through a window land at the right place in the file.
    {
      using w = openSync(path, { write: true, offset: 4097, length: 10 });
      w.writeSync(new Uint8Array([1, 2, 3]), 7);
      w.flushSync();
    }
    data.set([1, 2, 3], 4104);
    assert.deepEqual(await Deno.readFile(path), data);
    assert.throws(() => openSync(path, { offset: size + 1 }), RangeError);
    assert.throws(
      () => openSync(path, { offset: 10, length: size }),
      RangeError,
    );
  });
});

Deno.test("open() rejects conflicting options with a TypeError saying which", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/opts.bin`;
    await Deno.writeFile(path, pattern(10));
    const bad: [unknown, RegExp][] = [
      [{ private: true, write: true }, /"private".*"write"/],
      [{ create: true }, /"create" and "size" need "write: true"/],
      [{ size: 100 }, /need "write: true"/],
      [{ write: "yes" }, /"write" must be a boolean/],
      [{ populate: 1 }, /"populate" must be a boolean/],
      ["rw", /options must be an object/],
    ];
    for (const [options, message] of bad) {
      // deno-lint-ignore no-explicit-any
      assert.throws(() => openSync(path, options as any), (error: Error) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, message);
        return true;
      });
    }
    assert.throws(() => openSync(path, { offset: -1 }), RangeError);
    assert.throws(() => openSync(path, { length: 1.5 }), RangeError);
    assert.deepEqual(await Deno.readFile(path), pattern(10));
  });
});

Deno.test("open() with create and size makes and grows the file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/new.bin`;
    using m = openSync(path, { write: true, create: true, size: 10_000 });
    assert.equal(m.len, 10_000);
    assert.equal((await Deno.stat(path)).size, 10_000);
    assert.throws(
      () => openSync(`${dir}/absent.bin`, { write: true, size: 5 }),
      Deno.errors.NotFound,
    );
  });
});

Deno.test("private (copy-on-write) writes never reach the file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cow.bin`;
    const data = pattern(3 * PAGE);
    await Deno.writeFile(path, data);
    using shared = openSync(path, { write: true });
    using cow = openSync(path, { private: true });
    assert.equal(cow.writable, true);
    cow.writeSync(new Uint8Array(100).fill(9), PAGE - 50);
    cow.view(2 * PAGE, 1)[0] = 77;
    cow.flushSync(0, undefined, "durable");
    assert.deepEqual(cow.view(PAGE - 50, 100), new Uint8Array(100).fill(9));
    assert.deepEqual(
      shared.view(PAGE - 50, 100),
      data.subarray(PAGE - 50, PAGE + 50),
    );
    cow.close();
    assert.deepEqual(await Deno.readFile(path), data);
    // A private mapping needs read permission only, and no other process
    // sees its writes.
    const out = await runDeno(
      `import { openSync } from ${JSON.stringify(MOD_URL)};
       const cow = openSync(Deno.args[0], { private: true });
       cow.view().fill(1);
       console.log(cow.view()[0]);`,
      ["--allow-ffi", "--unstable-ffi", "--allow-read"],
      { args: [path] },
    );
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), "1");
    assert.deepEqual(await Deno.readFile(path), data);
  });
});

Deno.test("populate prefaults the mapping", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/populate.bin`;
    await Deno.writeFile(path, pattern(16 * PAGE));
    using m = openSync(path, { populate: true });
    assert.equal(residency(m), 16 * PAGE);
    using w = openSync(path, { write: true, populate: true });
    assert.equal(w.residency(), 16 * PAGE);
  });
});

Deno.test("openAnonymous() gives zeroed memory outside the V8 heap", async () => {
  const size = 32 * 1024 * 1024;
  await using m = await openAnonymous(size);
  assert.equal(m.kind, "anonymous");
  assert.equal(m.path, "");
  assert.equal(m.len, size);
  const v = m.view();
  assert.equal(v[0], 0);
  assert.equal(v[size - 1], 0);
  v.set(pattern(1000), size - 1000);
  const back = new Uint8Array(1000);
  m.readSync(back, size - 1000);
  assert.deepEqual(back, pattern(1000));
  m.writeSync(new Uint8Array([5]), 0);
  assert.equal(v[0], 5);
  await m.flush(); // nothing to write back, and no error
  using empty = openAnonymousSync(0);
  assert.equal(empty.len, 0);
  assert.throws(() => openAnonymousSync(-1), RangeError);
});

Deno.test("resize() keeps data and detaches old views", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/resize.bin`;
    await Deno.writeFile(path, pattern(5000));
    const m = openWriteSync(path);
    const old = m.view();
    await resize(m, 3 * 1024 * 1024);
    assert.equal(old.length, 0);
    assert.equal(m.len, 3 * 1024 * 1024);
    assert.equal((await Deno.stat(path)).size, 3 * 1024 * 1024);
    assert.deepEqual(m.view(0, 5000), pattern(5000));
    assert.equal(m.view()[m.len - 1], 0);
    m.view()[m.len - 1] = 1;
    resizeSync(m, 100);
    assert.equal((await Deno.stat(path)).size, 100);
    assert.deepEqual(m.view(), pattern(100));
    m.resizeSync(0);
    assert.equal(m.len, 0);
    assert.equal(m.ptr, null);
    m.resizeSync(10);
    assert.deepEqual(m.view(), new Uint8Array(10));
    assert.deepEqual(
      stats().mappings.find((i) => i.path === m.path)?.length,
      10,
    );
    m.close();
    // Anonymous memory keeps its contents across a move.
    using a = openAnonymousSync(PAGE);
    a.view().set(pattern(PAGE));
    a.resizeSync(1024 * PAGE);
    assert.deepEqual(a.view(0, PAGE), pattern(PAGE));
    // Read-only, copy-on-write and window mappings cannot be resized.
    for (const options of [{}, { private: true }, { write: true, offset: 1 }]) {
      using r = openSync(path, options);
      assert.throws(() => r.resizeSync(50), TypeError);
      assert.equal(r.len, options.offset === 1 ? 9 : 10);
    }
  });
});

Deno.test("flush modes and sync() write back; bad modes are TypeErrors", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/modes.bin`;
    await Deno.writeFile(path, new Uint8Array(3 * PAGE));
    using m = openWriteSync(path);
    m.view().set(pattern(3 * PAGE));
    flushSync(m, 1, 10, "async");
    await flush(m, PAGE + 3, PAGE, "durable");
    flushSync(m, 0, undefined, "sync");
    await sync(m);
    syncSync(m);
    await m.sync();
    // deno-lint-ignore no-explicit-any
    assert.throws(() => m.flushSync(0, 1, "later" as any), TypeError);
    // deno-lint-ignore no-explicit-any
    await assert.rejects(flush(m, 0, 1, 0 as any), TypeError);
    assert.deepEqual(await Deno.readFile(path), pattern(3 * PAGE));
    // Read-only and copy-on-write mappings have nothing to make durable, and
    // must not fail trying (their file is open read-only).
    for (const options of [{}, { private: true }]) {
      using r = openSync(path, options);
      r.syncSync();
      await r.sync();
      await r.flush(1, 2, "durable");
    }
  });
});

Deno.test({
  name: "a durable write survives SIGKILL of the writer",
  // Windows has no signals: a killed child reports none.
  ignore: Deno.build.os === "windows",
}, async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/durable.bin`;
    const script = `import { openWriteWithSize, sync } from ${
      JSON.stringify(MOD_URL)
    };
      const h = await openWriteWithSize(Deno.args[0], 1 << 20);
      const bytes = h.view();
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
      await sync(h);
      console.log("synced");
      await new Promise(() => setTimeout(() => {}, 1e9));`;
    const file = `${dir}/writer.ts`;
    await Deno.writeTextFile(file, script);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...FULL_FLAGS, file, path],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    const { value } = await reader.read();
    assert.equal(value?.trim(), "synced");
    child.kill("SIGKILL");
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL");
    reader.releaseLock();
    await child.stderr.cancel();
    await child.stdout.cancel().catch(() => {});
    // A fresh process reads what was synced.
    const out = await runDeno(
      `import { openSync } from ${JSON.stringify(MOD_URL)};
       const v = openSync(Deno.args[0]).view();
       let bad = 0;
       for (let i = 0; i < v.length; i++) if (v[i] !== (i * 7) % 256) bad++;
       console.log(v.length, bad);`,
      FULL_FLAGS,
      { args: [path] },
    );
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), `${1 << 20} 0`);
  });
});

Deno.test("advise() accepts the five names and rejects others with TypeError", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/advise.bin`;
    await Deno.writeFile(path, pattern(64 * PAGE));
    using m = openSync(path);
    for (
      const advice of [
        "normal",
        "sequential",
        "random",
        "willneed",
        "dontneed",
      ] as const
    ) {
      advise(m, advice);
      m.advise(advice, 100, 5000);
    }
    for (const bad of ["WILLNEED", "", "free", 3, null, undefined]) {
      // deno-lint-ignore no-explicit-any
      assert.throws(() => advise(m, bad as any), TypeError, String(bad));
    }
    assert.throws(() => advise(m, "normal", 0, 64 * PAGE + 1), RangeError);
    // dontneed on anonymous memory must not lose its contents.
    using a = openAnonymousSync(4 * PAGE);
    a.view().fill(3);
    a.advise("dontneed");
    assert.equal(a.view()[PAGE], 3);
    // The contents of a file survive dontneed too.
    m.advise("dontneed");
    assert.deepEqual(m.view(0, 100), pattern(100));
  });
});

Deno.test("residency() counts the bytes in memory", async () => {
  await using a = await openAnonymous(64 * PAGE);
  assert.equal(a.residency(), 0);
  a.view(0, 3 * PAGE).fill(1);
  assert.equal(a.residency(), 3 * PAGE);
  assert.equal(residency(a, 10, 20), 20);
  assert.equal(a.residency(10 * PAGE, PAGE), 0);
  assert.equal(a.residency(0, 0), 0);
});

Deno.test("lock() and unlock() pin pages", async () => {
  await using a = await openAnonymous(4 * PAGE);
  lock(a);
  assert.equal(a.residency(), 4 * PAGE);
  unlock(a);
  a.lock(PAGE, 10);
  a.unlock(PAGE, 10);
});

Deno.test({
  name: "lock() over the limit names RLIMIT_MEMLOCK",
  // RLIMIT_MEMLOCK, prlimit and setpriv are POSIX/Linux.
  ignore: Deno.build.os !== "linux",
}, async () => {
  // As root the limit does not apply (CAP_IPC_LOCK), so the child drops the
  // capability; prlimit sets a 64 KiB limit.
  const script = `import { openAnonymousSync } from ${JSON.stringify(MOD_URL)};
    const m = openAnonymousSync(16 << 20);
    try { m.lock(); console.log("locked"); }
    catch (e) { console.log(e.constructor.name + ": " + e.message); }`;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/lock.ts`, script);
    const id = await new Deno.Command("id", { args: ["-u"] }).output();
    const root = new TextDecoder().decode(id.stdout).trim() === "0";
    const wrap = root
      ? ["setpriv", "--bounding-set", "-ipc_lock", "--inh-caps", "-ipc_lock"]
      : [];
    const { code, stdout, stderr } = await new Deno.Command("prlimit", {
      args: [
        "--memlock=65536:65536",
        ...wrap,
        Deno.execPath(),
        "run",
        "--quiet",
        ...FULL_FLAGS,
        `${dir}/lock.ts`,
      ],
    }).output();
    const out = new TextDecoder().decode(stdout).trim();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.match(
      out,
      /^(MmapError|PermissionDenied|OutOfMemory): mmap lock "<anonymous>": .*\(os error \d+\): the lock limit RLIMIT_MEMLOCK is 65536 bytes \(hard limit 65536 bytes\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

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

Deno.test("two processes play ping-pong through shared memory with Atomics", async () => {
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
      const deadline = Date.now() + 10_000;
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

Deno.test("stream() pipes a range into a Response, chunk by chunk", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/stream.bin`;
    const data = pattern(300_000, 9);
    await Deno.writeFile(path, data);
    using m = openSync(path);
    const whole = new Uint8Array(await new Response(stream(m)).arrayBuffer());
    assert.deepEqual(whole, data);
    const part = new Uint8Array(
      await new Response(
        m.stream({ offset: 1000, length: 70_001, chunkSize: 4096 }),
      )
        .arrayBuffer(),
    );
    assert.deepEqual(part, data.subarray(1000, 71_001));
    // A BYOB reader gets the bytes straight into its own buffer.
    const reader = m.stream({ offset: 5, length: 10 }).getReader({
      mode: "byob",
    });
    const first = await reader.read(new Uint8Array(4));
    assert.deepEqual(first.value, data.subarray(5, 9));
    reader.releaseLock();
    assert.deepEqual(
      new Uint8Array(await new Response(m.stream({ length: 0 })).arrayBuffer()),
      new Uint8Array(0),
    );
    assert.throws(
      () => m.stream({ offset: 1, length: data.length }),
      RangeError,
    );
    assert.throws(() => m.stream({ chunkSize: 0 }), RangeError);
    // Closing the mapping mid-stream fails the stream instead of reading
    // freed memory.
    const s = m.stream({ chunkSize: 1000 }).getReader();
    await s.read();
    m.close();
    await assert.rejects(s.read(), Deno.errors.BadResource);
  });
});

Deno.test("stats() lists live mappings and forgets closed ones", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "stats.bin");
    await Deno.writeFile(path, pattern(1234));
    const before = stats();
    const m = await open(path);
    const a = openAnonymousSync(PAGE);
    const during = stats();
    assert.equal(during.count, before.count + 2);
    assert.equal(during.bytes, before.bytes + 1234 + PAGE);
    assert.deepEqual(
      during.mappings.filter((i) => i.path === path || i.kind === "anonymous"),
      [
        { path, kind: "file", length: 1234, writable: false },
        { path: "", kind: "anonymous", length: PAGE, writable: true },
      ],
    );
    m.close();
    a.close();
    assert.equal(stats().count, before.count);
    assert.equal(stats().mappings.length, before.mappings.length);
  });
});

Deno.test("handle methods mirror the free functions", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/methods.bin`;
    await Deno.writeFile(path, pattern(100));
    const m = openWriteSync(path);
    assert.ok(m instanceof Mmap);
    assert.equal(await m.write(new Uint8Array([1]), 0), 1);
    assert.equal(m.writeSync(new Uint8Array([2]), 1), 1);
    const two = new Uint8Array(2);
    assert.equal(await m.read(two, 0), 2);
    assert.deepEqual([...two], [1, 2]);
    assert.equal(m.readSync(two, 1), 2);
    await m.flush();
    m.flushSync(1, 1);
    assert.equal(m.view(0, 2)[1], 2);
    m.close();
    assert.equal(m.closed, true);
  });
});
