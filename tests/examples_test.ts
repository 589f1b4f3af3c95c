// The programs in examples/ run and say what they should.

import assert from "node:assert/strict";
import fc from "fast-check";
import { fileURLToPath } from "node:url";
import { FULL_FLAGS, runDenoArgs, spawnDeno } from "./_subprocess.ts";
import { LookupTable, valueOf, writeTable } from "../examples/lookup_table.ts";
import {
  isPayloadOf,
  LogFollower,
  LogWriter,
  payloadOf,
} from "../examples/append_log.ts";
import {
  DIM,
  EmbeddingTable,
  valueAt as embeddingValue,
  writeTable as writeEmbeddings,
} from "../examples/embedding_gather.ts";
import { withTempDir } from "./_helpers.ts";
import {
  DTYPES,
  openSafeTensors,
  type SafeTensors,
  type TensorData,
  writeSafeTensors,
} from "../examples/safetensors.ts";

Deno.test("examples/demo.ts runs and reports its timings", async () => {
  const root = new URL("..", import.meta.url);
  const { code, stdout: out, stderr } = await runDenoArgs([
    "run",
    "--quiet",
    "--allow-ffi",
    "--unstable-ffi",
    "--allow-read",
    "--allow-write",
    "examples/demo.ts",
    "4",
  ], { cwd: root });
  assert.equal(code, 0, stderr);
  assert.match(out, /^wrote 4 MiB through a mapping in [\d.]+ ms$/m);
  assert.match(out, /readSync \(mapping\) +\d+ ns\/read/);
  assert.match(out, /readSync is [\d.]+x faster than seek\+read/);
});

Deno.test("examples/follow.ts: readers in other processes follow what the writer appends", async () => {
  const root = new URL("..", import.meta.url);
  const { code, stdout: out, stderr } = await runDenoArgs([
    "run",
    "--quiet",
    "--allow-ffi",
    "--unstable-ffi",
    "--allow-read",
    "--allow-write",
    "--allow-run",
    "examples/follow.ts",
    "3",
    "4",
  ], { cwd: root });
  assert.equal(code, 0, stderr);
  assert.match(out, /^3 readers followed 4 records$/m);
  const lines = out.split("\n").filter((l) => l.startsWith("reader "));
  const byReader = Map.groupBy(lines, (l) => l.split(":")[0]);
  assert.equal(byReader.size, 3);
  for (const got of byReader.values()) {
    assert.deepEqual(got.map((l) => l.split(": ")[1]), [
      "record 1",
      "record 2",
      "record 3",
      "record 4",
      "end",
    ]);
  }
});

// examples/safetensors.ts: a model file read in place, and hostile headers.

const root = new URL("..", import.meta.url);
/** The package's deno.json, for scripts that import the examples. */
const CONFIG = fileURLToPath(new URL("deno.json", root));
const EXAMPLE_FLAGS = [
  "run",
  "--quiet",
  "--allow-ffi",
  "--unstable-ffi",
  "--allow-read",
  "--allow-write",
];

Deno.test("examples/safetensors.ts reads its model's tensors as typed views", async () => {
  const { code, stdout: out, stderr } = await runDenoArgs(
    [...EXAMPLE_FLAGS, "examples/safetensors.ts"],
    { cwd: root },
  );
  assert.equal(code, 0, stderr);
  const f16 = typeof Float16Array === "function"
    ? "Float16Array"
    : "Uint16Array";
  assert.match(
    out,
    /^embed\.weight: F32 \[256,64\] Float32Array\(16384\) sum 2097024$/m,
  );
  assert.match(
    out,
    new RegExp(
      `^embed\\.bias: F16 \\[64\\] ${f16}\\(64\\) sum ${
        f16 === "Float16Array" ? 32 : 64 * 0x3800
      }$`,
      "m",
    ),
  );
  assert.match(out, /^step: I64 \[1\] BigInt64Array\(1\) sum 1234$/m);
  assert.match(out, /^mask: BOOL \[3\] Uint8Array\(3\) sum 2$/m);
  assert.match(out, /^metadata: \{"format":"pt"\}$/m);
});

