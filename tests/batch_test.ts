// Batch copies (src/batch.ts, ffi/src/batch.rs): gather and scatter against
// a byte-for-byte model, all or nothing on bad input, hostile arguments,
// every kind of mapping, truncated files and closes racing a batch on a
// worker thread (those in child processes, so a crash fails the test).

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  gather,
  gatherRanges,
  gatherRangesSync,
  gatherSync,
  MAX_PLAIN_RECORDS,
  openAnonymousSync,
  openShared,
  openSync,
  scatter,
  scatterRanges,
  scatterRangesSync,
  scatterSync,
  THREAD_BATCH_RECORDS,
  unlinkSharedSync,
} from "@riaskov/mmap";
import { pattern, withTempDir } from "./_helpers.ts";
import {
  FULL_FLAGS,
  lastJson,
  MOD_URL,
  REPORT,
  runDeno,
} from "./_subprocess.ts";

type Kind = "f64" | "u32" | "u64" | "plain";

/** `values` as the column kind `kind`. */
function column(values: number[], kind: Kind) {
  switch (kind) {
    case "f64":
      return new Float64Array(values);
    case "u32":
      return new Uint32Array(values);
    case "u64":
      return new BigUint64Array(values.map(BigInt));
    case "plain":
      return values;
  }
}

/** What a gather of `records` from `file` gives, or undefined when it fails. */
function modelGather(
  file: Uint8Array,
  records: [number, number][],
  dstLength: number,
): Uint8Array | undefined {
  const out: number[] = [];
  for (const [offset, length] of records) {
    if (offset + length > file.length) return undefined;
    out.push(...file.subarray(offset, offset + length));
  }
  return out.length <= dstLength ? Uint8Array.from(out) : undefined;
}

/** The file after a scatter of `src` to `records`, or undefined on failure. */
function modelScatter(
  file: Uint8Array,
  records: [number, number][],
  src: Uint8Array,
): Uint8Array | undefined {
  const next = file.slice();
  let at = 0;
  for (const [offset, length] of records) {
    if (offset + length > file.length) return undefined;
  }
  if (records.reduce((s, [, l]) => s + l, 0) > src.length) return undefined;
  for (const [offset, length] of records) {
    next.set(src.subarray(at, at + length), offset);
    at += length;
  }
  return next;
}

const kinds = fc.constantFrom<Kind>("f64", "u32", "u64", "plain");

