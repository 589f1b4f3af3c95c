// Downloading the native library, end to end: a real HTTP server on
// 127.0.0.1 and real subprocesses that import a published copy of the
// package (see _package.ts).

import assert from "node:assert/strict";
import { withTempDir } from "./_helpers.ts";
import { FULL_FLAGS, runDeno } from "./_subprocess.ts";
import {
  assertFailed,
  assertOk,
  ASSET,
  cachedPath,
  ENV_FLAG,
  filesUnder,
  HASH,
  LIBRARY,
  mapScript,
  NET_FLAG,
  released,
  runIn,
  syncScript,
  withServer,
} from "./_package.ts";
import { sha256, VERSION } from "../src/_release.ts";

Deno.test("resolveLibrary() downloads through a redirect, verifies, caches and loads", async () => {
  const mod = await released();
  await withTempDir((dir) =>
    withServer(async ({ base, requests }) => {
      const env = { MMAP_DOWNLOAD_URL: `${base}/redirect` };
      const first = await runIn(dir, mapScript(mod), env);
      assertOk(first);
      assert.deepEqual(requests, [`/redirect/${ASSET}`, `/files/${ASSET}`]);
      const lines = first.stderr.trim().split("\n");
      assert.equal(lines.length, 1, first.stderr);
      assert.match(lines[0]!, /^mmap: downloading /);
      assert.ok(lines[0]!.includes(`${base}/redirect/${ASSET}`), lines[0]);
      assert.deepEqual(filesUnder(`${dir}/cache`), [`${VERSION}/${ASSET}`]);
      assert.equal(sha256(await Deno.readFile(cachedPath(dir))), HASH);

      // A second process loads from the cache: no request, no output.
      const second = await runIn(dir, mapScript(mod), env);
      assertOk(second);
      assert.equal(second.stderr, "");
      assert.equal(requests.length, 2);
    })
  );
});

Deno.test("resolveLibrary() replaces a corrupted cached copy and sweeps stale temp files", async () => {
  const mod = await released();
  await withTempDir((dir) =>
    withServer(async ({ base, requests }) => {
      await Deno.mkdir(`${dir}/cache/${VERSION}`, { recursive: true });
      const bad = LIBRARY.slice(0, 4096);
      await Deno.writeFile(cachedPath(dir), bad);
      const env = { MMAP_DOWNLOAD_URL: `${base}/files` };
      // A crashed download's temp file, old enough to be swept; a fresh
      // one (another process may be writing it) stays.
      const stale = `${cachedPath(dir)}.0000.tmp`;
      const fresh = `${cachedPath(dir)}.1111.tmp`;
      await Deno.writeFile(stale, bad);
      await Deno.writeFile(fresh, bad);
      const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
      await Deno.utime(stale, twoHoursAgo, twoHoursAgo);

      // The sync path refuses it and names both hashes.
      assertFailed(
        await runIn(dir, syncScript(mod), env),
        sha256(bad),
        HASH,
      );
      const out = await runIn(dir, mapScript(mod), env);
      assertOk(out);
      assert.ok(out.stderr.includes("replacing it"), out.stderr);
      assert.deepEqual(requests, [`/files/${ASSET}`]);
      assert.equal(sha256(await Deno.readFile(cachedPath(dir))), HASH);
      assert.deepEqual(filesUnder(`${dir}/cache`).sort(), [
        `${VERSION}/${ASSET}`,
        `${VERSION}/${ASSET}.1111.tmp`,
      ]);
    })
  );
});

Deno.test("resolveLibrary() rejects a corrupted download with both hashes and caches nothing", async () => {
  const mod = await released();
  await withTempDir((dir) =>
    withServer(async ({ base }) => {
      const out = await runIn(dir, mapScript(mod), {
        MMAP_DOWNLOAD_URL: `${base}/corrupt`,
      });
      const bad = LIBRARY.slice();
      bad[bad.length >> 1]! ^= 1;
      assertFailed(
        out,
        `${base}/corrupt/${ASSET}`,
        `SHA-256 is ${sha256(bad)}`,
        `expects ${HASH}`,
        "nothing was cached",
      );
      assert.deepEqual(filesUnder(`${dir}/cache`), []);
    })
  );
});

Deno.test("resolveLibrary() reports an HTTP error with the URL and status", async () => {
  const mod = await released();
  await withTempDir((dir) =>
    withServer(async ({ base }) => {
      const out = await runIn(dir, mapScript(mod), {
        MMAP_DOWNLOAD_URL: `${base}/missing/`,
      });
      assertFailed(out, `"${base}/missing/${ASSET}"`, "HTTP 404");
      assert.deepEqual(filesUnder(`${dir}/cache`), []);
    })
  );
});

Deno.test("resolveLibrary() offline says how to use MMAP_LIB_PATH or seed the cache", async () => {
  const mod = await released();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  await withTempDir(async (dir) => {
    const out = await runIn(dir, mapScript(mod), {
      MMAP_DOWNLOAD_URL: `http://127.0.0.1:${port}/files`,
    });
    assertFailed(
      out,
      `http://127.0.0.1:${port}/files/${ASSET}`,
      "Connection refused",
      "offline",
      "MMAP_LIB_PATH",
      `put a verified copy at "${cachedPath(dir)}"`,
    );
    assert.deepEqual(filesUnder(`${dir}/cache`), []);
  });
});

Deno.test("resolveLibrary() in two racing processes: both load, one file stays", async () => {
  const mod = await released();
  await withTempDir((dir) =>
    withServer(async ({ base, requests }) => {
      const env = { MMAP_DOWNLOAD_URL: `${base}/files` };
      await Deno.mkdir(`${dir}/a`);
      await Deno.mkdir(`${dir}/b`);
      const run = (sub: string) =>
        runDeno(mapScript(mod), [...FULL_FLAGS, ENV_FLAG, NET_FLAG], {
          args: [`${dir}/${sub}/data.bin`],
          cwd: dir,
          env: { MMAP_LIB_PATH: "", MMAP_CACHE_DIR: `${dir}/cache`, ...env },
        });
      const [a, b] = await Promise.all([run("a"), run("b")]);
      assertOk(a);
      assertOk(b);
      assert.ok(requests.length >= 1 && requests.length <= 2);
      assert.deepEqual(filesUnder(`${dir}/cache`), [`${VERSION}/${ASSET}`]);
      assert.equal(sha256(await Deno.readFile(cachedPath(dir))), HASH);
    })
  );
});

Deno.test("resolveLibrary() shares one download between concurrent calls in a process", async () => {
  const mod = await released();
  const script = `
import { openWriteWithSize } from "${mod}";
const handles = await Promise.all(
  ["a", "b", "c"].map((name) => openWriteWithSize(Deno.args[0] + name, 64)),
);
for (const h of handles) await h.close();
console.log("mapped");
`;
  await withTempDir((dir) =>
    withServer(async ({ base, requests }) => {
      const out = await runIn(dir, script, {
        MMAP_DOWNLOAD_URL: `${base}/files`,
      });
      assertOk(out);
      assert.deepEqual(requests, [`/files/${ASSET}`]);
      assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
    })
  );
});