/** A small model of every width, written by the format's rules. */
function sampleModel(): Record<string, TensorData> {
  return {
    a: {
      dtype: "F32",
      shape: [3, 5],
      data: new Float32Array(15).map((_, i) => i - 7.5),
    },
    b: { dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 3]) },
    c: { dtype: "I64", shape: [2], data: new BigInt64Array([-5n, 2n ** 62n]) },
    d: { dtype: "BF16", shape: [2, 2], data: new Uint16Array([1, 2, 3, 4]) },
    e: { dtype: "F64", shape: [], data: new Float64Array([Math.PI]) },
    f: { dtype: "I16", shape: [0, 4], data: new Int16Array(0) },
  };
}

Deno.test("safetensors: every tensor reads back as written, in place", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/model.safetensors`;
    const model = sampleModel();
    writeSafeTensors(path, model, { note: "test" });
    using file = openSafeTensors(path);
    assert.deepEqual(file.metadata, { note: "test" });
    assert.deepEqual(file.names(), Object.keys(model));
    for (const [name, t] of Object.entries(model)) {
      const view = file.tensor(name);
      assert.equal(view.constructor, DTYPES[t.dtype], name);
      assert.deepEqual(
        [...view],
        [...(t.data as unknown as Iterable<unknown>)],
        name,
      );
      assert.deepEqual(file.tensors.get(name)!.shape, t.shape);
    }
    const a = file.tensor("a");
    file.close();
    assert.equal(a.length, 0, "views are emptied with the mapping");
  });
});

/** A parsed header, to edit. */
type Header = Record<string, Record<string, unknown>>;

/** Rewrites a file's header (the JSON object) and keeps its data. */
function withHeader(
  bytes: Uint8Array,
  edit: (h: Header) => unknown,
): Uint8Array {
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  // Padded with spaces to a multiple of 8, as the format's writers do, so
  // the data keeps its alignment.
  const text = JSON.stringify(edit(header) ?? header);
  const json = new TextEncoder().encode(
    text.padEnd(Math.ceil(text.length / 8) * 8, " "),
  );
  const out = new Uint8Array(8 + json.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + n), 8 + json.length);
  return out;
}

Deno.test("safetensors: a misaligned tensor or a header that lies is an error naming the tensor and the file", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/bad.safetensors`;
    writeSafeTensors(path, sampleModel());
    const good = Deno.readFileSync(path);
    const cases: [
      string,
      (h: Header) => unknown,
      ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor,
      RegExp,
    ][] = [
      [
        "misaligned",
        (h) => {
          h.a.data_offsets = [2, 62];
        },
        RangeError,
        /tensor "a": F32 data at file offset \d+ is not aligned to 4 bytes/,
      ],
      [
        "past the end",
        (h) => {
          h.c.data_offsets = [1 << 20, (1 << 20) + 16];
        },
        RangeError,
        /tensor "c": data_offsets \d+\.\.\d+ reach past/,
      ],
      [
        "shape lies",
        (h) => {
          h.a.shape = [4, 5];
        },
        RangeError,
        /tensor "a": shape \[4,5\] of F32 is 80 bytes/,
      ],
      [
        "huge shape",
        (h) => {
          h.a.shape = [2 ** 40, 2 ** 40];
        },
        RangeError,
        /tensor "a": shape/,
      ],
      [
        "negative",
        (h) => {
          h.b.data_offsets = [-8, 0];
        },
        TypeError,
        /tensor "b": data_offsets must be whole numbers/,
      ],
      [
        "reversed",
        (h) => {
          h.b.data_offsets = [64, 61];
        },
        TypeError,
        /tensor "b"/,
      ],
      [
        "dtype",
        (h) => {
          h.d.dtype = "Q4";
        },
        TypeError,
        /tensor "d": unknown dtype "Q4"/,
      ],
      [
        "dtype proto",
        (h) => {
          h.d.dtype = "__proto__";
        },
        TypeError,
        /tensor "d": unknown dtype/,
      ],
      [
        "not object",
        (h) => {
          (h as Record<string, unknown>).e = 7;
        },
        TypeError,
        /tensor "e": not an object/,
      ],
      [
        "array header",
        () => [1, 2],
        TypeError,
        /the header is not a JSON object/,
      ],
      [
        "metadata",
        (h) => {
          h.__metadata__ = { x: 1 };
        },
        TypeError,
        /__metadata__ values must be strings/,
      ],
    ];
    for (const [what, edit, type, message] of cases) {
      Deno.writeFileSync(path, withHeader(good, edit));
      assert.throws(() => openSafeTensors(path), (e: Error) => {
        assert.ok(e instanceof type, `${what}: ${e}`);
        assert.match(e.message, message, what);
        assert.ok(e.message.includes(`safetensors "${path}"`), what);
        return true;
      });
    }
    // A length that claims more than the file, and a header that is not JSON.
    const lying = good.slice();
    new DataView(lying.buffer).setBigUint64(0, 2n ** 63n, true);
    Deno.writeFileSync(path, lying);
    assert.throws(() => openSafeTensors(path), RangeError);
    const garbled = good.slice();
    garbled[9] = 0xff;
    Deno.writeFileSync(path, garbled);
    assert.throws(() => openSafeTensors(path), /the header is not JSON/);
    Deno.writeFileSync(path, good.subarray(0, 5));
    assert.throws(() => openSafeTensors(path), /too short/);
  });
});

