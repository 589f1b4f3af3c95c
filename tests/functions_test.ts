// The seed's free functions (read, write, flush, close, … and their …Sync
// twins), which delegate to the Mmap methods, used as the original README
// shows (64 MiB instead of 1 GiB, so the suite stays fast). Their edge cases
// are in mmap_test.ts with the methods'; lifetime_test.ts checks that every
// one of them, like its method, refuses a closed handle.

import assert from "node:assert/strict";
import { close, flush, open, openWriteWithSize, read, write } from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";

const MiB = 1024 * 1024;

Deno.test("read() copies a whole file into a JS buffer (README example)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/data.bin`;
    const data = pattern(3 * MiB + 123);
    await Deno.writeFile(path, data);

    const h = await open(path);
    const buf = new Uint8Array(h.len);
    assert.equal(await read(h, buf), data.length);
    await close(h);

    assert.deepEqual(buf, data);
  });
});

Deno.test("write() in chunks fills a file made by openWriteWithSize(), then flush() (README example)", async () => {
  await withTempDir(async (dir) => {
    const outPath = `${dir}/out.bin`;
    const SIZE = 64 * MiB;

    const hw = await openWriteWithSize(outPath, SIZE);
    assert.equal(hw.len, SIZE);
    const chunk = crypto.getRandomValues(new Uint8Array(65000));

    // The loop from the README: the last chunk would run past the end, so
    // it is clipped here (the README's 1 GiB is not a multiple of 65000
    // either, and an overrunning write throws RangeError).
    let written = 0;
    for (let off = 0n; off < BigInt(hw.len); off += BigInt(chunk.length)) {
      const room = hw.len - Number(off);
      const part = room < chunk.length ? chunk.subarray(0, room) : chunk;
      written += await write(hw, part, off);
    }
    assert.equal(written, SIZE);
    await flush(hw);
    await close(hw);

    const disk = await Deno.readFile(outPath);
    assert.equal(disk.length, SIZE);
    for (const off of [0, 65000, 13 * 65000, SIZE - (SIZE % 65000)]) {
      const n = Math.min(65000, SIZE - off);
      assert.deepEqual(disk.subarray(off, off + n), chunk.subarray(0, n));
    }
  });
});

Deno.test("read() at a bigint offset copies that window of a large file (README example)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.bin`;
    const offset = 128n * 1024n * 1024n; // 128 MiB
    const len = 64 * 1024; // 64 KiB
    const expected = pattern(len, 7);
    // A sparse 192 MiB file with known bytes at the offset.
    const f = await Deno.open(path, { write: true, create: true });
    await f.truncate(192 * MiB);
    await f.seek(Number(offset), Deno.SeekMode.Start);
    await f.write(expected);
    f.close();

    const file = await open(path);
    const window = new Uint8Array(len);
    await read(file, window, offset);
    await close(file);

    assert.deepEqual(window, expected);
  });
});
