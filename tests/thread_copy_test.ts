// Async reads and writes of 64 MiB and more run on a worker thread.

import assert from "node:assert/strict";
import { openSync, read, write } from "@riaskov/mmap";
import { pattern, withTempDir } from "./_helpers.ts";

const BIG = 64 * 1024 * 1024 + 4097;

Deno.test("read() of 64 MiB or more copies the bytes (on a thread)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.bin`;
    const data = pattern(BIG, 3);
    Deno.writeFileSync(path, data);
    using m = openSync(path);
    const dst = new Uint8Array(BIG - 5);
    assert.equal(await read(m, dst, 5), BIG - 5);
    assert.deepEqual(dst, data.subarray(5));
  });
});

Deno.test("write() of 64 MiB or more writes the bytes (on a thread)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.bin`;
    Deno.writeFileSync(path, new Uint8Array(BIG + 1));
    const data = pattern(BIG, 9);
    {
      using m = openSync(path, { write: true });
      assert.equal(await write(m, data, 1), BIG);
      m.flushSync();
    }
    const back = Deno.readFileSync(path);
    assert.equal(back[0], 0);
    assert.deepEqual(back.subarray(1), data);
  });
});

Deno.test("a thread copy checks its arguments first", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.bin`;
    Deno.writeFileSync(path, new Uint8Array(BIG));
    using m = openSync(path);
    await assert.rejects(read(m, new Uint8Array(BIG), 1), RangeError);
    await assert.rejects(write(m, new Uint8Array(BIG)), TypeError);
  });
});

Deno.test("close() during a thread copy either waits for it or fails it cleanly", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.bin`;
    const data = pattern(BIG, 1);
    Deno.writeFileSync(path, data);
    for (let i = 0; i < 3; i++) {
      const m = openSync(path);
      const dst = new Uint8Array(BIG);
      const pending = m.read(dst);
      m.close();
      try {
        assert.equal(await pending, BIG);
        assert.deepEqual(dst, data);
      } catch (error) {
        assert.ok(error instanceof Deno.errors.BadResource, String(error));
      }
    }
  });
});

Deno.test("a view of another mapping as the buffer is copied in place", async () => {
  await withTempDir(async (dir) => {
    const data = pattern(BIG, 5);
    Deno.writeFileSync(`${dir}/a.bin`, data);
    Deno.writeFileSync(`${dir}/b.bin`, new Uint8Array(BIG));
    const a = openSync(`${dir}/a.bin`);
    const b = openSync(`${dir}/b.bin`, { write: true });
    const pending = a.read(b.view());
    // Closing the destination's mapping at once must not unmap memory that
    // a thread is still writing: the copy was done before read() returned.
    b.close();
    assert.equal(await pending, BIG);
    a.close();
    assert.deepEqual(Deno.readFileSync(`${dir}/b.bin`), data);
  });
});

Deno.test("read() and write() of 64 MiB or more into a growable SharedArrayBuffer behave like readSync()", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.bin`;
    const data = pattern(BIG, 5);
    Deno.writeFileSync(path, data);
    using m = openSync(path, { write: true });
    const shared = new SharedArrayBuffer(BIG, { maxByteLength: 2 * BIG });
    const dst = new Uint8Array(shared);
    // Before, the thread path refused a growable buffer with a TypeError.
    assert.equal(await read(m, dst, 0), BIG);
    assert.deepEqual(dst, data);
    dst.fill(7);
    assert.equal(await write(m, dst, 0), BIG);
    assert.equal(m.view(BIG - 1, 1)[0], 7);
  });
});
