// openAnonymous() and openAnonymousSync(): memory that no file backs.

import assert from "node:assert/strict";
import { openAnonymous, openAnonymousSync } from "../mod.ts";
import { pattern } from "./_helpers.ts";

Deno.test("openAnonymous() gives zeroed memory outside the V8 heap", async () => {
  const size = 32 * 1024 * 1024;
  await using m = await openAnonymous(size);
  assert.equal(m.kind, "anonymous");
  assert.equal(m.path, "");
  assert.equal(m.len, size);
  const v = m.view();
  assert.equal(v[0], 0);
  assert.equal(v[size - 1], 0);
  v.set(pattern(1000), size - 1000);
  const back = new Uint8Array(1000);
  m.readSync(back, size - 1000);
  assert.deepEqual(back, pattern(1000));
  m.writeSync(new Uint8Array([5]), 0);
  assert.equal(v[0], 5);
  await m.flush(); // nothing to write back, and no error
  using empty = openAnonymousSync(0);
  assert.equal(empty.len, 0);
  assert.throws(() => openAnonymousSync(-1), RangeError);
});
