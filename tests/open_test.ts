// open(), openWrite(), openWriteWithSize() and their …Sync twins: what
// they map (whole files, windows, new and grown files, copy-on-write,
// prefaulted) and the options they refuse.

import assert from "node:assert/strict";
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  close,
  flush,
  Mmap,
  open,
  openSync,
  openWrite,
  openWriteWithSize,
  openWriteWithSizeSync,
  readSync,
  residency,
  view,
  write,
} from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";
import { fill, NO_FULL_DISK, withSmallDisk } from "./_full_disk.ts";
import { FULL_FLAGS, MOD_URL, runDeno } from "./_subprocess.ts";

const PAGE = 4096;

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

Deno.test("open() maps a zero-length file with length 0", async () => {
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

Deno.test("open() with private: true never lets writes reach the file", async () => {
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

Deno.test("open() with populate: true prefaults the mapping", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/populate.bin`;
    await Deno.writeFile(path, pattern(16 * PAGE));
    using m = openSync(path, { populate: true });
    assert.equal(residency(m), 16 * PAGE);
    using w = openSync(path, { write: true, populate: true });
    assert.equal(w.residency(), 16 * PAGE);
  });
});

/** The error's class name and, for an MmapError, its code. */
function failure(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    const code = (e as { code?: number }).code;
    return (e as Error).name + (code === undefined ? "" : `:${code}`);
  }
}

Deno.test({
  name:
    "open() refuses a FIFO, a socket and a character device with NotSupported, without blocking",
  ignore: Deno.build.os === "windows",
  async fn() {
    // In a child with a time limit: before the rule, opening a FIFO with no
    // writer blocked the event loop forever.
    const out = await runDeno(
      `
import * as mmap from ${JSON.stringify(MOD_URL)};
const dir = Deno.makeTempDirSync();
const fifo = dir + "/fifo";
const made = new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
if (!made.success) throw new Error("mkfifo failed");
const socket = dir + "/socket";
const listener = Deno.listen({ transport: "unix", path: socket });
function attempt(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    return (e as Error).name + ": " + (e as Error).message;
  }
}
const r = {
  fifo: attempt(() => mmap.openSync(fifo)),
  fifoWrite: attempt(() => mmap.openSync(fifo, { write: true })),
  fifoAsync: await mmap.open(fifo).then(() => "ok", (e) => e.name),
  socket: attempt(() => mmap.openSync(socket)),
  device: attempt(() => mmap.openSync("/dev/null")),
};
listener.close();
Deno.removeSync(dir, { recursive: true });
console.log(JSON.stringify(r));
`,
      [...FULL_FLAGS, "--allow-run", "--allow-env", "--allow-net"],
      { wrap: ["timeout", "90"] },
    );
    assert.equal(out.code, 0, `code ${out.code}\n${out.stdout}\n${out.stderr}`);
    const r = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    assert.match(r.fifo, /^NotSupported: .*only regular files .*FIFO/);
    assert.match(r.fifoWrite, /^NotSupported: .*FIFO/);
    assert.equal(r.fifoAsync, "NotSupported");
    assert.match(r.socket, /^NotSupported: .*socket/);
    assert.match(r.device, /^NotSupported: .*character device/);
  },
});

Deno.test({
  name:
    "a map that fails after growing the file gives the file its old length back",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // Under an address-space limit, mapping 512 GiB fails (ENOMEM) after the
    // file was grown to that size: it must be 10 bytes again.
    const out = await runDeno(
      `
import * as mmap from ${JSON.stringify(MOD_URL)};
const libc = Deno.dlopen("libc.so.6", {
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
});
const RLIMIT_AS = 9;
const vm = Number(/VmSize:\\s+(\\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))![1]) * 1024;
const dir = Deno.makeTempDirSync();
const path = dir + "/ten.bin";
Deno.writeFileSync(path, new Uint8Array(10).fill(3));
mmap.openAnonymousSync(4096).close(); // load the library before the limit
const limit = BigInt(vm + 64 * 2 ** 30);
libc.symbols.setrlimit(RLIMIT_AS, new Uint8Array(new BigUint64Array([limit, limit]).buffer));
// qemu-user ignores RLIMIT_AS: see whether a mapping past it still works.
const probe = dir + "/probe.bin";
const sparse = Deno.openSync(probe, { write: true, create: true });
sparse.truncateSync(256 * 2 ** 30);
sparse.close();
let limited = false;
try {
  mmap.openSync(probe).close();
} catch {
  limited = true;
}
let error = "ok";
if (limited) {
  try {
    mmap.openSync(path, { write: true, size: 512 * 2 ** 30 });
  } catch (e) {
    error = (e as Error).name;
  }
}
const size = Deno.statSync(path).size;
const bytes = Array.from(Deno.readFileSync(path));
Deno.removeSync(dir, { recursive: true });
console.log(JSON.stringify({ limited, error, size, bytes }));
`,
      ["--allow-all", "--unstable-ffi"],
    );
    assert.equal(out.code, 0, `code ${out.code}\n${out.stdout}\n${out.stderr}`);
    const r = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    if (!r.limited) {
      console.warn("skipped: the address-space limit has no effect here");
      return;
    }
    assert.deepEqual(r, {
      limited: true,
      error: "MmapError",
      size: 10,
      bytes: new Array(10).fill(3),
    });
  },
});

Deno.test({
  name:
    "preallocate: a full disk fails the open with ENOSPC and leaves the file as it was",
  ignore: NO_FULL_DISK !== undefined,
  async fn() {
    await withSmallDisk((dir) => {
      Deno.writeFileSync(`${dir}/ten.bin`, new Uint8Array(10).fill(1));
      fill(dir);
      const created = `${dir}/new.bin`;
      assert.equal(
        failure(() =>
          openWriteWithSizeSync(created, 4 << 20, { preallocate: true })
        ),
        "MmapError:28",
      );
      assert.throws(() => Deno.statSync(created), Deno.errors.NotFound);
      assert.equal(
        failure(() =>
          openSync(`${dir}/ten.bin`, {
            write: true,
            size: 4 << 20,
            preallocate: true,
          })
        ),
        "MmapError:28",
      );
      assert.deepEqual(
        Array.from(Deno.readFileSync(`${dir}/ten.bin`)),
        new Array(10).fill(1),
      );
      // Without it the open succeeds: the file grows sparse.
      const sparse = openSync(`${dir}/ten.bin`, { write: true, size: 4 << 20 });
      sparse.close();
    });
  },
});

Deno.test({
  name: "preallocate: the blocks are allocated at open; it needs write",
  ignore: Deno.build.os === "windows",
  async fn() {
    await withTempDir(async (dir) => {
      const size = 1 << 20;
      const sparse = openWriteWithSizeSync(`${dir}/sparse.bin`, size);
      sparse.close();
      const dense = await openWriteWithSize(`${dir}/dense.bin`, size, {
        preallocate: true,
      });
      assert.equal(dense.len, size);
      dense.close();
      const blocks = (name: string) =>
        (Deno.statSync(`${dir}/${name}`).blocks ?? 0) * 512;
      assert.equal(blocks("sparse.bin"), 0);
      assert.ok(blocks("dense.bin") >= size, `${blocks("dense.bin")} bytes`);
      const m = openSync(`${dir}/sparse.bin`, {
        write: true,
        preallocate: true,
      });
      m.close();
      assert.ok(blocks("sparse.bin") >= size, "holes are filled");
      assert.throws(
        () => openSync(`${dir}/sparse.bin`, { preallocate: true }),
        TypeError,
      );
      assert.throws(
        () =>
          openWriteWithSizeSync(`${dir}/x.bin`, 1, {
            preallocate: 1 as unknown as boolean,
          }),
        TypeError,
      );
    });
  },
});

Deno.test("a { length } window over the whole file resizes like a whole-file mapping", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/w.bin`;
    Deno.writeFileSync(path, pattern(5000));
    const m = openSync(path, { write: true, offset: 0, length: 5000 });
    m.resizeSync(3 * PAGE);
    assert.equal(m.len, 3 * PAGE);
    m.view()[3 * PAGE - 1] = 9;
    m.close();
    const data = Deno.readFileSync(path);
    assert.equal(data.length, 3 * PAGE);
    assert.deepEqual(data.subarray(0, 5000), pattern(5000));
    assert.equal(data[3 * PAGE - 1], 9);
    // A window shorter than the file still refuses.
    const part = openSync(path, { write: true, length: PAGE });
    assert.throws(() => part.resizeSync(2 * PAGE), TypeError);
    part.close();
  });
});
