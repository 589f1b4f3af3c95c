// The programs in examples/ run and say what they should.

import assert from "node:assert/strict";

Deno.test("examples/demo.ts runs and reports its timings", async () => {
  const root = new URL("..", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-ffi",
      "--unstable-ffi",
      "--allow-read",
      "--allow-write",
      "examples/demo.ts",
      "4",
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.match(out, /^wrote 4 MiB through a mapping in [\d.]+ ms$/m);
  assert.match(out, /readSync \(mapping\) +\d+ ns\/read/);
  assert.match(out, /readSync is [\d.]+x faster than seek\+read/);
});
