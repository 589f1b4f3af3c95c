// Core behaviour of the seed API, the sync variants and views, against real
// files in temp directories.

import assert from "node:assert/strict";
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  close,
  closeSync,
  flush,
  flushSync,
  Mmap,
  open,
  openSync,
  openWrite,
  openWriteSync,
  openWriteWithSize,
  openWriteWithSizeSync,
  read,
  readSync,
  view,
  write,
  writeSync,
} from "../mod.ts";
import {
  FULL_FLAGS,
  MOD_URL,
  pattern,
  runDeno,
  withTempDir,
} from "./_helpers.ts";

Deno.test("open() exposes ptr, len and the absolute path", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/a.bin`, pattern(100));
    const cwd = Deno.cwd();
    Deno.chdir(dir);
    try {
      const h = await open("a.bin");
      assert.equal(h.len, 100);
      assert.equal(h.path, join(Deno.cwd(), "a.bin"));
      assert.ok(isAbsolute(h.path));
      assert.notEqual(h.ptr, null);
      assert.equal(h.writable, false);
      assert.ok(h instanceof Mmap);
      await close(h);
      assert.equal(h.ptr, null);
      assert.equal(h.closed, true);
    } finally {
      Deno.chdir(cwd);
    }
  });
});

Deno.test("open() accepts a file URL", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/u.bin`, pattern(10));
    using h = openSync(pathToFileURL(join(dir, "u.bin")));
    assert.equal(h.path, join(dir, "u.bin"));
    assert.deepEqual(h.view(), pattern(10));
  });
});

Deno.test("open() on a missing file throws NotFound naming the call and path", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/missing.bin`;
    await assert.rejects(open(path), (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      // The call and the path, then the OS's own text for error 2.
      assert.ok(error.message.startsWith(`mmap open "${path}": `));
      assert.match(error.message, /\(os error 2\)$/);
      if (Deno.build.os === "linux") {
        assert.equal(
          error.message,
          `mmap open "${path}": No such file or directory (os error 2)`,
        );
      }
      return true;
    });
    assert.throws(() => openWriteSync(path), Deno.errors.NotFound);
    await assert.rejects(openWrite(path), Deno.errors.NotFound);
    // Nothing was created by the failed calls.
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  });
});

Deno.test("open() on a directory throws IsADirectory, under a file NotADirectory", async () => {
  await withTempDir(async (dir) => {
    assert.throws(() => openSync(dir), Deno.errors.IsADirectory);
    assert.throws(() => openWriteSync(dir), Deno.errors.IsADirectory);
    await Deno.writeFile(`${dir}/file`, pattern(1));
    // Windows has no ENOTDIR: a path through a file is "path not found".
    assert.throws(
      () => openSync(`${dir}/file/x`),
      Deno.build.os === "windows"
        ? Deno.errors.NotFound
        : Deno.errors.NotADirectory,
    );
  });
});

Deno.test("openWriteWithSize() creates, grows and never shrinks", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/sized.bin`;
    const h = await openWriteWithSize(path, 5000n);
    assert.equal(h.len, 5000);
    assert.equal(h.writable, true);
    await write(h, new Uint8Array([1, 2, 3]), 4997);
    await close(h);
    assert.equal((await Deno.stat(path)).size, 5000);

    const grown = openWriteWithSizeSync(path, 9000);
    assert.equal(grown.len, 9000);
    const tail = new Uint8Array(6);
    grown.readSync(tail, 4997);
    assert.deepEqual([...tail], [1, 2, 3, 0, 0, 0]);
    grown.close();

    const same = await openWriteWithSize(path, 10);
    assert.equal(same.len, 9000);
    same.close();
    assert.equal((await Deno.stat(path)).size, 9000);
  });
});

Deno.test("read() and write() round-trip at many offsets and sizes", async () => {
  await withTempDir(async (dir) => {
    const size = 3 * 65536 + 17;
    const path = `${dir}/rt.bin`;
    const model = pattern(size, 3);
    await Deno.writeFile(path, model);
    const h = await openWrite(path);
    const sizes = [0, 1, 7, 63, 64, 65, 4095, 4096, 4097, 65536, 70001];
    const offsets = [0, 1, 4095, 4096, 4097, 65535, 65536, 100_000];
    let seed = 11;
    for (const n of sizes) {
      for (const off of offsets) {
        if (off + n > size) continue;
        const src = pattern(n, seed++);
        assert.equal(writeSync(h, src, off), n);
        model.set(src, off);
        const back = new Uint8Array(n);
        assert.equal(await read(h, back, BigInt(off)), n);
        assert.deepEqual(back, src);
      }
    }
    // The end of the mapping exactly.
    const last = pattern(5, 99);
    assert.equal(await write(h, last, size - 5), 5);
    model.set(last, size - 5);
    flushSync(h);
    closeSync(h);
    assert.deepEqual(await Deno.readFile(path), model);
  });
});