Deno.test("safetensors: fuzzed headers open with in-range views or fail with TypeError/RangeError", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/fuzz.safetensors`;
    writeSafeTensors(path, sampleModel());
    const good = Deno.readFileSync(path);
    const names = Object.keys(sampleModel());
    const anyNumber = fc.oneof(
      fc.integer({ min: -10, max: 300 }),
      fc.constantFrom(2 ** 53, 2 ** 64, -0, 0.5, NaN, Infinity),
      fc.constant("8"),
      fc.constant(null),
    );
    const edit = fc.oneof(
      fc.record({
        tensor: fc.constantFrom(...names),
        field: fc.constant("data_offsets"),
        value: fc.oneof(fc.array(anyNumber, { maxLength: 3 }), anyNumber),
      }),
      fc.record({
        tensor: fc.constantFrom(...names),
        field: fc.constant("shape"),
        value: fc.oneof(fc.array(anyNumber, { maxLength: 4 }), anyNumber),
      }),
      fc.record({
        tensor: fc.constantFrom(...names),
        field: fc.constant("dtype"),
        value: fc.constantFrom(
          "F32",
          "F64",
          "U8",
          "I64",
          "BF16",
          "F16",
          "BOOL",
          "x",
          3,
          null,
        ),
      }),
    );
    const mutation = fc.oneof(
      fc.record({ edits: fc.array(edit, { minLength: 1, maxLength: 4 }) }),
      fc.record({
        bytes: fc.array(
          fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })),
          { minLength: 1, maxLength: 6 },
        ),
      }),
      fc.record({ cut: fc.nat(good.length) }),
      // A tensor that takes another's place (overlapping views are valid).
      fc.record({
        copy: fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names)),
      }),
    );
    let opened = 0;
    let refused = 0;
    await fc.assert(
      fc.property(mutation, (m) => {
        let bytes: Uint8Array;
        if ("edits" in m) {
          bytes = withHeader(good, (h) => {
            for (const e of m.edits) h[e.tensor][e.field] = e.value;
          });
        } else if ("copy" in m) {
          bytes = withHeader(good, (h) => {
            h[m.copy[0]] = { ...h[m.copy[1]] };
          });
        } else if ("bytes" in m) {
          bytes = good.slice();
          for (const [at, value] of m.bytes) bytes[at] = value;
        } else {
          bytes = good.subarray(0, m.cut);
        }
        Deno.writeFileSync(path, bytes);
        let file: SafeTensors;
        try {
          file = openSafeTensors(path);
        } catch (e) {
          assert.ok(
            e instanceof TypeError || e instanceof RangeError,
            String(e),
          );
          assert.ok(
            (e as Error).message.includes(`safetensors "${path}"`),
            String(e),
          );
          refused++;
          return;
        }
        using _ = file;
        opened++;
        // Every view lies inside the file and shows the file's own bytes.
        for (const name of file.names()) {
          const info = file.tensors.get(name)!;
          const view = file.tensor(name);
          assert.ok(info.begin >= 8 && info.end <= bytes.length);
          assert.equal(view.byteLength, info.end - info.begin);
          assert.deepEqual(
            new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
            bytes.subarray(info.begin, info.end),
          );
        }
      }),
      { numRuns: 400 },
    );
    // Both outcomes were reached: the fuzz tests the checks and the views.
    assert.ok(
      opened > 20 && refused > 20,
      `${opened} opened, ${refused} refused`,
    );
  });
});

// examples/lookup_table.ts: a sorted table searched in place, replaced by
// rename() while readers in other processes run.

Deno.test("examples/lookup_table.ts finds every key it wrote", async () => {
  const { code, stdout: out, stderr } = await runDenoArgs(
    [...EXAMPLE_FLAGS, "examples/lookup_table.ts", "5000"],
    { cwd: root },
  );
  assert.equal(code, 0, stderr);
  const [, found, missing] = out.match(
    /^5000 records, (\d+) found, (\d+) missing$/m,
  )!;
  assert.equal(Number(found) + Number(missing), 100_000);
  assert.ok(Number(found) > 40_000 && Number(missing) > 40_000, out);
  assert.match(out, /^last key: 9999$/m);
});

Deno.test("lookup table: get() finds each key and misses the others", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/table.bin`;
    writeTable(path, 1000, 7);
    {
      using table = new LookupTable(path);
      assert.equal(table.count, 1000);
      for (let key = 0n; key <= 2001n; key++) {
        const expected = key % 2n === 1n && key < 2000n
          ? valueOf(key, 7)
          : undefined;
        assert.equal(table.get(key), expected, `key ${key}`);
      }
      assert.equal(table.get(2n ** 64n - 1n), undefined);
    }
    Deno.writeFileSync(path, new Uint8Array(16));
    assert.throws(() => new LookupTable(path), /not a lookup table/);
  });
});