Deno.test("gatherSync() and gatherRangesSync() agree with a byte model (fuzzed)", async () => {
  await withTempDir((dir) => {
    const size = 3 * 4096 + 17;
    const file = pattern(size, 11);
    const path = `${dir}/data.bin`;
    Deno.writeFileSync(path, file);
    using h = openSync(path);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: size + 8 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 40 }),
        fc.integer({ min: 0, max: 300 }),
        kinds,
        kinds,
        fc.integer({ min: -64, max: 64 }),
        (offsets, lens, fixed, offsetKind, lengthKind, slack) => {
          // Fixed length.
          const fixedRecords = offsets.map((o): [number, number] => [o, fixed]);
          const need = offsets.length * fixed;
          const dst = new Uint8Array(Math.max(0, need + slack)).fill(0xee);
          const want = modelGather(file, fixedRecords, dst.length);
          const before = dst.slice();
          if (want === undefined) {
            assert.throws(
              () => gatherSync(h, column(offsets, offsetKind), fixed, dst),
              RangeError,
            );
            assert.deepEqual(dst, before, "a failed gather copies nothing");
          } else {
            assert.equal(
              gatherSync(h, column(offsets, offsetKind), fixed, dst),
              offsets.length,
            );
            assert.deepEqual(dst.subarray(0, want.length), want);
            assert.ok(dst.subarray(want.length).every((b) => b === 0xee));
          }
          // A length per record.
          const n = Math.min(offsets.length, lens.length);
          const records = offsets.slice(0, n).map((o, i): [number, number] => [
            o,
            lens[i],
          ]);
          const total = records.reduce((s, [, l]) => s + l, 0);
          const out = new Uint8Array(Math.max(0, total + slack)).fill(0xdd);
          const expected = modelGather(file, records, out.length);
          const args = [
            column(offsets.slice(0, n), offsetKind),
            column(lens.slice(0, n), lengthKind),
          ] as const;
          if (expected === undefined) {
            assert.throws(() => gatherRangesSync(h, ...args, out), RangeError);
            assert.ok(out.every((b) => b === 0xdd));
          } else {
            assert.equal(gatherRangesSync(h, ...args, out), n);
            assert.deepEqual(out.subarray(0, expected.length), expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

Deno.test("scatterSync() and scatterRangesSync() agree with a byte model (fuzzed)", async () => {
  await withTempDir((dir) => {
    const size = 2 * 4096 + 5;
    const path = `${dir}/data.bin`;
    let model = pattern(size, 3);
    Deno.writeFileSync(path, model);
    using h = openSync(path, { write: true });
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: size + 4 }),
            fc.integer({ min: 0, max: 200 }),
          ),
          { maxLength: 30 },
        ),
        fc.integer({ min: 0, max: 200 }),
        kinds,
        fc.boolean(),
        fc.integer({ min: -32, max: 32 }),
        fc.integer({ min: 0, max: 255 }),
        (records, fixed, kind, ranges, slack, seed) => {
          const used = ranges
            ? records
            : records.map(([o]): [number, number] => [o, fixed]);
          const total = used.reduce((s, [, l]) => s + l, 0);
          const src = pattern(Math.max(0, total + slack), seed);
          const next = modelScatter(model, used, src);
          const offsets = column(used.map(([o]) => o), kind);
          const run = () =>
            ranges
              ? scatterRangesSync(
                h,
                offsets,
                column(used.map(([, l]) => l), kind),
                src,
              )
              : scatterSync(h, offsets, fixed, src);
          if (next === undefined) {
            assert.throws(run, RangeError);
          } else {
            assert.equal(run(), used.length);
            model = next;
          }
          // What the mapping holds is the model, written or not.
          assert.deepEqual(h.view(), model);
        },
      ),
      { numRuns: 300 },
    );
    h.flushSync();
    assert.deepEqual(Deno.readFileSync(path), model);
  });
});