Deno.test("read() and write() past the end throw RangeError and copy nothing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/bounds.bin`;
    await Deno.writeFile(path, pattern(100));
    const h = await openWrite(path);
    const dst = new Uint8Array(10).fill(42);
    await assert.rejects(read(h, dst, 91), RangeError);
    assert.deepEqual(dst, new Uint8Array(10).fill(42));
    assert.throws(() => readSync(h, new Uint8Array(101)), RangeError);
    await assert.rejects(write(h, new Uint8Array(10).fill(1), 91n), RangeError);
    assert.throws(() => writeSync(h, new Uint8Array(1), 100), RangeError);
    assert.throws(
      () => readSync(h, new Uint8Array(1), 2 ** 53 - 1),
      (error: Error) =>
        error instanceof RangeError && error.message.includes("bounds.bin"),
    );
    // Reads that end exactly at the end work; empty reads at the end too.
    assert.equal(readSync(h, new Uint8Array(0), 100), 0);
    assert.equal(readSync(h, new Uint8Array(1), 99), 1);
    closeSync(h);
    assert.deepEqual(await Deno.readFile(path), pattern(100));
  });
});

Deno.test("offsets and lengths reject bad numbers in TypeScript", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/args.bin`;
    await Deno.writeFile(path, pattern(64));
    using h = openWriteSync(path);
    const buf = new Uint8Array(1);
    for (
      const bad of [
        -1,
        -1n,
        0.5,
        NaN,
        Infinity,
        -Infinity,
        2 ** 53,
        2n ** 53n,
        2n ** 64n,
      ]
    ) {
      assert.throws(() => readSync(h, buf, bad), RangeError, String(bad));
      assert.throws(() => writeSync(h, buf, bad), RangeError, String(bad));
      assert.throws(() => flushSync(h, bad), RangeError, String(bad));
      assert.throws(() => flushSync(h, 0, bad), RangeError, String(bad));
      assert.throws(() => view(h, bad), RangeError, String(bad));
      assert.throws(() => view(h, 0, bad), RangeError, String(bad));
      assert.throws(() => openWriteWithSizeSync(path, bad), RangeError);
    }
    for (const bad of ["1", null, {}, [], true, Symbol("x")]) {
      // deno-lint-ignore no-explicit-any
      assert.throws(() => readSync(h, buf, bad as any), TypeError);
      // deno-lint-ignore no-explicit-any
      assert.throws(() => openWriteWithSizeSync(path, bad as any), TypeError);
    }
    // deno-lint-ignore no-explicit-any
    const anyRead = readSync as any;
    assert.throws(() => anyRead(h, [1, 2, 3]), TypeError);
    assert.throws(() => anyRead(h, new Uint16Array(2)), TypeError);
    assert.throws(() => anyRead(h, "abc"), TypeError);
    assert.throws(
      () => anyRead({ ptr: null, len: 1, path: "x" }, buf),
      TypeError,
    );
    assert.throws(() => anyRead(Object.create(Mmap.prototype), buf), TypeError);
    // deno-lint-ignore no-explicit-any
    assert.throws(() => new (Mmap as any)(), TypeError);
    // deno-lint-ignore no-explicit-any
    await assert.rejects(open(42 as any), TypeError);
    await assert.rejects(open(""), TypeError);
    await assert.rejects(open("a\0b"), TypeError);
    await assert.rejects(open(new URL("https://example.com/x")), TypeError);
    assert.deepEqual(await Deno.readFile(path), pattern(64));
  });
});

Deno.test("write() on a read-only mapping throws TypeError", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/ro.bin`;
    await Deno.writeFile(path, pattern(16));
    const h = await open(path);
    await assert.rejects(write(h, new Uint8Array([1])), TypeError);
    assert.throws(() => writeSync(h, new Uint8Array([1])), /read-only/);
    await close(h);
    assert.deepEqual(await Deno.readFile(path), pattern(16));
  });
});

Deno.test("writes through a view of a read-only mapping never reach the file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/ro_view.bin`;
    await Deno.writeFile(path, pattern(8192));
    using h = openSync(path);
    const v = h.view();
    v[0] = 200; // copy-on-write: the process keeps running
    assert.equal(v[0], 200);
    // A native read into a view of the same mapping works too.
    h.readSync(h.view(4096, 100), 0);
    assert.deepEqual(await Deno.readFile(path), pattern(8192));
  });
});

