// The argument rules every call applies before native code runs
// (src/_args.ts): offsets, lengths, buffers, handles, paths.

import assert from "node:assert/strict";
import {
  flushSync,
  Mmap,
  open,
  openWriteSync,
  openWriteWithSizeSync,
  readSync,
  view,
  writeSync,
} from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";

Deno.test("every call rejects bad offsets, lengths, buffers, handles and paths with TypeError or RangeError", async () => {
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