Deno.test("gatherSync() names the first bad offset and copies nothing", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/data.bin`;
    Deno.writeFileSync(path, pattern(1000));
    using h = openSync(path, { write: true });
    const dst = new Uint8Array(64).fill(9);
    const cases: [unknown, RegExp][] = [
      [new Float64Array([0, NaN, -1]), /offsets\[1\]/],
      [new Float64Array([0, 10, -1]), /offsets\[2\]/],
      [new Float64Array([0.5]), /offsets\[0\]/],
      [new Float64Array([0, 2 ** 53]), /offsets\[1\]/],
      [new Float64Array([0, 1, 2, 990]), /record 3: range 990\.\.1006/],
      [new BigUint64Array([0n, 2n ** 53n]), /offsets\[1\].*9007199254740992n/],
      [new BigUint64Array([2n ** 64n - 1n]), /offsets\[0\]/],
      [new Uint32Array([0, 0xffffffff]), /record 1/],
      [[0, -1], /offsets\[1\]/],
      [[0, 1.5], /offsets\[1\]/],
      [[0, 2n ** 60n], /offsets\[1\]/],
    ];
    for (const [offsets, message] of cases) {
      assert.throws(
        () => gatherSync(h, offsets as Float64Array, 16, dst),
        (e: Error) => e instanceof RangeError && message.test(e.message),
        String(offsets),
      );
      assert.throws(
        () => scatterSync(h, offsets as Float64Array, 16, dst),
        (e: Error) => e instanceof RangeError && message.test(e.message),
      );
    }
    assert.ok(dst.every((b) => b === 9));
    assert.deepEqual(h.view(), pattern(1000), "no scatter wrote a byte");
    // dst too small, lengths of the wrong count, bad lengths.
    assert.throws(
      () => gatherSync(h, [0, 0, 0, 0, 0], 16, dst),
      /dst holds 64 bytes but 5 records of 16 bytes need 80/,
    );
    assert.throws(
      () => gatherRangesSync(h, [0, 1], [1], dst),
      /as many elements: received 2 and 1/,
    );
    assert.throws(
      () => gatherRangesSync(h, [0, 1], new Float64Array([1, -2]), dst),
      /lengths\[1\]/,
    );
    assert.throws(
      () => gatherRangesSync(h, [0, 1], new Uint32Array([40, 40]), dst),
      /dst holds 64 bytes but the records need 80/,
    );
    assert.ok(dst.every((b) => b === 9));
    // Wrong types.
    assert.throws(
      () => gatherSync(h, new Int32Array(1) as never, 1, dst),
      TypeError,
    );
    assert.throws(() => gatherSync(h, "0" as never, 1, dst), TypeError);
    assert.throws(() => gatherSync(h, ["0"] as never, 1, dst), TypeError);
    assert.throws(
      () => gatherSync(h, [0], 1, new Uint16Array(4) as never),
      TypeError,
    );
    assert.throws(() => gatherSync(h, [0], -1, dst), RangeError);
    assert.throws(() => gatherSync({} as never, [0], 1, dst), TypeError);
  });
});

Deno.test("length 0, empty batches and duplicates", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/data.bin`;
    Deno.writeFileSync(path, pattern(100));
    using h = openSync(path, { write: true });
    const empty = new Uint8Array(0);
    assert.equal(gatherSync(h, [100, 0, 50], 0, empty), 3);
    assert.throws(() => gatherSync(h, [101], 0, empty), RangeError);
    assert.equal(gatherSync(h, new Float64Array(0), 8, empty), 0);
    assert.equal(scatterSync(h, new Uint32Array(0), 8, empty), 0);
    // Two records to the same place: the later one wins.
    scatterSync(h, [5, 5], 2, new Uint8Array([1, 2, 3, 4]));
    assert.deepEqual(h.view(5, 2), new Uint8Array([3, 4]));
  });
});

