// OS errors become Deno.errors classes with messages naming the call and the
// path, then the OS's own text (src/errors.ts).

import assert from "node:assert/strict";
import { open, openSync, openWrite, openWriteSync } from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";

Deno.test("open() on a missing file throws NotFound naming the call and path", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/missing.bin`;
    await assert.rejects(open(path), (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      // The call and the path, then the OS's own text for error 2.
      assert.ok(error.message.startsWith(`mmap open "${path}": `));
      assert.match(error.message, /\(os error 2\)$/);
      if (Deno.build.os === "linux") {
        assert.equal(
          error.message,
          `mmap open "${path}": No such file or directory (os error 2)`,
        );
      }
      return true;
    });
    assert.throws(() => openWriteSync(path), Deno.errors.NotFound);
    await assert.rejects(openWrite(path), Deno.errors.NotFound);
    // Nothing was created by the failed calls.
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  });
});

Deno.test("open() on a directory throws IsADirectory, under a file NotADirectory", async () => {
  await withTempDir(async (dir) => {
    assert.throws(() => openSync(dir), Deno.errors.IsADirectory);
    assert.throws(() => openWriteSync(dir), Deno.errors.IsADirectory);
    await Deno.writeFile(`${dir}/file`, pattern(1));
    // Windows has no ENOTDIR: a path through a file is "path not found".
    assert.throws(
      () => openSync(`${dir}/file/x`),
      Deno.build.os === "windows"
        ? Deno.errors.NotFound
        : Deno.errors.NotADirectory,
    );
  });
});