/**
 * A reader in its own process: looks keys up in the table it mapped until
 * `swapped` exists, then checks every record of the same mapping (still
 * the old file, all of one generation, each value its key's), then opens
 * the table again and reports the generation it sees.
 */
const LOOKUP_READER = `
import { LookupTable, valueOf } from ${
  JSON.stringify(new URL("../examples/lookup_table.ts", import.meta.url).href)
};
const [path, swapped] = Deno.args;
const table = new LookupTable(path);
const generation = Number(table.record(0)[1] & 0xffffn);
let lookups = 0;
let bad = 0;
let after = 0;
const check = () => {
  const key = BigInt(2 * Math.floor(Math.random() * table.count) + 1);
  if (table.get(key) !== valueOf(key, generation)) bad++;
  lookups++;
};
for (let i = 0; i < 1000; i++) check();
console.log("ready");
let seen = false;
while (!seen || after < 20_000) {
  for (let i = 0; i < 500; i++) check();
  if (seen) after += 500;
  else {
    try { Deno.statSync(swapped); seen = true; } catch { /* not yet */ }
  }
}
let mixed = 0;
for (let i = 0; i < table.count; i++) {
  const [key, value] = table.record(i);
  if (key !== BigInt(2 * i + 1) || value !== valueOf(key, generation)) mixed++;
}
table.close();
using again = new LookupTable(path);
const reopened = Number(again.record(0)[1] & 0xffffn);
let reopenedBad = 0;
for (let i = 0; i < again.count; i++) {
  const [key, value] = again.record(i);
  if (value !== valueOf(key, reopened)) reopenedBad++;
}
console.log(JSON.stringify({ generation, lookups, after, bad, mixed, reopened, reopenedBad }));
`;