Deno.test("hostile columns: Proxies, shadowed lengths, detached, resizable and shared buffers", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/data.bin`;
    const file = pattern(4096, 1);
    Deno.writeFileSync(path, file);
    using h = openSync(path);
    const dst = new Uint8Array(32);
    // A subclass whose length lies: the real length (2) is used.
    class Liar extends Float64Array {
      override get length(): number {
        return 1_000_000;
      }
    }
    assert.equal(gatherSync(h, new Liar([1, 2]), 4, dst), 2);
    const shadowed = new Float64Array([3]);
    Object.defineProperty(shadowed, "length", { value: 99 });
    assert.equal(gatherSync(h, shadowed, 4, dst), 1);
    // A Proxy of a typed array is not one.
    assert.throws(
      () => gatherSync(h, new Proxy(new Float64Array(1), {}) as never, 4, dst),
      TypeError,
    );
    // A Proxy of a plain array is read element by element, once.
    let reads = 0;
    const proxy = new Proxy([8, 16], {
      get(target, key, receiver) {
        if (key !== "length") reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    assert.equal(gatherSync(h, proxy, 4, dst), 2);
    assert.equal(reads, 2);
    assert.deepEqual(dst.subarray(4, 8), file.subarray(16, 20));
    // A huge claimed length is refused before anything is allocated.
    const huge = new Proxy([], {
      get: (t, k) => (k === "length" ? 2 ** 32 - 1 : Reflect.get(t, k)),
    });
    assert.throws(
      () => gatherSync(h, huge, 0, dst),
      new RegExp(`at most ${MAX_PLAIN_RECORDS}`),
    );
    // A getter that closes the handle half-way: the native call refuses it.
    const m = openSync(path);
    const closing = [0, 1];
    Object.defineProperty(closing, 1, { get: () => (m.close(), 1) });
    assert.throws(
      () => gatherSync(m, closing, 4, dst),
      Deno.errors.BadResource,
    );
    // Detached offsets and a detached dst.
    const offsets = new Float64Array([0]);
    offsets.buffer.transfer();
    assert.throws(() => gatherSync(h, offsets, 4, dst), /detached/);
    const gone = new Uint8Array(8);
    gone.buffer.transfer();
    assert.throws(() => gatherSync(h, [0], 4, gone), RangeError);
    // Resizable and shared buffers, for columns and dst alike.
    const resizable = new ArrayBuffer(16, { maxByteLength: 64 });
    const tracking = new Float64Array(resizable);
    tracking.set([7, 9]);
    resizable.resize(8); // now one element
    const shared = new Uint8Array(new SharedArrayBuffer(8));
    assert.equal(gatherSync(h, tracking, 8, shared), 1);
    assert.deepEqual(shared, file.subarray(7, 15));
    // Offsets in the very memory the records land in: record 0 (16 bytes)
    // overwrites offsets[1] with file bytes (a tiny fraction as a double)
    // before it is used. Refused when met, never copied outside.
    const memory = new ArrayBuffer(128);
    const overlapping = new Float64Array(memory, 0, 4);
    overlapping.set([0, 8, 16, 24]);
    assert.throws(
      () => gatherSync(h, overlapping, 16, new Uint8Array(memory)),
      (e: Error) =>
        e instanceof TypeError &&
        /record 1 changed during the call/.test(e.message),
    );
    const sharedOffsets = new Uint32Array(new SharedArrayBuffer(8));
    sharedOffsets.set([100, 200]);
    assert.equal(gatherSync(h, sharedOffsets, 4, dst), 2);
    assert.deepEqual(dst.subarray(4, 8), file.subarray(200, 204));
  });
});

Deno.test("dst may be a view of the same mapping (records copied in order)", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/data.bin`;
    const file = pattern(256, 2);
    Deno.writeFileSync(path, file);
    using h = openSync(path, { write: true });
    const model = file.slice();
    const offsets = [10, 0, 100];
    const dst = h.view(4, 48);
    gatherSync(h, offsets, 16, dst);
    // In order, each record read after the ones before it were written.
    offsets.forEach((o, i) => model.copyWithin(4 + i * 16, o, o + 16));
    assert.deepEqual(h.view(), model);
    scatterSync(h, [0, 200], 24, h.view(100, 48));
    model.copyWithin(0, 100, 124);
    model.copyWithin(200, 124, 148);
    assert.deepEqual(h.view(), model);
  });
});

