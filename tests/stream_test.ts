// stream(): a ReadableStream over a range of a mapping.

import assert from "node:assert/strict";
import { type Mmap, openSync, stats, stream } from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";

Deno.test("stream() pipes a range into a Response, chunk by chunk", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/stream.bin`;
    const data = pattern(300_000, 9);
    await Deno.writeFile(path, data);
    using m = openSync(path);
    const whole = new Uint8Array(await new Response(stream(m)).arrayBuffer());
    assert.deepEqual(whole, data);
    const part = new Uint8Array(
      await new Response(
        m.stream({ offset: 1000, length: 70_001, chunkSize: 4096 }),
      )
        .arrayBuffer(),
    );
    assert.deepEqual(part, data.subarray(1000, 71_001));
    // A BYOB reader gets the bytes straight into its own buffer.
    const reader = m.stream({ offset: 5, length: 10 }).getReader({
      mode: "byob",
    });
    const first = await reader.read(new Uint8Array(4));
    assert.deepEqual(first.value, data.subarray(5, 9));
    reader.releaseLock();
    assert.deepEqual(
      new Uint8Array(await new Response(m.stream({ length: 0 })).arrayBuffer()),
      new Uint8Array(0),
    );
    assert.throws(
      () => m.stream({ offset: 1, length: data.length }),
      RangeError,
    );
    assert.throws(() => m.stream({ chunkSize: 0 }), RangeError);
    // Closing the mapping mid-stream fails the stream instead of reading
    // freed memory.
    const s = m.stream({ chunkSize: 1000 }).getReader();
    await s.read();
    m.close();
    await assert.rejects(s.read(), Deno.errors.BadResource);
  });
});

/** Serves `handler` on 127.0.0.1 (a free port) while `fn` runs. */
async function serving(
  handler: (request: Request) => Response | Promise<Response>,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    handler,
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("stream(h, { autoClose: true }) serves a file over HTTP in full, then closes the mapping (the README example)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/served.bin`;
    const data = pattern(3_000_000, 4);
    await Deno.writeFile(path, data);
    const handles: Mmap[] = [];
    const before = stats().count;
    await serving(() => {
      // The README's example: the handler returns while the body is sent.
      const h = openSync(path);
      handles.push(h);
      return new Response(stream(h, { autoClose: true }));
    }, async (url) => {
      for (let i = 0; i < 2; i++) {
        const response = await fetch(url);
        const body = new Uint8Array(await response.arrayBuffer());
        assert.equal(body.length, data.length);
        assert.deepEqual(body, data);
      }
    });
    assert.equal(handles.length, 2);
    for (const h of handles) assert.equal(h.closed, true);
    assert.equal(stats().count, before, "no mapping is left open");
  });
});

Deno.test("a download cancelled half-way closes its autoClose mapping, and nothing leaks", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.bin`;
    // Sparse, and far more than is read before the cancel (1 MiB): the
    // stream cannot have reached its end, so only the cancel closes it.
    const size = 1024 * 1024 * 1024;
    const file = await Deno.open(path, { write: true, create: true });
    await file.truncate(size);
    file.close();
    const before = stats().count;
    let served: Mmap | undefined;
    await serving(() => {
      const h = served = openSync(path);
      return new Response(stream(h, { autoClose: true, chunkSize: 65536 }));
    }, async (url) => {
      const response = await fetch(url);
      const reader = response.body!.getReader();
      let received = 0;
      while (received < 1024 * 1024) {
        const { value, done } = await reader.read();
        assert.equal(done, false);
        received += value!.length;
      }
      await reader.cancel();
      const deadline = Date.now() + 20_000;
      while (!served!.closed && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    assert.equal(served!.closed, true, "cancelling the download closed it");
    assert.equal(stats().count, before, "no mapping is left open");
  });
});

Deno.test("stream(h, { autoClose: true }) closes the mapping when the stream is cancelled or fails", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/owned.bin`;
    await Deno.writeFile(path, pattern(200_000));
    const h = openSync(path);
    const reader = stream(h, { autoClose: true, chunkSize: 1000 })
      .getReader();
    assert.equal((await reader.read()).value!.length, 1000);
    assert.equal(h.closed, false);
    await reader.cancel();
    assert.equal(h.closed, true);

    // An empty range ends at once, and closes at once.
    const empty = openSync(path, { length: 0 });
    assert.equal(
      (await stream(empty, { autoClose: true }).getReader().read()).done,
      true,
    );
    assert.equal(empty.closed, true);

    // A failed read (the file truncated under the mapping, on Unix) fails
    // the stream and closes the mapping. Windows refuses the truncation.
    if (Deno.build.os !== "windows") {
      const cut = openSync(path);
      const failing = stream(cut, { autoClose: true, chunkSize: 4096 })
        .getReader();
      await failing.read();
      Deno.truncateSync(path, 0);
      await assert.rejects(async () => {
        while (!(await failing.read()).done) { /* drain */ }
      }, Deno.errors.UnexpectedEof);
      assert.equal(cut.closed, true);
    }

    // Without autoClose the mapping stays open after the end.
    await Deno.writeFile(path, pattern(10));
    using kept = openSync(path);
    await new Response(stream(kept)).arrayBuffer();
    assert.equal(kept.closed, false);
    assert.throws(
      () => stream(kept, { autoClose: "yes" as unknown as boolean }),
      TypeError,
    );
  });
});
