// Peer conventions (Bun, Node, CPython, memmap2): `null` options mean the
// defaults; a window starting exactly at the end of the file is an empty
// mapping (kept, for readers that follow a growing file); the window's
// `offset` and the file's size now (`fileSize()`).
import assert from "node:assert/strict";
import {
  open,
  openAnonymousSync,
  openSync,
  openWriteWithSize,
  openWriteWithSizeSync,
  resize,
  stream,
} from "../mod.ts";
import { withTempDir } from "./_helpers.ts";

Deno.test("`null` options mean the defaults, as in Bun and Node", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/n.bin`;
    Deno.writeTextFileSync(path, "hello");
    {
      await using a = await open(path, null);
      assert.equal(a.writable, false);
      assert.equal(a.len, 5);
      using b = openSync(path, null);
      assert.equal(new TextDecoder().decode(b.view()), "hello");
      const text = await new Response(stream(b, null)).text();
      assert.equal(text, "hello");
      assert.equal(await new Response(b.stream(null)).text(), "hello");
    }
    {
      await using c = await openWriteWithSize(`${dir}/c.bin`, 10, null);
      assert.equal(c.len, 10);
      using d = openWriteWithSizeSync(`${dir}/d.bin`, 10, null);
      d.resizeSync(20, null);
      assert.equal(d.len, 20);
      await resize(d, 30, null);
      assert.equal(d.len, 30);
    }
    // Other non-objects are still refused.
    for (const bad of [false, 0, "", "write"]) {
      assert.throws(() => openSync(path, bad as never), TypeError, String(bad));
    }
  });
});

Deno.test("a window at exactly the end of the file is an empty mapping; past it is a RangeError", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/log.bin`;
    Deno.writeTextFileSync(path, "0123456789");
    using tail = openSync(path, { offset: 10 });
    assert.equal(tail.len, 0);
    assert.equal(tail.offset, 10);
    assert.equal(tail.ptr, null);
    assert.equal(tail.view().length, 0);
    assert.equal(tail.indexOf(0x30), -1);
    assert.equal(tail.readSync(new Uint8Array(0)), 0);
    assert.throws(() => tail.readSync(new Uint8Array(1)), RangeError);
    using empty = openSync(path, { offset: 10, length: 0 });
    assert.equal(empty.len, 0);
    assert.throws(() => openSync(path, { offset: 11 }), RangeError);
    assert.throws(() => openSync(path, { offset: 10, length: 1 }), RangeError);
    // A follower: the file grows, fileSize() says so, the next window maps
    // the new bytes from the old end.
    Deno.writeTextFileSync(path, "abc", { append: true });
    assert.equal(tail.fileSize(), 13);
    assert.equal(tail.offset + tail.len, 10);
    using next = openSync(path, { offset: tail.offset + tail.len });
    assert.equal(new TextDecoder().decode(next.view()), "abc");
    assert.equal(next.offset, 10);
    // Or the empty window itself follows: remap keeps its offset.
    tail.remapSync();
    assert.equal(tail.offset, 10);
    assert.equal(tail.len, 3);
    assert.equal(new TextDecoder().decode(tail.view()), "abc");
  });
});

Deno.test("`offset` is the window's start in the file and `fileSize()` the file's size now", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/w.bin`;
    // Offsets around the page and Windows' 64 KiB granularity.
    Deno.writeFileSync(path, new Uint8Array(200_000));
    for (
      const offset of [0, 1, 4095, 4096, 65535, 65536, 65537, 199_999, 200_000]
    ) {
      using m = openSync(path, { offset });
      assert.equal(m.offset, offset);
      assert.equal(m.len, 200_000 - offset);
      assert.equal(m.fileSize(), 200_000);
    }
    using w = openSync(path, { write: true, offset: 70_000, length: 10 });
    assert.equal(w.offset, 70_000);
    // Grown by someone else (Windows refuses to shrink a mapped file).
    Deno.truncateSync(path, 250_000);
    assert.equal(w.fileSize(), 250_000);
    const whole = openSync(path, { write: true });
    assert.equal(whole.offset, 0);
    whole.resizeSync(300_001);
    assert.equal(whole.fileSize(), 300_001);
    assert.equal(whole.offset, 0);
    whole.close();
    assert.throws(() => whole.fileSize(), Deno.errors.BadResource);
    const late = openSync(path);
    late.close();
    assert.throws(() => late.offset, Deno.errors.BadResource);
    using anon = openAnonymousSync(4096);
    assert.equal(anon.offset, 0);
    assert.equal(anon.fileSize(), 4096);
  });
});