Deno.test("closed and read-only handles", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/data.bin`;
    Deno.writeFileSync(path, pattern(64));
    const h = openSync(path);
    const src = new Uint8Array(8);
    // The same error as writeSync(), for the scatter's own call.
    assert.throws(
      () => h.writeSync(src, 0),
      /mapping is read-only: open it with openWrite\(\)/,
    );
    assert.throws(
      () => scatterSync(h, [0], 8, src),
      (e: Error) =>
        e instanceof TypeError &&
        /mmap scatter ".*": the mapping is read-only: open it with openWrite\(\)/
          .test(e.message),
    );
    await assert.rejects(scatter(h, [0], 8, src), TypeError);
    await assert.rejects(scatterRanges(h, [0], [8], src), TypeError);
    h.close();
    for (
      const call of [
        () => gatherSync(h, [0], 1, src),
        () => gatherRangesSync(h, [0], [1], src),
        () => scatterSync(h, [0], 1, src),
      ]
    ) {
      assert.throws(call, Deno.errors.BadResource);
    }
    await assert.rejects(gather(h, [0], 1, src), Deno.errors.BadResource);
    await assert.rejects(
      gatherRanges(h, [0], [1], src),
      Deno.errors.BadResource,
    );
  });
});

Deno.test("copy-on-write, anonymous and shared memory mappings", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/data.bin`;
    const file = pattern(8192, 4);
    Deno.writeFileSync(path, file);
    {
      using cow = openSync(path, { private: true });
      assert.equal(
        scatterSync(cow, [0, 4096], 4, new Uint8Array(8).fill(1)),
        2,
      );
      const back = new Uint8Array(8);
      cow.gatherSync([0, 4096], 4, back);
      assert.deepEqual(back, new Uint8Array(8).fill(1));
    }
    assert.deepEqual(
      Deno.readFileSync(path),
      file,
      "private writes stay private",
    );
    using anon = openAnonymousSync(1 << 20);
    anon.scatterSync(
      new Uint32Array([0, 500_000]),
      3,
      new Uint8Array([1, 2, 3, 4, 5, 6]),
    );
    const got = new Uint8Array(6);
    anon.gatherSync(new BigUint64Array([500_000n, 0n]), 3, got);
    assert.deepEqual(got, new Uint8Array([4, 5, 6, 1, 2, 3]));
    const name = `mmap_batch_${Deno.pid}`;
    try {
      await using a = await openShared(name, { create: true, size: 4096 });
      await using b = await openShared(name);
      await a.scatter([4000], 4, new Uint8Array([9, 8, 7, 6]));
      const out = new Uint8Array(4);
      assert.equal(await b.gather([4000], 4, out), 1);
      assert.deepEqual(out, new Uint8Array([9, 8, 7, 6]));
    } finally {
      unlinkSharedSync(name);
    }
  });
});