Deno.test("every call on a closed handle throws BadResource", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/closed.bin`;
    await Deno.writeFile(path, pattern(32));
    const h = await openWrite(path);
    await close(h);
    await close(h); // idempotent
    closeSync(h);
    h.close();
    const buf = new Uint8Array(4);
    await assert.rejects(read(h, buf), Deno.errors.BadResource);
    await assert.rejects(write(h, buf), Deno.errors.BadResource);
    await assert.rejects(flush(h), Deno.errors.BadResource);
    assert.throws(() => readSync(h, buf), Deno.errors.BadResource);
    assert.throws(() => writeSync(h, buf), Deno.errors.BadResource);
    assert.throws(() => flushSync(h), Deno.errors.BadResource);
    assert.throws(() => view(h), Deno.errors.BadResource);
    assert.throws(() => h.readSync(buf), /closed/);
    await assert.rejects(h.flush(), Deno.errors.BadResource);
  });
});

Deno.test("views are zero-copy and become empty on close", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/views.bin`;
    await Deno.writeFile(path, pattern(10_000));
    const h = openWriteSync(path);
    const whole = view(h);
    const part = h.view(4096, 10);
    const sub = whole.subarray(5000, 5010);
    assert.equal(whole.length, 10_000);
    assert.deepEqual(part, pattern(10_000).subarray(4096, 4106));
    part[0] = 7; // visible through every view and native reads
    assert.equal(whole[4096], 7);
    const one = new Uint8Array(1);
    h.readSync(one, 4096);
    assert.equal(one[0], 7);
    writeSync(h, new Uint8Array([8]), 5000);
    assert.equal(sub[0], 8);
    assert.equal(h.view(10_000).length, 0);
    assert.throws(() => h.view(9000, 1001), RangeError);
    h.close();
    for (const v of [whole, part, sub]) {
      assert.equal(v.length, 0);
      assert.equal(v.buffer.byteLength, 0);
      assert.equal(v[0], undefined);
    }
    const disk = await Deno.readFile(path);
    assert.equal(disk[4096], 7);
    assert.equal(disk[5000], 8);
  });
});

Deno.test("flush() accepts unaligned ranges and data reaches the file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/flush.bin`;
    const h = await openWriteWithSize(path, 3 * 4096 + 5);
    const data = pattern(h.len, 5);
    h.view().set(data);
    await flush(h, 4097n, 3n);
    flushSync(h, 1, 4096 * 2 + 3);
    await flush(h, 3 * 4096 + 5); // empty range at the end
    await flush(h);
    assert.throws(() => flushSync(h, 10, h.len), RangeError);
    await close(h);
    assert.deepEqual(await Deno.readFile(path), data);
  });
});

Deno.test("zero-length files map with length 0", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/empty.bin`;
    await Deno.writeFile(path, new Uint8Array(0));
    for (
      const h of [
        await open(path),
        await openWrite(path),
        openWriteWithSizeSync(path, 0),
      ]
    ) {
      assert.equal(h.len, 0);
      assert.equal(h.ptr, null);
      assert.equal(view(h).length, 0);
      assert.equal(readSync(h, new Uint8Array(0)), 0);
      assert.throws(() => readSync(h, new Uint8Array(1)), RangeError);
      await flush(h);
      await close(h);
    }
  });
});

Deno.test("using and await using close the mapping", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/using.bin`;
    await Deno.writeFile(path, pattern(10));
    let outer: Mmap;
    let v: Uint8Array;
    {
      using h = openSync(path);
      outer = h;
      v = h.view();
      assert.equal(v.length, 10);
    }
    assert.equal(outer.closed, true);
    assert.equal(v.length, 0);
    {
      await using h = await open(path);
      outer = h;
    }
    assert.equal(outer.closed, true);
  });
});

Deno.test("a second process sees writes through its own mapping", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/shared.bin`;
    await Deno.writeFile(path, new Uint8Array(4096));
    using h = openWriteSync(path);
    h.writeSync(new TextEncoder().encode("from parent"), 100);
    // No flush: both mappings share the page cache.
    const out = await runDeno(
      `import { openSync, openWriteSync } from ${JSON.stringify(MOD_URL)};
       const r = openSync(Deno.args[0]);
       const got = new TextDecoder().decode(r.view(100, 11));
       const w = openWriteSync(Deno.args[0]);
       w.writeSync(new TextEncoder().encode("from child"), 200);
       w.close();
       console.log(got);`,
      FULL_FLAGS,
      { args: [path] },
    );
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), "from parent");
    assert.equal(new TextDecoder().decode(h.view(200, 10)), "from child");
  });
});

Deno.test("without --allow-read, open() throws NotCapable before opening", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/secret.bin`;
    await Deno.writeFile(path, pattern(10));
    const lib = `${Deno.cwd()}/dist`;
    const out = await runDeno(
      `import { open, openSync } from ${JSON.stringify(MOD_URL)};
       for (const f of [() => open(Deno.args[0]), async () => openSync(Deno.args[0])]) {
         try { await f(); console.log("opened"); }
         catch (e) { console.log(e.constructor.name + ": " + e.message); }
       }`,
      ["--allow-ffi", "--unstable-ffi", `--allow-read=${lib}`],
      { args: [path] },
    );
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trim().split("\n");
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.match(
        line,
        /^NotCapable: .*requires read access to ".*secret\.bin"/,
      );
    }
  });
});

Deno.test("openWrite() without write permission throws NotCapable", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/ro_perm.bin`;
    await Deno.writeFile(path, pattern(10));
    const out = await runDeno(
      `import { openSync, openWrite } from ${JSON.stringify(MOD_URL)};
       const r = openSync(Deno.args[0]);
       console.log("read ok", r.len);
       try { await openWrite(Deno.args[0]); console.log("opened"); }
       catch (e) { console.log(e.constructor.name); }`,
      ["--allow-ffi", "--unstable-ffi", "--allow-read"],
      { args: [path] },
    );
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), "read ok 10\nNotCapable");
    assert.deepEqual(await Deno.readFile(path), pattern(10));
  });
});
