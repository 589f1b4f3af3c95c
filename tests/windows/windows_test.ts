// Windows-only behaviour of the native layer (ffi/src/os/windows.rs). Ignored on
// other systems; run on Linux with Deno for Windows under wine by
// `scripts/platform/run.sh windows` (wine is not Windows: see test_windows.sh there).

import assert from "node:assert/strict";
import {
  MmapError,
  openShared,
  openSharedSync,
  openSync,
  openWriteWithSize,
  openWriteWithSizeSync,
  resizeSync,
  stats,
  unlinkSharedSync,
} from "../../mod.ts";
import { pattern, withTempDir } from "../_helpers.ts";

const ignore = Deno.build.os !== "windows";

/** ERROR_USER_MAPPED_FILE (<winerror.h>): "The requested operation cannot be
 * performed on a file with a user-mapped section open." */
const ERROR_USER_MAPPED_FILE = 1224;

/** The OS error code an error carries: MmapError.code or cause.code. */
function osCode(error: unknown): number | undefined {
  if (error instanceof MmapError) return error.code;
  const cause = (error as { cause?: { code?: number } }).cause;
  return cause?.code;
}

Deno.test({
  name: "open() maps a file with a Unicode name",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const path = `${dir}\\данные-数据.bin`;
      const text = new TextEncoder().encode("привет, 世界");
      {
        using h = openWriteWithSizeSync(path, 70_000);
        h.writeSync(text, 65_536);
        h.flushSync();
        assert.ok(h.path.endsWith("данные-数据.bin"), h.path);
        assert.ok(
          stats().mappings.some((m) => m.path === h.path),
          "stats() lists the Unicode path",
        );
      }
      const bytes = await Deno.readFile(path);
      assert.equal(bytes.length, 70_000);
      assert.deepEqual(bytes.subarray(65_536, 65_536 + text.length), text);
      using r = openSync(path, { offset: 65_536, length: text.length });
      assert.equal(new TextDecoder().decode(r.view()), "привет, 世界");
    }),
});

Deno.test({
  name: "a mapped file stays open to others for reading and writing",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const path = `${dir}\\shared.bin`;
      await Deno.writeFile(path, pattern(8192));
      using h = openSync(path, { write: true });
      // std opens with FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE.
      assert.deepEqual(await Deno.readFile(path), pattern(8192));
      h.view()[0] = 42;
      h.flushSync(0, 1);
      assert.equal((await Deno.readFile(path))[0], 42);
      // A write through the file is seen through the view (one page cache).
      using f = await Deno.open(path, { write: true });
      await f.seek(100, Deno.SeekMode.Start);
      await f.write(new Uint8Array([7, 7, 7]));
      assert.deepEqual(h.view(100, 3), new Uint8Array([7, 7, 7]));
    }),
});

Deno.test({
  name: "a mapped file can be renamed, and deleted once unmapped",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const path = `${dir}\\old.bin`;
      const moved = `${dir}\\new.bin`;
      await Deno.writeFile(path, pattern(4096));
      const h = openSync(path);
      // Renaming is allowed: the handle was opened with FILE_SHARE_DELETE.
      await Deno.rename(path, moved);
      assert.deepEqual(h.view(), pattern(4096));
      // Deleting a file with a mapped view: Windows refuses (access denied),
      // or with POSIX delete semantics removes the name; either way the
      // mapping stays readable.
      try {
        await Deno.remove(moved);
      } catch (error) {
        assert.ok(
          error instanceof Deno.errors.PermissionDenied,
          String(error),
        );
      }
      assert.deepEqual(h.view(), pattern(4096));
      h.close();
      await Deno.remove(moved).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
      await assert.rejects(Deno.stat(moved), Deno.errors.NotFound);
    }),
});

