// Mmap.viewAs: typed views over the mapped bytes, their alignment and range
// checks, and their detachment on close and resize (with typed arrays made
// by the standard constructors over view().buffer beside them).

import assert from "node:assert/strict";
import { openSync, openWriteWithSizeSync } from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";

Deno.test("viewAs() shows the file's bytes as each element type, in place", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/typed.bin`;
    const bytes = pattern(64);
    Deno.writeFileSync(path, bytes);
    using m = openSync(path);
    const types = [
      Int8Array,
      Uint8Array,
      Uint8ClampedArray,
      Int16Array,
      Uint16Array,
      Int32Array,
      Uint32Array,
      Float32Array,
      Float64Array,
      BigInt64Array,
      BigUint64Array,
      ...(typeof Float16Array === "function" ? [Float16Array] : []),
    ] as const;
    for (const Type of types) {
      const size = Type.BYTES_PER_ELEMENT;
      const view = m.viewAs(Type, 8, 4);
      assert.equal(view.constructor, Type);
      assert.equal(view.length, 4);
      const expected = new Type(bytes.slice(8, 8 + 4 * size).buffer);
      assert.deepEqual([...view], [...expected], Type.name);
      // To the end of the mapping by default.
      assert.equal(m.viewAs(Type).length, 64 / size);
    }
  });
});

Deno.test("viewAs() writes reach the file", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/write.bin`;
    {
      using m = openWriteWithSizeSync(path, 32);
      const floats = m.viewAs(Float32Array, 16, 2);
      floats[0] = 1.5;
      floats[1] = -3;
      m.viewAs(BigInt64Array, 0, 1)[0] = -2n;
      m.flushSync();
    }
    const back = Deno.readFileSync(path);
    assert.deepEqual([...new Float32Array(back.buffer, 16, 2)], [1.5, -3]);
    assert.equal(new BigInt64Array(back.buffer, 0, 1)[0], -2n);
  });
});

Deno.test("viewAs() refuses a misaligned offset, naming the type and the file", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/align.bin`;
    Deno.writeFileSync(path, pattern(64));
    using m = openSync(path);
    assert.throws(
      () => m.viewAs(Float32Array, 2, 1),
      (e: Error) =>
        e instanceof RangeError &&
        e.message.includes(`mmap viewAs "${path}"`) &&
        e.message.includes("not aligned for Float32Array"),
    );
    assert.throws(() => m.viewAs(BigInt64Array, 4, 1), RangeError);
    assert.throws(() => m.viewAs(Uint16Array, 63, 0), RangeError);
    // One-byte elements are always aligned.
    assert.equal(m.viewAs(Uint8Array, 63, 1)[0], 63);
  });
});

Deno.test("viewAs() judges alignment in memory: a window at file offset 2 starts 2 bytes past a boundary", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/window.bin`;
    const bytes = pattern(64);
    Deno.writeFileSync(path, bytes);
    using m = openSync(path, { offset: 2, length: 40 });
    assert.throws(() => m.viewAs(Float32Array, 0, 1), /not aligned/);
    const floats = m.viewAs(Float32Array, 2, 4);
    assert.deepEqual(
      [...floats],
      [...new Float32Array(bytes.slice(4, 20).buffer)],
    );
    assert.throws(() => m.viewAs(Float64Array, 2, 1), /not aligned/);
    assert.equal(m.viewAs(Float64Array, 6, 1).length, 1);
  });
});

Deno.test("viewAs() refuses ranges past the end and uneven remainders", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/range.bin`;
    Deno.writeFileSync(path, pattern(30));
    using m = openSync(path);
    assert.throws(() => m.viewAs(Float32Array, 0, 8), RangeError);
    assert.throws(() => m.viewAs(Float32Array, 32, 0), RangeError);
    assert.throws(() => m.viewAs(Float64Array, 24, 2 ** 53 - 1), RangeError);
    assert.throws(
      () => m.viewAs(Float32Array, 0),
      (e: Error) => e instanceof RangeError && /give a length/.test(e.message),
    );
    assert.equal(m.viewAs(Float32Array, 0, 7).length, 7);
    assert.equal(m.viewAs(Float32Array, 28, 0).length, 0);
    assert.throws(() => m.viewAs(Float32Array, -4, 1), RangeError);
    assert.throws(() => m.viewAs(Float32Array, 0.5, 1), RangeError);
    assert.throws(
      // @ts-expect-error: a string is not an offset
      () => m.viewAs(Float32Array, "4", 1),
      TypeError,
    );
  });
});

Deno.test("viewAs() takes only the built-in constructors", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/types.bin`;
    Deno.writeFileSync(path, pattern(16));
    using m = openSync(path);
    class Sub extends Float32Array {}
    const proxy = new Proxy(Float32Array, {});
    const fakes: unknown[] = [
      Sub,
      proxy,
      DataView,
      ArrayBuffer,
      Array,
      "Float32Array",
      { BYTES_PER_ELEMENT: 4 },
      undefined,
      null,
    ];
    for (const fake of fakes) {
      assert.throws(
        // @ts-expect-error: none of these is a typed array constructor
        () => m.viewAs(fake, 0, 1),
        (e: Error) =>
          e instanceof TypeError &&
          e.message.startsWith(`mmap viewAs "${path}": type must be one of`),
      );
    }
  });
});

Deno.test("viewAs() views and standard typed arrays over view().buffer are emptied on close and resize", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/detach.bin`;
    const m = openWriteWithSizeSync(path, 4096);
    const typed = m.viewAs(Float64Array, 8, 4);
    const standard = new Float32Array(m.view().buffer, 16, 8);
    typed[0] = 2.5;
    assert.equal(standard.length, 8);
    m.resizeSync(8192);
    assert.equal(typed.length, 0);
    assert.equal(standard.length, 0);
    assert.equal(typed[0], undefined);
    const again = m.viewAs(Float64Array, 8, 4);
    const standardAgain = new Uint32Array(m.view().buffer);
    assert.equal(again[0], 2.5);
    m.close();
    assert.equal(again.length, 0);
    assert.equal(again.byteLength, 0);
    assert.equal(standardAgain.length, 0);
    assert.throws(
      () => m.viewAs(Float64Array, 0, 1),
      Deno.errors.BadResource,
    );
  });
});

Deno.test("viewAs() of an empty mapping or zero elements is an empty array of the type", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/empty.bin`;
    Deno.writeFileSync(path, new Uint8Array(0));
    using m = openSync(path);
    const view = m.viewAs(Float32Array);
    assert.ok(view instanceof Float32Array);
    assert.equal(view.length, 0);
  });
});
