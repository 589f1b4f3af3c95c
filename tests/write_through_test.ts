// Large writes into pages of a file that are not in memory go through the
// file (a positional write into the page cache the mapping shares,
// ffi/src/copy.rs `write_through`) instead of faulting each page in. The
// bytes must be the same wherever they are read: through the mapping and
// its views, another mapping, the file API, another process, and the disk
// after a durable flush; copy-on-write, anonymous and shared memory never
// write to a file; a file truncated under the mapping is never grown back.

import assert from "node:assert/strict";
import {
  openAnonymousSync,
  openSharedSync,
  openSync,
  openWriteWithSizeSync,
  unlinkSharedSync,
} from "@riaskov/mmap";
import { pattern, withTempDir } from "./_helpers.ts";
import {
  FULL_FLAGS,
  lastJson,
  MOD_URL,
  REPORT,
  runDeno,
  runDenoArgs,
} from "./_subprocess.ts";

const linux = Deno.build.os === "linux";
const unix = Deno.build.os !== "windows";
const CHUNK = 65_000;

/** Writes `data` into `m` at `at` in `chunk`-byte `writeSync` calls. */
function writeChunks(
  m: { writeSync(src: Uint8Array, offset: number): number },
  data: Uint8Array,
  at = 0,
  chunk = CHUNK,
): void {
  for (let done = 0; done < data.length; done += chunk) {
    m.writeSync(data.subarray(done, done + chunk), at + done);
  }
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes.slice());
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Drops the file's clean pages from the page cache (Linux
 * `posix_fadvise(POSIX_FADV_DONTNEED)`), so that the next read comes from
 * the disk: what a durable flush wrote, not what memory holds.
 */
function dropCache(path: string): void {
  const libc = Deno.dlopen("libc.so.6", {
    posix_fadvise: { parameters: ["i32", "i64", "i64", "i32"], result: "i32" },
    open: { parameters: ["buffer", "i32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
  });
  try {
    const fd = libc.symbols.open(new TextEncoder().encode(path + "\0"), 0);
    assert.ok(fd >= 0);
    assert.equal(libc.symbols.posix_fadvise(fd, 0n, 0n, 4), 0);
    libc.symbols.close(fd);
  } finally {
    libc.close();
  }
}

Deno.test("a new file written in 65,000-byte chunks reads back the same through the mapping, its views, another mapping, the file, another process and the disk", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/new.bin`;
    const size = 4 * 1024 * 1024 + 123;
    const data = pattern(size, 11);
    const m = openWriteWithSizeSync(path, size);
    const view = m.view();
    writeChunks(m, data);
    // The mapping that was written, and a view taken before the writes.
    assert.deepEqual(view, data);
    const back = new Uint8Array(size);
    m.readSync(back, 0);
    assert.deepEqual(back, data);
    // Another mapping of the file and the file API, before any flush.
    {
      using other = openSync(path);
      assert.deepEqual(other.view(), data);
    }
    assert.deepEqual(Deno.readFileSync(path), data);
    // Another process.
    const child = await runDenoArgs([
      "eval",
      `const b = Deno.readFileSync(${JSON.stringify(path)});
       const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b));
       console.log([...d].map((x) => x.toString(16).padStart(2, "0")).join(""));`,
    ], {});
    assert.equal(child.code, 0, child.stderr);
    assert.equal(child.stdout.trim(), await sha256(data));
    // The disk, after a durable flush, with the page cache dropped.
    m.flushSync(0, undefined, "durable");
    m.close();
    if (linux) dropCache(path);
    assert.deepEqual(Deno.readFileSync(path), data);
  });
});

Deno.test("large writes over pages partly in memory, partly not, match a byte-for-byte model", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/mixed.bin`;
    const size = 2 * 1024 * 1024;
    // A sparse file: no page in memory until something touches it.
    Deno.writeFileSync(path, new Uint8Array(0));
    Deno.truncateSync(path, size);
    const model = new Uint8Array(size);
    const m = openSync(path, { write: true });
    // Bring every third 64 KiB block into memory by reading it.
    const probe = new Uint8Array(1);
    for (let at = 0; at < size; at += 3 * 65536) m.readSync(probe, at);
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (let i = 0; i < 60; i++) {
      const length = 32 * 1024 + (next() % (200 * 1024));
      const at = next() % (size - length);
      const src = pattern(length, i);
      assert.equal(m.writeSync(src, at), length);
      model.set(src, at);
      if (i % 10 === 0) m.flushSync();
    }
    assert.deepEqual(m.view(), model);
    m.flushSync();
    m.close();
    assert.deepEqual(Deno.readFileSync(path), model);
  });
});

Deno.test("large writes to copy-on-write, anonymous and shared memory stay where they belong", async () => {
  await withTempDir((dir) => {
    const size = 1024 * 1024;
    const data = pattern(size, 5);
    // Copy-on-write over a sparse file: the file stays zeros.
    const path = `${dir}/private.bin`;
    Deno.writeFileSync(path, new Uint8Array(0));
    Deno.truncateSync(path, size);
    {
      using m = openSync(path, { private: true });
      writeChunks(m, data);
      assert.deepEqual(m.view(), data);
      m.flushSync(0, undefined, "durable");
    }
    assert.deepEqual(Deno.readFileSync(path), new Uint8Array(size));
    // Anonymous memory.
    {
      using m = openAnonymousSync(size);
      writeChunks(m, data);
      assert.deepEqual(m.view(), data);
    }
    // Shared memory, seen through a second handle.
    const name = `mmap-wt-${Deno.pid}-${Date.now()}`;
    try {
      using a = openSharedSync(name, { size, create: true });
      using b = openSharedSync(name);
      writeChunks(a, data);
      assert.deepEqual(b.view(0, size), data);
    } finally {
      unlinkSharedSync(name);
    }
  });
});

Deno.test({
  name:
    "a large write past the end of a file truncated under the mapping fails and never grows the file back",
  ignore: !unix,
  async fn() {
    const out = await runDeno(
      `
import * as mmap from ${JSON.stringify(MOD_URL)};
${REPORT}
const dir = Deno.makeTempDirSync();
const path = dir + "/t.bin";
const size = 1024 * 1024;
Deno.writeFileSync(path, new Uint8Array(size).fill(1));
const m = mmap.openSync(path, { write: true });
Deno.truncateSync(path, 65536);
const r: Record<string, unknown> = {};
const src = new Uint8Array(256 * 1024).fill(7);
try {
  m.writeSync(src, 512 * 1024);
  r.past = "ok";
} catch (e) {
  r.past = (e as Error).name;
}
r.sizeAfter = Deno.statSync(path).size;
// Within what is left of the file, a large write still works.
try {
  r.within = m.writeSync(src.subarray(0, 60000), 0);
} catch (e) {
  r.within = (e as Error).name;
}
m.close();
const back = Deno.readFileSync(path);
r.size = back.length;
r.head = back.subarray(0, 60000).every((b) => b === 7);
Deno.removeSync(dir, { recursive: true });
report(r);
`,
      FULL_FLAGS,
    );
    const r = lastJson(out);
    assert.equal(r.past, "UnexpectedEof");
    assert.equal(r.sizeAfter, 65536);
    assert.equal(r.size, 65536);
    assert.equal(r.within, 60000);
    assert.equal(r.head, true);
  },
});
