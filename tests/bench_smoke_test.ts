// The benchmarks cannot silently measure the wrong work: every bench file
// type-checks, and on small files every alternative of a workload produces
// the bytes the others do (and the data pattern says it should).

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { byteAt, dataFile, fill, KiB, MiB } from "../bench/_common.ts";
import {
  expectedWrite,
  freshWrite,
  openClose,
  randomReads,
  randomWrites,
  READ,
  rewrite,
  sequentialRead,
  type Workload,
  WRITE,
  writeChunk,
} from "../bench/_workloads.ts";
import {
  GATHER,
  gatherGroup,
  gatherRecords,
  hugePageTable,
} from "../bench/_batch_workloads.ts";
import { withTempDir } from "./_helpers.ts";
import { runDenoArgs } from "./_subprocess.ts";

// The explicit-timer calls of the fresh-file workload, for running it here.
const timer = { start() {}, end() {} } as Deno.BenchContext;

async function runOnce(workload: Workload, name: string): Promise<void> {
  const alternative = workload.alternatives.find((a) => a.name === name);
  assert.ok(alternative, `no alternative "${name}"`);
  await alternative.fn(timer);
}

function pattern(position: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  fill(bytes, position);
  return bytes;
}

Deno.test("bench files and the report script type-check", async () => {
  const bench = new URL("../bench/", import.meta.url);
  const files = [...Deno.readDirSync(bench)]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => fileURLToPath(new URL(e.name, bench)));
  assert.ok(files.some((f) => f.endsWith("_bench.ts")));
  files.push(
    fileURLToPath(new URL("../scripts/bench_report.ts", import.meta.url)),
  );
  const ipc = new URL("ipc/", bench);
  for (const e of Deno.readDirSync(ipc)) {
    if (e.name.endsWith(".ts")) files.push(fileURLToPath(new URL(e.name, ipc)));
  }
  const { code, stderr } = await runDenoArgs(["check", "--quiet", ...files]);
  assert.equal(code, 0, stderr);
});

Deno.test("the data pattern is the same byte by byte and in words", () => {
  const words = pattern(3, 4099);
  for (let i = 0; i < words.length; i++) assert.equal(words[i], byteAt(3 + i));
});

/**
 * Builds bench/c/raw_copy.c into `dir` as bench/side.ts does, so that the
 * raw FFI alternatives take part; false when there is no C compiler.
 */
async function buildRawCopy(dir: string): Promise<boolean> {
  if (Deno.build.os !== "linux") return false;
  const source = fileURLToPath(
    new URL("../bench/c/raw_copy.c", import.meta.url),
  );
  try {
    const { success } = await new Deno.Command("gcc", {
      args: ["-O2", "-shared", "-fPIC", "-o", `${dir}/libraw_copy.so`, source],
    }).output();
    return success;
  } catch {
    return false;
  }
}

Deno.test("random-read alternatives read the same bytes", async () => {
  await withTempDir(async (dir) => {
    const size = 2 * MiB + 123;
    const path = dataFile("big.bin", size, { step: 64 * KiB, dir });
    const raw = await buildRawCopy(dir);
    for (const len of [64, 4 * KiB]) {
      const workload = randomReads(path, size, len, 1, 16);
      try {
        const names = workload.alternatives.map((a) => a.name);
        if (raw) assert.ok(names.includes(READ.raw), names.join(", "));
        const offsets = workload.offsets!;
        for (let step = 0; step < 5; step++) {
          const expected = pattern(offsets[step], len);
          for (const alternative of workload.alternatives) {
            await alternative.fn(timer);
            assert.deepEqual(
              alternative.out!(),
              expected,
              `${workload.group}: ${alternative.name}, read ${step}`,
            );
          }
        }
      } finally {
        workload.dispose();
      }
    }
  });
});

Deno.test("sequential-read alternatives read the whole file", async () => {
  await withTempDir(async (dir) => {
    const size = MiB + 4321;
    const path = dataFile("bulk.bin", size, { step: 64 * KiB, dir });
    const workload = sequentialRead(path, size);
    try {
      const expected = pattern(0, size);
      for (const alternative of workload.alternatives) {
        await alternative.fn(timer);
        assert.deepEqual(alternative.out!(), expected, alternative.name);
      }
    } finally {
      workload.dispose();
    }
  });
});

Deno.test("rewrite alternatives leave the same file", async () => {
  await withTempDir(async (dir) => {
    const size = 5 * 65_000 + 777;
    const path = dataFile("rewrite.bin", size, { step: 64 * KiB, dir });
    const workload = rewrite(path, size, 65_000);
    try {
      const expected = expectedWrite(size, writeChunk(65_000));
      for (const alternative of workload.alternatives) {
        // Back to the data pattern (in place: the file is mapped), so each
        // alternative has to do the work.
        using file = Deno.openSync(path, { write: true });
        file.writeSync(pattern(0, size));
        await runOnce(workload, alternative.name);
        const written = alternative.out?.() ?? Deno.readFileSync(path);
        assert.deepEqual(written, expected, alternative.name);
      }
    } finally {
      workload.dispose();
    }
  });
});