Deno.test("lookup table: readers in 4 processes keep the old file through a rename() and see the new one on reopen (Windows refuses the rename)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/table.bin`;
    const swapped = `${dir}/swapped`;
    const count = 1 << 16; // 1 MiB
    writeTable(path, count, 1);
    const readers = Array.from(
      { length: 4 },
      () =>
        spawnDeno(LOOKUP_READER, [...FULL_FLAGS, "--config", CONFIG], {
          args: [path, swapped],
        }),
    );
    // One reader of each child's output for its whole life.
    const outputs = readers.map((child) => {
      const text = child.stdout.pipeThrough(new TextDecoderStream());
      return { reader: text.getReader(), seen: "" };
    });
    const readUntil = async (
      output: (typeof outputs)[number],
      done: (seen: string) => boolean,
    ) => {
      while (!done(output.seen)) {
        const { value, done: ended } = await output.reader.read();
        if (ended) return;
        output.seen += value;
      }
    };
    try {
      await Promise.all(
        outputs.map((o) => readUntil(o, (seen) => seen.includes("ready\n"))),
      );
      // The new table is written beside the live one while they read, then
      // renamed over it.
      writeTable(`${path}.new`, count, 2);
      let refused: unknown = undefined;
      try {
        Deno.renameSync(`${path}.new`, path);
      } catch (e) {
        refused = e;
      }
      // Windows refuses to replace a file that is mapped (seen under wine:
      // PermissionDenied); the readers then go on with the one file.
      const windows = Deno.build.os === "windows";
      if (windows) assert.ok(refused instanceof Deno.errors.PermissionDenied);
      else if (refused !== undefined) throw refused;
      Deno.writeFileSync(swapped, new Uint8Array(0));
      for (let i = 0; i < readers.length; i++) {
        await readUntil(outputs[i], () => false);
        const { code } = await readers[i].status;
        const stderr = await new Response(readers[i].stderr).text();
        assert.equal(code, 0, stderr);
        const result = JSON.parse(outputs[i].seen.trim().split("\n").at(-1)!);
        assert.deepEqual(
          { ...result, lookups: 0, after: 0 },
          {
            generation: 1,
            lookups: 0,
            after: 0,
            bad: 0,
            mixed: 0,
            reopened: windows ? 1 : 2,
            reopenedBad: 0,
          },
        );
        assert.ok(result.after >= 20_000);
      }
    } finally {
      for (const child of readers) {
        try {
          child.kill("SIGKILL");
        } catch { /* already ended */ }
      }
    }
  });
});

// examples/append_log.ts: a writer in one process, followers in others,
// and a writer killed mid-stream.

const LOG_URL = JSON.stringify(
  new URL("../examples/append_log.ts", import.meta.url).href,
);

Deno.test("examples/append_log.ts appends and follows its records", async () => {
  const { code, stdout: out, stderr } = await runDenoArgs(
    [...EXAMPLE_FLAGS, "examples/append_log.ts", "3000"],
    { cwd: root },
  );
  assert.equal(code, 0, stderr);
  assert.match(out, /^3000 records appended and followed in \d+ ms$/m);
  assert.match(out, /^follower saw 3000 records, 0 wrong$/m);
});

/** A follower in its own process: reads `count` records, checks each. */
const LOG_FOLLOWER = `
import { isPayloadOf, LogFollower } from ${LOG_URL};
const [path, count] = [Deno.args[0], Number(Deno.args[1])];
using follower = new LogFollower(path);
console.log("ready");
let seen = 0, wrong = 0, batches = 0;
while (seen < count) {
  const records = await follower.next(20_000);
  if (records.length === 0) break;
  batches++;
  for (const r of records) {
    if (r.number !== seen || !isPayloadOf(seen, r.payload)) wrong++;
    seen++;
  }
}
console.log(JSON.stringify({ seen, wrong, batches }));
`;

/** Reads a child's stdout until `line` is seen; returns what was read. */
async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  done: (seen: string) => boolean,
  seen = "",
): Promise<string> {
  while (!done(seen)) {
    const { value, done: ended } = await reader.read();
    if (ended) return seen;
    seen += value;
  }
  return seen;
}

