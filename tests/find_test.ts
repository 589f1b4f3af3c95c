// indexOf / lastIndexOf (src/find.ts, ffi/src/find.rs): against a model
// (Uint8Array.prototype.indexOf / lastIndexOf for one byte, a plain loop for
// patterns), fuzzed with fast-check over files, windows, patterns and
// `from`; hostile patterns; closed handles; truncated files (in a child).
import fc from "fast-check";
import assert from "node:assert/strict";
import { indexOf, lastIndexOf, openSync } from "../mod.ts";
import { withTempDir } from "./_helpers.ts";
import { FULL_FLAGS, MOD_URL, runDeno } from "./_subprocess.ts";

const LONG = Deno.env.get("MMAP_LONG_TESTS") === "1";
const SEED_VAR = Deno.env.get("MMAP_FUZZ_SEED");
const SEED = SEED_VAR !== undefined ? Number(SEED_VAR) : 20261201;
const RUNS = LONG ? 3000 : 200;

/** `from` as Uint8Array.prototype.indexOf reads it (ToIntegerOrInfinity). */
function integer(from: number | bigint | undefined, fallback: number): number {
  if (from === undefined) return fallback;
  const n = Number(from);
  // `+ 0` turns -0 into 0, as positions are.
  return Number.isNaN(n) ? 0 : Math.trunc(n) + 0;
}

/** The model: a plain loop over the bytes. */
function modelIndexOf(
  text: Uint8Array,
  pattern: Uint8Array,
  from?: number | bigint,
): number {
  const len = text.length;
  let k = integer(from, 0);
  k = k < 0 ? Math.max(len + k, 0) : Math.min(k, len);
  if (pattern.length === 0) return k;
  outer: for (let i = k; i + pattern.length <= len; i++) {
    for (let j = 0; j < pattern.length; j++) {
      if (text[i + j] !== pattern[j]) continue outer;
    }
    return i;
  }
  return -1;
}

function modelLastIndexOf(
  text: Uint8Array,
  pattern: Uint8Array,
  from?: number | bigint,
): number {
  const len = text.length;
  let k = integer(from, len);
  k = k < 0 ? len + k : Math.min(k, len);
  if (k < 0) return -1;
  if (pattern.length === 0) return k;
  outer: for (let i = Math.min(k, len - pattern.length); i >= 0; i--) {
    for (let j = 0; j < pattern.length; j++) {
      if (text[i + j] !== pattern[j]) continue outer;
    }
    return i;
  }
  return -1;
}

Deno.test("the model agrees with Uint8Array.prototype.indexOf for one byte", () => {
  const text = new Uint8Array([1, 2, 3, 2, 1]);
  for (
    const from of [
      undefined,
      -10,
      -2,
      -0.5,
      0,
      0.9,
      1,
      3,
      4,
      5,
      9,
      NaN,
      Infinity,
      -Infinity,
    ]
  ) {
    for (const byte of [1, 2, 3, 7]) {
      const one = new Uint8Array([byte]);
      assert.equal(
        modelIndexOf(text, one, from),
        text.indexOf(byte, from),
        `indexOf(${byte}, ${from})`,
      );
      const expected = from === undefined
        ? text.lastIndexOf(byte)
        : text.lastIndexOf(byte, from);
      assert.equal(
        modelLastIndexOf(text, one, from),
        expected,
        `lastIndexOf(${byte}, ${from})`,
      );
    }
  }
});