Deno.test("new-file write alternatives leave the same file", async () => {
  await withTempDir(async (dir) => {
    const size = 3 * 65_000 + 5;
    const workload = freshWrite(dir, size, 65_000);
    try {
      const expected = expectedWrite(size, writeChunk(65_000));
      for (const alternative of workload.alternatives) {
        await runOnce(workload, alternative.name);
        assert.deepEqual(
          Deno.readFileSync(`${dir}/fresh.bin`),
          expected,
          alternative.name,
        );
      }
    } finally {
      workload.dispose();
    }
  });
});

Deno.test("random-write alternatives each write the same bytes at the offset", async () => {
  await withTempDir(async (dir) => {
    const size = 2 * MiB + 77;
    const path = dataFile("random_write.bin", size, { step: 64 * KiB, dir });
    const raw = await buildRawCopy(dir);
    const workload = randomWrites(path, size, 64, 1, 16);
    try {
      const names = workload.alternatives.map((a) => a.name);
      if (raw) assert.ok(names.includes(WRITE.raw), names.join(", "));
      const offsets = workload.offsets!;
      for (let step = 0; step < 3; step++) {
        const at = offsets[step];
        for (const alternative of workload.alternatives) {
          // Back to the data pattern first, so each one has to write.
          using file = Deno.openSync(path, { write: true });
          file.seekSync(at, Deno.SeekMode.Start);
          file.writeSync(pattern(at, 64));
          await alternative.fn(timer);
          const back = Deno.readFileSync(path).subarray(at, at + 64);
          assert.deepEqual(
            back,
            workload.source,
            `${alternative.name} at ${at}`,
          );
        }
      }
    } finally {
      workload.dispose();
    }
  });
});

Deno.test("open+close alternatives run", async () => {
  await withTempDir(async (dir) => {
    const path = dataFile("big.bin", 64 * KiB, { dir });
    const workload = openClose(path, 64 * KiB);
    for (const alternative of workload.alternatives) {
      await alternative.fn(timer);
    }
    workload.dispose();
  });
});

Deno.test("gather alternatives gather the same records", async () => {
  await withTempDir(async (dir) => {
    const size = 2 * MiB + 123;
    const path = dataFile("big.bin", size, { step: 64 * KiB, dir });
    const workloads = [
      ...[64, 4 * KiB].map((len) => gatherRecords(path, size, len, 37)),
      hugePageTable(path, size - 123, 64, 37),
    ];
    for (const workload of workloads) {
      const len = workload.bytes / workload.ops;
      try {
        const expected = new Uint8Array(workload.bytes);
        workload.offsets!.forEach((o, i) => {
          assert.ok(o % len === 0 && o + len <= size - 123, `row ${o}`);
          expected.set(pattern(o, len), i * len);
        });
        for (const alternative of workload.alternatives) {
          await alternative.fn(timer);
          assert.deepEqual(
            alternative.out!(),
            expected,
            `${workload.group}: ${alternative.name}`,
          );
        }
      } finally {
        workload.dispose();
      }
    }
  });
});