Deno.test("append log: followers in 2 processes read every record as it lands, across growth and remaps", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/log.bin`;
    const count = 4000; // about 8 MiB in 64 KiB chunks: many growths
    using writer = LogWriter.create(path, { chunk: 64 << 10, commitEvery: 50 });
    const followers = [0, 1].map(() =>
      spawnDeno(LOG_FOLLOWER, [...FULL_FLAGS, "--config", CONFIG], {
        args: [path, String(count)],
      })
    );
    const readers = followers.map((f) =>
      f.stdout.pipeThrough(new TextDecoderStream()).getReader()
    );
    const seen = await Promise.all(
      readers.map((r) => readUntil(r, (s) => s.includes("ready\n"))),
    );
    for (let n = 0; n < count; n++) {
      writer.append(payloadOf(n));
      // Now and then let the followers catch up mid-stream.
      if (n % 500 === 499) await new Promise((r) => setTimeout(r, 5));
    }
    writer.commit();
    for (let i = 0; i < followers.length; i++) {
      const out = await readUntil(readers[i], () => false, seen[i]);
      const { code } = await followers[i].status;
      const stderr = await new Response(followers[i].stderr).text();
      assert.equal(code, 0, stderr);
      const result = JSON.parse(out.trim().split("\n").at(-1)!);
      assert.equal(result.seen, count);
      assert.equal(result.wrong, 0);
      // Woken by commits, not handed the log in one read at the end.
      assert.ok(result.batches > 1, JSON.stringify(result));
    }
    assert.ok(Deno.statSync(path).size > 64 << 10);
  });
});

/** A writer in its own process, printing each commit's record count. */
const LOG_WRITER = `
import { LogWriter, payloadOf } from ${LOG_URL};
const writer = LogWriter.create(Deno.args[0], { chunk: 64 << 10, commitEvery: 25 });
for (let n = 0; ; n++) {
  writer.append(payloadOf(n));
  if (writer.records % 25 === 0) console.log(writer.records);
}
`;

Deno.test(
  "append log: a writer killed with SIGKILL mid-stream leaves every committed record readable",
  {
    ignore: Deno.build.os === "windows",
  },
  async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/log.bin`;
      const child = spawnDeno(LOG_WRITER, [...FULL_FLAGS, "--config", CONFIG], {
        args: [path],
      });
      const reader = child.stdout.pipeThrough(new TextDecoderStream())
        .getReader();
      // Kill it once it has committed a few thousand records (and grown).
      const out = await readUntil(reader, (s) => {
        const lines = s.trim().split("\n");
        return Number(lines.at(-2) ?? 0) >= 3000;
      });
      child.kill("SIGKILL");
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL");
      await reader.cancel();
      const lines = out.trim().split("\n");
      const printed = Number(lines.at(-2));
      using follower = new LogFollower(path);
      const records = follower.poll();
      // Every commit it announced is there, each record whole and in order.
      assert.ok(records.length >= printed, `${records.length} < ${printed}`);
      assert.equal(records.length % 25, 0);
      records.forEach((r, n) => {
        assert.equal(r.number, n);
        assert.ok(isPayloadOf(n, r.payload), `record ${n}`);
      });
      // And the log takes appends again from its committed end. A commit
      // killed after its flush and before its header store is whole in the
      // file: open takes it, and nothing of a commit cut shorter.
      follower.close();
      using writer = LogWriter.open(path);
      assert.ok(
        writer.recovered === 0 || writer.recovered === 25,
        `recovered ${writer.recovered}`,
      );
      const next = records.length + writer.recovered;
      writer.append(payloadOf(next), next);
      writer.commit();
      using again = new LogFollower(path);
      const all = again.poll();
      assert.equal(all.length, next + 1);
      all.forEach((r, n) => {
        assert.equal(r.number, n);
        assert.ok(isPayloadOf(n, r.payload), `record ${n}`);
      });
    });
  },
);

/** Bytes `[at, at + length)` of a file, read with Deno.FsFile. */
function fileBytes(path: string, at: number, length: number): Uint8Array {
  using file = Deno.openSync(path);
  file.seekSync(at, Deno.SeekMode.Start);
  const bytes = new Uint8Array(length);
  for (let done = 0; done < length;) {
    const n = file.readSync(bytes.subarray(done));
    if (n === null) throw new Error(`${path} ends before ${at + length}`);
    done += n;
  }
  return bytes;
}

/** Writes `bytes` at `at` of a file with Deno.FsFile. */
function patchFile(path: string, at: number, bytes: Uint8Array): void {
  using file = Deno.openSync(path, { write: true });
  file.seekSync(at, Deno.SeekMode.Start);
  for (let done = 0; done < bytes.length;) {
    done += file.writeSync(bytes.subarray(done));
  }
}

/** The log's header fields that a commit stores: end and chain (8..24). */
const TAIL = [8, 16] as const;

