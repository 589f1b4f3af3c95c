// stream(): a ReadableStream over a range of a mapping.

import assert from "node:assert/strict";
import { openSync, stream } from "../mod.ts";
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