Deno.test("indexOf() and lastIndexOf() agree with the model (fuzzed: files, windows, patterns, from)", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/data.bin`;
    const alphabet = fc.constantFrom([0x61, 0x62], [0, 0xff, 0x80], [
      0x61,
      0x62,
      0x63,
      0x0a,
    ]);
    const scenario = alphabet.chain((letters) => {
      const byte = fc.constantFrom(...letters);
      return fc.record({
        file: fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((b) =>
            b.map((x) => letters[x % letters.length])
          ),
          fc.array(byte, { maxLength: 9000 }).map((b) => new Uint8Array(b)),
        ),
        pattern: fc.array(byte, { maxLength: 12 }).map((b) =>
          new Uint8Array(b)
        ),
        window: fc.option(
          fc.record({
            offset: fc.nat(9000),
            length: fc.option(fc.nat(9000), { nil: undefined }),
          }),
          { nil: undefined },
        ),
        from: fc.option(
          fc.oneof(
            fc.integer({ min: -9100, max: 9100 }),
            fc.constantFrom(NaN, Infinity, -Infinity, -0, 0.5, -0.5),
            fc.bigInt({ min: -10000n, max: 10000n }),
          ),
          { nil: undefined },
        ),
        fromText: fc.boolean(),
      });
    });
    fc.assert(
      fc.property(scenario, ({ file, pattern, window, from, fromText }) => {
        Deno.writeFileSync(path, file);
        let offset = 0;
        let length: number | undefined;
        if (window !== undefined) {
          offset = Math.min(window.offset, file.length);
          length = window.length === undefined
            ? undefined
            : Math.min(window.length, file.length - offset);
        }
        using m = openSync(path, { offset, length });
        const text = file.subarray(
          offset,
          length === undefined ? undefined : offset + length,
        );
        assert.equal(m.len, text.length);
        // A pattern taken from the text makes a match likely.
        let needle = pattern;
        if (fromText && text.length > 0) {
          const at = pattern.length % text.length;
          needle = text.slice(at, at + pattern.length);
        }
        assert.equal(
          m.indexOf(needle, from),
          modelIndexOf(text, needle, from),
          "indexOf",
        );
        assert.equal(
          lastIndexOf(m, needle, from),
          modelLastIndexOf(text, needle, from),
          "lastIndexOf",
        );
        if (needle.length === 1) {
          assert.equal(
            indexOf(m, needle[0], from),
            text.indexOf(
              needle[0],
              from === undefined ? undefined : Number(from),
            ),
          );
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

Deno.test("indexOf() over a large file finds bytes past every SIMD block boundary", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/big.bin`;
    const size = 1 << 20;
    Deno.writeFileSync(path, new Uint8Array(size));
    using w = openSync(path, { write: true });
    for (
      const at of [
        0,
        15,
        16,
        63,
        64,
        65,
        4095,
        4096,
        size - 65,
        size - 17,
        size - 1,
      ]
    ) {
      w.writeSync(
        new Uint8Array([7, 8, 9]).subarray(0, Math.min(3, size - at)),
        at,
      );
      assert.equal(w.indexOf(7), at, `byte at ${at}`);
      assert.equal(w.lastIndexOf(7), at, `byte at ${at}`);
      if (at + 3 <= size) {
        assert.equal(w.indexOf(new Uint8Array([7, 8, 9])), at);
        assert.equal(w.lastIndexOf(new Uint8Array([7, 8, 9])), at);
      }
      assert.equal(w.indexOf(7, at + 1), -1);
      // (At 0, from -1 means the last byte: the spec's negative from.)
      if (at > 0) assert.equal(w.lastIndexOf(7, at - 1), -1);
      w.writeSync(new Uint8Array(Math.min(3, size - at)), at);
    }
  });
});