Deno.test({
  name:
    "flush() in every mode reaches the file; durable calls FlushFileBuffers",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const path = `${dir}\\flush.bin`;
      using h = await openWriteWithSize(path, 3 * 65_536);
      for (
        const [i, mode] of (["sync", "async", "durable"] as const).entries()
      ) {
        h.view(i * 65_536, 4).set([1, 2, 3, i]);
        await h.flush(i * 65_536, 4, mode);
        const bytes = await Deno.readFile(path);
        assert.deepEqual(
          bytes.subarray(i * 65_536, i * 65_536 + 4),
          new Uint8Array([1, 2, 3, i]),
        );
      }
      h.syncSync();
      await h.sync();
      // A flush of a read-only (copy-on-write) mapping succeeds and writes nothing.
      using r = openSync(path);
      r.view()[0] = 99;
      r.flushSync();
      assert.equal((await Deno.readFile(path))[0], 1);
    }),
});

Deno.test({
  name: "GetLastError values map to Deno's error classes",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      // ERROR_FILE_NOT_FOUND (2)
      assert.throws(() => openSync(`${dir}\\missing.bin`), (error: Error) => {
        assert.ok(error instanceof Deno.errors.NotFound, String(error));
        assert.equal(osCode(error), 2);
        assert.match(
          error.message,
          /^mmap open ".*missing\.bin": .*\(os error 2\)$/,
        );
        return true;
      });
      // ERROR_PATH_NOT_FOUND (3)
      assert.throws(() => openSync(`${dir}\\no\\such.bin`), (error: Error) => {
        assert.ok(error instanceof Deno.errors.NotFound, String(error));
        assert.equal(osCode(error), 3);
        return true;
      });
      // ERROR_ACCESS_DENIED (5) on a directory is reported as IsADirectory.
      assert.throws(() => openSync(dir), Deno.errors.IsADirectory);
      // ERROR_INVALID_NAME (123) has no Deno class: MmapError keeps the code.
      assert.throws(() => openSync(`${dir}\\bad<name>.bin`), (error: Error) => {
        assert.ok(error instanceof MmapError, String(error));
        assert.equal(osCode(error), 123);
        assert.equal((error as MmapError).call, "open");
        return true;
      });
      // ERROR_ALREADY_EXISTS (183) from CreateFileMappingW.
      const name = `mmap-win-${Deno.pid}-exists`;
      using a = await openShared(name, {
        create: true,
        exclusive: true,
        size: 100,
      });
      assert.throws(
        () =>
          openSharedSync(name, { create: true, exclusive: true, size: 100 }),
        (error: Error) => {
          assert.ok(error instanceof Deno.errors.AlreadyExists, String(error));
          assert.equal(osCode(error), 183);
          return true;
        },
      );
      assert.ok(a.len >= 100);
      unlinkSharedSync(name);
    }),
});

Deno.test({
  name: "a mapped file cannot be truncated (ERROR_USER_MAPPED_FILE)",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const path = `${dir}\\truncate.bin`;
      await Deno.writeFile(path, pattern(3 * 65_536));
      using h = openSync(path);
      // By someone else: the OS refuses, so the mapping never loses pages.
      await assert.rejects(Deno.truncate(path, 10), (error: Error) => {
        assert.match(error.message, /os error 1224/);
        return true;
      });
      assert.equal((await Deno.stat(path)).size, 3 * 65_536);
      assert.deepEqual(h.view(), pattern(3 * 65_536));
      // By this library while another mapping of the file is live: resize
      // unmaps its own view first, but the other view still blocks it.
      const w = openSync(path, { write: true });
      assert.throws(() => resizeSync(w, 10), (error: Error) => {
        assert.ok(error instanceof MmapError, String(error));
        assert.equal(osCode(error), ERROR_USER_MAPPED_FILE);
        return true;
      });
      // A refused resize changes nothing: the view is put back in place.
      assert.equal(w.len, 3 * 65_536);
      assert.deepEqual(w.view(), pattern(3 * 65_536));
      // Growing works while another view exists (Windows only refuses shrinking).
      resizeSync(w, 4 * 65_536);
      assert.equal(w.len, 4 * 65_536);
      assert.deepEqual(w.view(0, 3 * 65_536), pattern(3 * 65_536));
      w.close();
      assert.equal((await Deno.stat(path)).size, 4 * 65_536);
      assert.deepEqual(h.view(), pattern(3 * 65_536)); // its own length
      h.close();
      // Once nothing maps it, resizing works.
      using last = openSync(path, { write: true });
      resizeSync(last, 10);
      assert.equal((await Deno.stat(path)).size, 10);
    }),
});
