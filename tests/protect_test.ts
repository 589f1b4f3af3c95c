// protect() (src/protect.ts, ffi/src/protect.rs): a writable mapping made
// read-only in place and writable again; what each call does meanwhile; a
// store through a view of a read-only mapping ends the process (in a child).
import assert from "node:assert/strict";
import {
  openAnonymousSync,
  openSync,
  openWriteWithSize,
  protect,
  stats,
} from "../mod.ts";
import { withTempDir } from "./_helpers.ts";
import { FULL_FLAGS, MOD_URL, runDeno } from "./_subprocess.ts";

Deno.test("protect() freezes a writable mapping in place and thaws it", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/p.bin`;
    await using m = await openWriteWithSize(path, 8192);
    const view = m.view();
    view[0] = 1;
    m.protect("read");
    assert.equal(m.writable, false);
    assert.equal(
      stats().mappings.find((x) => x.path === m.path)?.writable,
      false,
    );
    // Reads and views still work; the same view shows the same pages.
    assert.equal(view[0], 1);
    assert.equal(m.view(0, 1)[0], 1);
    const out = new Uint8Array(1);
    m.readSync(out);
    assert.equal(out[0], 1);
    assert.equal(m.indexOf(1), 0);
    m.flushSync();
    // Copies in are refused with a clear error, nothing written.
    assert.throws(
      () => m.writeSync(new Uint8Array([9])),
      /protect\("readwrite"\)/,
    );
    await assert.rejects(() => m.write(new Uint8Array([9])), TypeError);
    assert.throws(() => m.resizeSync(16384), TypeError);
    assert.throws(() => m.remapSync(), /protect\("readwrite"\)/);
    assert.equal(view[0], 1);
    // Twice is harmless; back to writable.
    protect(m, "read");
    protect(m, "readwrite");
    assert.equal(m.writable, true);
    m.writeSync(new Uint8Array([2]), 1);
    view[2] = 3;
    m.resizeSync(16384);
    m.flushSync();
    assert.deepEqual([...Deno.readFileSync(path).subarray(0, 4)], [1, 2, 3, 0]);
    assert.equal(Deno.statSync(path).size, 16384);
  });
});

Deno.test("protect() checks its mode and the handle", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/q.bin`;
    Deno.writeTextFileSync(path, "abc");
    const ro = openSync(path);
    assert.throws(() => ro.protect("read"), /opened read-only/);
    assert.throws(() => ro.protect("readwrite"), TypeError);
    ro.close();
    const rw = openSync(path, { write: true });
    for (
      const bad of ["write", "READ", "", null, undefined, 1, {
        toString: () => "read",
      }]
    ) {
      assert.throws(() => rw.protect(bad as never), TypeError, String(bad));
    }
    rw.close();
    assert.throws(() => rw.protect("read"), Deno.errors.BadResource);
    assert.throws(() => protect({} as never, "read"), TypeError);
  });
});

Deno.test("protect() works on copy-on-write and anonymous memory", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/r.bin`;
    Deno.writeTextFileSync(path, "abc");
    {
      using cow = openSync(path, { private: true });
      cow.writeSync(new TextEncoder().encode("X"));
      cow.protect("read");
      assert.equal(new TextDecoder().decode(cow.view()), "Xbc");
      cow.protect("readwrite");
      cow.view()[1] = 0x59;
      assert.equal(new TextDecoder().decode(cow.view()), "XYc");
    }
    assert.equal(Deno.readTextFileSync(path), "abc");
    using anon = openAnonymousSync(65536);
    anon.protect("read");
    assert.throws(() => anon.writeSync(new Uint8Array(1)), TypeError);
    anon.protect("readwrite");
    anon.view()[65535] = 1;
  });
});

Deno.test("protect(): a store through a view of a read-only mapping ends the process (in a child)", async () => {
  const out = await runDeno(
    `import { openWriteWithSizeSync } from ${JSON.stringify(MOD_URL)};
const path = Deno.makeTempFileSync();
const m = openWriteWithSizeSync(path, 4096);
const v = m.view();
m.protect("read");
console.log("protected");
v[0] = 1;
console.log("survived");`,
    FULL_FLAGS,
  );
  assert.match(out.stdout, /protected/);
  assert.doesNotMatch(out.stdout, /survived/);
  if (Deno.build.os === "windows") {
    // STATUS_ACCESS_VIOLATION.
    assert.notEqual(out.code, 0, out.stderr);
  } else {
    assert.equal(out.signal, "SIGSEGV", `code ${out.code}: ${out.stderr}`);
  }
});