Deno.test("indexOf() of a hostile pattern (a…ab in a…a) takes linear time", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/a.bin`;
    Deno.writeFileSync(path, new Uint8Array(1 << 22).fill(0x61));
    using m = openSync(path);
    const needle = new Uint8Array(1 << 14).fill(0x61);
    needle[needle.length - 1] = 0x62;
    const start = performance.now();
    assert.equal(m.indexOf(needle), -1);
    assert.equal(m.lastIndexOf(needle.reverse()), -1);
    // Quadratic would be 2^36 comparisons (a minute or more); linear is ms.
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 5000, `${elapsed} ms`);
  });
});

Deno.test("indexOf() refuses hostile patterns and `from` values with TypeError or RangeError", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/h.bin`;
    Deno.writeTextFileSync(path, "hello world");
    using m = openSync(path);
    const real = new TextEncoder().encode("world");
    // A Proxy or a look-alike is not a Uint8Array.
    assert.throws(
      () => m.indexOf(new Proxy(real, {}) as Uint8Array),
      TypeError,
    );
    assert.throws(
      () => m.indexOf({ length: 1, 0: 0x68 } as unknown as Uint8Array),
      TypeError,
    );
    assert.throws(
      () => m.indexOf(new Uint16Array([0x68]) as unknown as Uint8Array),
      TypeError,
    );
    assert.throws(() => m.indexOf(null as unknown as Uint8Array), TypeError);
    // A shadowed length cannot make the native side read more.
    const shadowed = new TextEncoder().encode("wor");
    Object.defineProperty(shadowed, "length", { value: 1 << 30 });
    assert.equal(m.indexOf(shadowed), 6);
    // Detached.
    const detached = new Uint8Array(4);
    detached.buffer.transfer();
    assert.throws(() => m.indexOf(detached), /detached/);
    // Shared, resizable and growable buffers are searched by their real bytes.
    const shared = new Uint8Array(new SharedArrayBuffer(5));
    shared.set(real);
    assert.equal(m.indexOf(shared), 6);
    const resizable = new ArrayBuffer(3, { maxByteLength: 16 });
    const tracking = new Uint8Array(resizable);
    tracking.set([0x6f, 0x20, 0x77]); // "o w"
    assert.equal(m.indexOf(tracking), 4);
    resizable.resize(1);
    assert.equal(m.lastIndexOf(tracking), 7);
    const growable = new SharedArrayBuffer(1, { maxByteLength: 8 });
    const growing = new Uint8Array(growable);
    growing[0] = 0x6c;
    growable.grow(2);
    growing[1] = 0x64;
    assert.equal(m.indexOf(growing), 9);
    // A view of the mapping itself.
    assert.equal(m.indexOf(m.view(6, 5)), 6);
    // Bytes and `from`.
    assert.throws(() => m.indexOf(256), RangeError);
    assert.throws(() => m.indexOf(-1), RangeError);
    assert.throws(() => m.indexOf(1.5), RangeError);
    assert.throws(() => m.indexOf(real, "1" as unknown as number), TypeError);
    assert.throws(
      () => m.indexOf(real, { valueOf: () => 1 } as unknown as number),
      TypeError,
    );
    // Strings are their UTF-8 bytes; a replaced TextEncoder changes nothing.
    const encode = TextEncoder.prototype.encode;
    TextEncoder.prototype.encode = () => new Uint8Array([0x68]);
    try {
      assert.equal(m.indexOf("world"), 6);
    } finally {
      TextEncoder.prototype.encode = encode;
    }
    assert.equal(m.indexOf(""), 0);
    assert.equal(m.lastIndexOf(""), 11);
    assert.equal(m.indexOf("", 99), 11);
  });
});

Deno.test("indexOf() on a closed handle throws BadResource; an empty mapping finds nothing", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/c.bin`;
    Deno.writeTextFileSync(path, "abc");
    const m = openSync(path);
    m.close();
    assert.throws(() => m.indexOf(0x61), Deno.errors.BadResource);
    assert.throws(() => lastIndexOf(m, "a"), Deno.errors.BadResource);
    assert.throws(() => indexOf({} as never, "a"), TypeError);
    Deno.writeFileSync(path, new Uint8Array(0));
    using empty = openSync(path);
    assert.equal(empty.indexOf(0), -1);
    assert.equal(empty.lastIndexOf(0), -1);
    assert.equal(empty.indexOf(""), 0);
  });
});

Deno.test({
  name:
    "indexOf() over pages lost to a truncation throws UnexpectedEof (in a child)",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const out = await runDeno(
      `import { openSync } from ${JSON.stringify(MOD_URL)};
const path = Deno.makeTempFileSync();
Deno.writeFileSync(path, new Uint8Array(8 * 4096).fill(1));
const m = openSync(path);
Deno.truncateSync(path, 4096);
const result = {};
try { m.indexOf(0x02); result.whole = "found"; } catch (e) { result.whole = e.name; }
try { m.indexOf(0x01); result.head = "found"; } catch (e) { result.head = e.name; }
result.headOnly = m.lastIndexOf(0x01, 10);
try { m.lastIndexOf(0x01); result.last = "found"; } catch (e) { result.last = e.name; }
m.close();
Deno.removeSync(path);
console.log(JSON.stringify(result));`,
      FULL_FLAGS,
    );
    assert.equal(out.code, 0, out.stderr);
    const result = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual(result, {
      whole: "UnexpectedEof",
      head: "UnexpectedEof",
      headOnly: 10,
      last: "UnexpectedEof",
    });
  },
});
