// The usage examples of the package's original README, as tests (64 MiB
// instead of 1 GiB, so the suite stays fast).

import assert from "node:assert/strict";
import {
  close,
  flush,
  open,
  openWrite,
  openWriteWithSize,
  read,
  write,
} from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";

const MiB = 1024 * 1024;

Deno.test("README example: read whole file into a JS buffer", async () => {
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

Deno.test("README example: create/resize and write, then flush", async () => {
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

Deno.test("README example: random access read at offset/len", async () => {
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

Deno.test("README API: openWrite maps an existing file read-write", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/rw.bin`;
    await Deno.writeFile(path, pattern(10_000));
    const h = await openWrite(path);
    assert.equal(h.len, 10_000);
    await write(h, new Uint8Array([9, 9, 9]), 5000);
    await close(h);
    const disk = await Deno.readFile(path);
    assert.deepEqual([...disk.subarray(4999, 5004)], [
      pattern(10_000)[4999],
      9,
      9,
      9,
      pattern(10_000)[5003],
    ]);
  });
});