Deno.test("append log: open() catches up a header left behind its records (as after a power loss), up to a torn record", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/log.bin`;
    const writer = LogWriter.create(path, { chunk: 64 << 10, commitEvery: 10 });
    for (let n = 0; n < 10; n++) writer.append(payloadOf(n));
    // The header as it is after the first commit: what the disk holds if
    // the later header stores never reached it (a commit flushes only its
    // records).
    const behind = fileBytes(path, ...TAIL);
    for (let n = 10; n < 30; n++) writer.append(payloadOf(n));
    writer.close();
    const whole = fileBytes(path, ...TAIL);
    const end = Number(new DataView(whole.buffer).getBigUint64(0, true));

    patchFile(path, TAIL[0], behind);
    {
      using behindFollower = new LogFollower(path);
      assert.equal(behindFollower.poll().length, 10);
    }
    const caughtUp = LogWriter.open(path);
    assert.equal(caughtUp.recovered, 20);
    caughtUp.close();
    // The header it wrote is the one the writer had stored.
    assert.deepEqual(fileBytes(path, ...TAIL), whole);
    const follower = new LogFollower(path);
    const records = follower.poll();
    follower.close();
    assert.equal(records.length, 30);
    records.forEach((r, n) => {
      assert.equal(r.number, n);
      assert.ok(isPayloadOf(n, r.payload), `record ${n}`);
    });

    // A torn record: one byte of record 25 did not reach the disk. The
    // second commit (records 10..19) is taken; the third is cut at 25, so
    // none of it is (20..24 are whole, but their commit is not).
    let at = 64;
    for (let n = 0; n < 25; n++) {
      at += 16 + ((records[n].payload.length + 7) & ~7);
    }
    const byte = fileBytes(path, at + 16 + 3, 1);
    patchFile(path, at + 16 + 3, new Uint8Array([byte[0] ^ 0x40]));
    patchFile(path, TAIL[0], behind);
    const torn = LogWriter.open(path);
    assert.equal(torn.recovered, 10);
    // Appends go on from the end of the last whole commit.
    torn.append(payloadOf(20));
    torn.close();
    using last = new LogFollower(path);
    const again = last.poll();
    assert.equal(again.length, 21);
    again.forEach((r, n) =>
      assert.ok(isPayloadOf(n, r.payload), `record ${n}`)
    );
    assert.ok(end > at);
  });
});

Deno.test("append log: a new log in the file of an old one takes none of the old records", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/log.bin`;
    const old = LogWriter.create(path, { chunk: 64 << 10 });
    for (let n = 0; n < 40; n++) old.append(payloadOf(n));
    old.close();
    // The same first records again: the old ones after them sit exactly
    // where the new log's next record would, and would check if the chain
    // started from the same value.
    const log = LogWriter.create(path, { chunk: 64 << 10 });
    const empty = fileBytes(path, ...TAIL);
    for (let n = 0; n < 5; n++) log.append(payloadOf(n));
    log.close();
    // With its header back at the start, the scan takes the new log's five
    // records and stops at the first old one.
    patchFile(path, TAIL[0], empty);
    const reopened = LogWriter.open(path);
    assert.equal(reopened.recovered, 5);
    reopened.close();
    using follower = new LogFollower(path);
    const records = follower.poll();
    assert.equal(records.length, 5);
    records.forEach((r, n) => assert.ok(isPayloadOf(n, r.payload)));
  });
});

// examples/embedding_gather.ts: batches of rows in one native call.

Deno.test("examples/embedding_gather.ts gathers a batch with no wrong values", async () => {
  const { code, stdout: out, stderr } = await runDenoArgs(
    [...EXAMPLE_FLAGS, "examples/embedding_gather.ts", "3000"],
    { cwd: root },
  );
  assert.equal(code, 0, stderr);
  assert.match(out, /^3000 rows of 384 float32 \(1536 B each\)$/m);
  assert.match(out, /^gathered 1024 rows in [\d.]+ ms, 0 wrong values$/m);
});

Deno.test("embedding table: gather() equals per-row reads; an id past the table copies nothing", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/table.f32`;
    writeEmbeddings(path, 500);
    using table = new EmbeddingTable(path);
    assert.equal(table.rows, 500);
    for (const n of [1, 7, 32, 600]) {
      const ids = Array.from({ length: n }, (_, i) => (i * 7919) % 500);
      const batch = table.gather(ids);
      const row = new Uint8Array(DIM * 4);
      ids.forEach((id, k) => {
        table.mapping.readSync(row, id * DIM * 4);
        assert.deepEqual(
          batch.subarray(k * DIM, (k + 1) * DIM),
          new Float32Array(row.buffer),
        );
        assert.equal(batch[k * DIM + 5], embeddingValue(id, 5));
      });
    }
    const out = new Float32Array(3 * DIM).fill(-1);
    assert.throws(() => table.gather([1, 500, 2], out), RangeError);
    assert.ok(out.every((x) => x === -1), "nothing was copied");
    Deno.writeFileSync(`${dir}/odd.f32`, new Uint8Array(DIM * 4 + 4));
    assert.throws(() => new EmbeddingTable(`${dir}/odd.f32`), RangeError);
  });
});