Deno.test("large async batches run on a thread and give the bytes of the sync form", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/data.bin`;
    const size = 1 << 20;
    const file = pattern(size, 6);
    Deno.writeFileSync(path, file);
    using h = openSync(path, { write: true });
    const count = THREAD_BATCH_RECORDS + 3;
    const offsets = new Float64Array(count);
    for (let i = 0; i < count; i++) offsets[i] = (i * 7919) % (size - 16);
    const threaded = new Uint8Array(count * 16);
    const here = new Uint8Array(count * 16);
    assert.equal(await h.gather(offsets, 16, threaded), count);
    assert.equal(h.gatherSync(offsets, 16, here), count);
    assert.deepEqual(threaded, here);
    const lengths = new Uint32Array(count).fill(16);
    assert.equal(
      await gatherRanges(h, offsets, lengths, threaded.fill(0)),
      count,
    );
    assert.deepEqual(threaded, here);
    // A bad record among them: the promise rejects with the same error.
    offsets[count - 1] = size;
    await assert.rejects(h.gather(offsets, 16, threaded), /record 65538/);
    // Scatter on the thread: write the gathered records back shifted.
    const targets = new Float64Array(count).map((_, i) => (i % 1000) * 16);
    assert.equal(await h.scatter(targets, 16, here), count);
    const model = file.slice();
    for (let i = 0; i < count; i++) {
      model.set(here.subarray(i * 16, i * 16 + 16), targets[i]);
    }
    assert.deepEqual(h.view(), model);
  });
});

const FLAGS = [...FULL_FLAGS, "--allow-run", "--allow-env"];

Deno.test({
  name: "a truncated file fails gatherSync() with UnexpectedEof, never a crash",
  ignore: Deno.build.os === "windows", // Windows refuses to truncate a mapped file.
  async fn() {
    const out = await runDeno(
      `
import * as mmap from ${JSON.stringify(MOD_URL)};
${REPORT}
const PAGE = 4096;
const dir = Deno.makeTempDirSync();
const path = dir + "/data.bin";
Deno.writeFileSync(path, new Uint8Array(16 * PAGE).fill(65));
const m = mmap.openSync(path, { write: true });
Deno.truncateSync(path, 4 * PAGE);
const dst = new Uint8Array(64).fill(1);
const r = {};
try { mmap.gatherSync(m, [0, 10 * PAGE], 32, dst); r.gather = "ok"; } catch (e) { r.gather = e.name; }
try { mmap.scatterSync(m, [12 * PAGE], 32, dst); r.scatter = "ok"; } catch (e) { r.scatter = e.name; }
try { mmap.gatherSync(m, [0, PAGE], 32, dst); r.before = "ok:" + dst[0]; } catch (e) { r.before = e.name; }
r.alive = true;
m.close();
Deno.removeSync(dir, { recursive: true });
report(r);
`,
      FLAGS,
    );
    const r = lastJson(out);
    assert.deepEqual(r, {
      gather: "UnexpectedEof",
      scatter: "UnexpectedEof",
      // The mapping is marked truncated: every later copy that reaches the
      // lost tail fails; records before the cut still read.
      before: "ok:65",
      alive: true,
    });
  },
});

Deno.test("close() and resize() racing async gathers, from this thread and from a Worker with a forged id, never crash", async () => {
  const out = await runDeno(
    `
import * as mmap from ${JSON.stringify(MOD_URL)};
${REPORT}
const dir = Deno.makeTempDirSync();
const path = dir + "/data.bin";
const SIZE = 8 << 20;
const data = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i += 4096) data[i] = (i / 4096) & 255;
Deno.writeFileSync(path, data);
const COUNT = mmap.THREAD_BATCH_RECORDS * 4;
const offsets = new Float64Array(COUNT);
for (let i = 0; i < COUNT; i++) offsets[i] = ((i * 2654435761) % (SIZE / 4096)) * 4096;
const worker = new Worker(
  "data:application/typescript," + encodeURIComponent(\`
    import { librarySync } from ${
      JSON.stringify(new URL("../src/ffi.ts", import.meta.url).href)
    };
    const symbols = librarySync();
    self.onmessage = () => {
      // Ids this worker never received, guessed (slot + generation): among
      // them the main thread's mapping, whatever its id.
      const out = new BigUint64Array(2);
      for (let gen = 1; gen < 64; gen++) {
        for (let slot = 0; slot < 64; slot++) {
          const id = (gen << 14) | slot;
          symbols.mmap_resize(id, 4096, out);
          symbols.mmap_close(id);
        }
      }
      self.postMessage("done");
    };
  \`),
  { type: "module" },
);
const outcomes = {};
const note = (what) => (outcomes[what] = (outcomes[what] ?? 0) + 1);
for (let round = 0; round < 24; round++) {
  // A resize of the last round truncated the file: write it again.
  Deno.writeFileSync(path, data);
  const m = mmap.openSync(path, { write: true });
  const dst = new Uint8Array(COUNT * 64);
  const pending = m.gather(offsets, 64, dst).then(
    (n) => {
      // Finished before the close or resize: every record is right.
      for (let i = 0; i < COUNT; i += 997) {
        if (dst[i * 64] !== data[offsets[i]]) throw new Error("wrong bytes at " + i);
      }
      return "ok";
    },
    (e) => e.name,
  );
  const how = round % 3;
  // From before the thread starts to well inside its copy.
  await new Promise((r) => setTimeout(r, round % 8));
  if (how === 0) m.close();
  else if (how === 1) { try { m.resizeSync(4096); } catch (e) { note("resize:" + e.name); } }
  else {
    const done = new Promise((r) => (worker.onmessage = r));
    worker.postMessage("go");
    await done;
  }
  note(await pending);
  m.close();
}
worker.terminate();
Deno.removeSync(dir, { recursive: true });
report({ alive: true, outcomes });
`,
    [...FLAGS, "--unstable-ffi"],
  );
  const r = lastJson<{ alive: boolean; outcomes: Record<string, number> }>(out);
  assert.equal(r.alive, true);
  const total = Object.values(r.outcomes)
    .filter((_, i) => !Object.keys(r.outcomes)[i].startsWith("resize:"))
    .reduce((a, b) => a + b, 0);
  assert.equal(total, 24, JSON.stringify(r.outcomes));
  for (const key of Object.keys(r.outcomes)) {
    assert.match(key, /^(ok|BadResource|RangeError|resize:\w+)$/, key);
  }
});
