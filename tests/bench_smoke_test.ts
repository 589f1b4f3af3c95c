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
