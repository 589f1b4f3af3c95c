// The programs in examples/ run and say what they should.

import assert from "node:assert/strict";
import { runDenoArgs } from "./_subprocess.ts";

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