/** Runs a program; undefined when it is not installed. */
async function tryOutput(
  program: string,
  args: string[],
): Promise<Deno.CommandOutput | undefined> {
  try {
    return await new Deno.Command(program, { args, stderr: "piped" })
      .output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** The JSON lines of a side program's stdout. */
function jsonLines(output: Deno.CommandOutput): Record<string, unknown>[] {
  const text = new TextDecoder().decode(output.stdout);
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

Deno.test({
  name: "the gather side programs (C, numpy) report into the gather groups",
  ignore: Deno.build.os === "windows",
  async fn() {
    await withTempDir(async (dir) => {
      const path = dataFile("big.bin", 2 * MiB, { step: 64 * KiB, dir });
      const groups = [gatherGroup(64), gatherGroup(4 * KiB)];
      const source = fileURLToPath(
        new URL("../bench/c/gather.c", import.meta.url),
      );
      const built = await tryOutput("gcc", [
        "-O2",
        "-o",
        `${dir}/gather`,
        source,
      ]);
      if (built !== undefined) {
        assert.ok(built.success, new TextDecoder().decode(built.stderr));
        const out = await tryOutput(`${dir}/gather`, [path, "1", "256"]);
        assert.ok(out?.success);
        const rows = jsonLines(out!);
        assert.deepEqual(rows.map((r) => r.group), groups);
        for (const row of rows) {
          assert.equal(row.name, GATHER.c);
          assert.ok(typeof row.ns_per_op === "number" && row.ns_per_op > 0);
        }
      }
      const script = fileURLToPath(
        new URL("../bench/py/gather.py", import.meta.url),
      );
      const py = await tryOutput("python3", [script, path, "1", "256"]);
      if (py !== undefined) {
        assert.ok(py.success, new TextDecoder().decode(py.stderr));
        const rows = jsonLines(py);
        if (rows.length === 1 && "skip" in rows[0]) return; // no numpy
        assert.deepEqual(rows.map((r) => r.group), groups);
        for (const row of rows) assert.equal(row.name, GATHER.numpy);
      }
    });
  },
});

Deno.test("the interleaved per-call side program reports both ratios against the raw FFI copy", async () => {
  await withTempDir(async (dir) => {
    const raw = await buildRawCopy(dir);
    const script = fileURLToPath(
      new URL("../bench/percall_interleaved.ts", import.meta.url),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-ffi", script, dir, "3"],
      env: { MMAP_BENCH_BIG: String(2 * MiB), MMAP_BENCH_BULK: String(MiB) },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const rows = jsonLines(out);
    if (!raw || "skip" in rows[0]) {
      // No C compiler here, or one whose library this Deno cannot load.
      assert.equal(rows.length, 1);
      assert.match(String(rows[0].skip), /raw FFI copy/);
      return;
    }
    assert.deepEqual(rows.map((r) => r.name), [
      "readSync(), ns a read",
      "raw FFI copy, ns a read",
      "readSync() / raw FFI copy",
      "writeSync(), ns a write",
      "raw FFI write, ns a write",
      "writeSync() / raw FFI write",
    ]);
    for (const row of rows) {
      assert.match(String(row.group), /^random 64 B per call, interleaved/);
      assert.ok(Number.isFinite(row.value) && (row.value as number) > 0);
    }
    // The files were made in `dir` at the sizes asked for.
    assert.equal(Deno.statSync(`${dir}/big.bin`).size, 2 * MiB);
    assert.equal(Deno.statSync(`${dir}/random_write.bin`).size, MiB);
  });
});

Deno.test("the ipc side programs (bench/ipc/) print one JSON line per alternative", async () => {
  const root = new URL("..", import.meta.url);
  // On Linux the ping-pongs also say how often each way slept (a figure
  // that may be 0: spinning sleeps not at all).
  const linux = Deno.build.os === "linux";
  const programs: [string, string, number][] = [
    ["pingpong.ts", "200", linux ? 8 : 4],
    ["workers.ts", "200", linux ? 6 : 4],
    ["ring.ts", "20000", 6],
  ];
  for (const [file, count, lines] of programs) {
    const { code, stdout, stderr } = await runDenoArgs([
      "run",
      "-A",
      "--unstable-ffi",
      `bench/ipc/${file}`,
      count,
    ], { cwd: root, timeoutMs: 300_000 });
    assert.equal(code, 0, `${file}: ${stderr}`);
    const rows = stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(rows.length, lines, stdout);
    for (const row of rows) {
      assert.equal(typeof row.group, "string");
      assert.equal(typeof row.name, "string");
      if (row.unit === "sleeps (both sides)") {
        assert.ok(row.value >= 0, `${file}: ${row.name} counted`);
        continue;
      }
      const figure = row.ns_per_op ?? row.value;
      assert.ok(figure > 0, `${file}: ${row.name} measured something`);
    }
    assert.equal(rows.filter((r) => r.baseline).length, 1, file);
  }
});

Deno.test({
  name:
    "the recipe side programs (bench/recipes/) measure every alternative on small data",
  ignore: Deno.build.os !== "linux", // RSS and PSS come from /proc
}, async () => {
  const root = new URL("..", import.meta.url);
  await withTempDir(async (dir) => {
    const programs: [string, string[], RegExp[]][] = [
      ["safetensors.ts", ["16"], [
        /^mmap \+ viewAs\(\): PSS of both$/,
        /^mmap \+ viewAs\(\), native library already loaded$/,
        /^mmap \+ viewAs\(\): the difference$/,
      ]],
      ["lookup_table.ts", ["16", "3", "0.2"], [/^mmap \(LookupTable\)$/]],
      ["embedding_gather.ts", ["16"], [/^gatherSync\(\)$/]],
      ["append_log.ts", ["1000"], [/^follower has a commit's records/]],
    ];
    for (const [file, args, names] of programs) {
      const { code, stdout, stderr } = await runDenoArgs(
        ["run", "-A", `bench/recipes/${file}`, dir, ...args],
        { cwd: root },
      );
      assert.equal(code, 0, `${file}: ${stderr}`);
      const rows = stdout.trim().split("\n").map((l) => JSON.parse(l));
      for (const row of rows) {
        assert.equal(typeof row.group, "string", `${file}: ${stdout}`);
        const figure = row.ns_per_op ?? row.value;
        assert.ok(figure > 0, `${file}: ${row.name} measured something`);
      }
      for (const name of names) {
        assert.ok(rows.some((r) => name.test(r.name)), `${file}: ${name}`);
      }
      // One baseline per timed group.
      const timed = new Set(
        rows.filter((r) => r.ns_per_op).map((r) => r.group),
      );
      for (const group of timed) {
        const baselines = rows.filter((r) => r.group === group && r.baseline);
        assert.equal(baselines.length, 1, `${file}: ${group}`);
      }
    }
  });
});
