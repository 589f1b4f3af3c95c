// stats(): the live mappings of this process.

import assert from "node:assert/strict";
import { join } from "node:path";
import { open, openAnonymousSync, stats } from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";

const PAGE = 4096;

Deno.test("stats() lists live mappings and forgets closed ones", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "stats.bin");
    await Deno.writeFile(path, pattern(1234));
    const before = stats();
    const m = await open(path);
    const a = openAnonymousSync(PAGE);
    const during = stats();
    assert.equal(during.count, before.count + 2);
    assert.equal(during.bytes, before.bytes + 1234 + PAGE);
    assert.deepEqual(
      during.mappings.filter((i) => i.path === path || i.kind === "anonymous"),
      [
        { path, kind: "file", length: 1234, writable: false },
        { path: "", kind: "anonymous", length: PAGE, writable: true },
      ],
    );
    m.close();
    a.close();
    assert.equal(stats().count, before.count);
    assert.equal(stats().mappings.length, before.mappings.length);
  });
});
