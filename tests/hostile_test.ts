// Hostile arguments: buffers whose own properties lie (a shadowed length,
// buffer or byteOffset), subclasses with lying getters, Proxies, a replaced
// `Symbol.hasInstance`, and globals replaced after the package loaded. Each
// runs in a child process, because on a package that trusts these properties
// a copy runs past the real memory and the process dies (SIGSEGV) or writes
// neighbouring heap bytes into the file.

import assert from "node:assert/strict";
import {
  FULL_FLAGS,
  lastJson,
  MOD_URL,
  REPORT,
  scenario,
} from "./_subprocess.ts";

const run = scenario(
  `import * as mmap from ${JSON.stringify(MOD_URL)};
${REPORT}
const dir = Deno.makeTempDirSync();
const path = dir + "/data.bin";
const SIZE = 80 << 20; // more than any lie below, so only the real length stops a copy
const original = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) original[i] = i % 251;
Deno.writeFileSync(path, original);
/** Which error class a call threw, or "ok: <result>". */
function outcome(call: () => unknown): string {
  try {
    return "ok: " + String(call());
  } catch (error) {
    return (error as Error).constructor.name;
  }
}
`,
  FULL_FLAGS,
);

Deno.test("readSync() copies a buffer's real length, whatever its length property says", async () => {
  const out = await run(`
const m = mmap.openSync(path);
const dst = new Uint8Array(16);
Object.defineProperty(dst, "length", { value: 64 << 20 });
const read = m.readSync(dst, 100);
class Liar extends Uint8Array {}
for (const key of ["length", "byteLength"]) {
  Object.defineProperty(Liar.prototype, key, { get: () => 64 << 20 });
}
const liar = new Liar(8);
const readLiar = m.readSync(liar, 0);
m.close();
report({ read, first: dst[0], last: dst[15], readLiar, liar: [...new Uint8Array(liar.buffer)] });
`);
  const result = lastJson(out);
  assert.deepEqual(result, {
    read: 16,
    first: 100 % 251,
    last: 115 % 251,
    readLiar: 8,
    liar: [0, 1, 2, 3, 4, 5, 6, 7],
  });
});

Deno.test("writeSync() writes only the buffer's real bytes, never its neighbours", async () => {
  const out = await run(`
const m = mmap.openSync(path, { write: true });
const heap = new Uint8Array(4096).fill(0xee);
const src = heap.subarray(0, 16).fill(7);
Object.defineProperty(src, "length", { value: 4096 });
Object.defineProperty(src, "byteOffset", { value: 1024 });
Object.defineProperty(src, "buffer", { value: new ArrayBuffer(1 << 27) });
const wrote = m.writeSync(src, 0);
m.close();
const file = Deno.readFileSync(path);
report({
  wrote,
  head: [...file.subarray(0, 17)],
  // The lie claims 4096 bytes: the next pages must hold what they held.
  restIntact: file.subarray(16, 16384).every((b, i) => b === original[16 + i]),
});
`);
  const result = lastJson(out);
  assert.deepEqual(result, {
    wrote: 16,
    head: [...new Array(16).fill(7), 16],
    restIntact: true,
  });
});

Deno.test("copies refuse look-alikes: a Proxy, a plain object and a replaced Symbol.hasInstance", async () => {
  const out = await run(`
const m = mmap.openSync(path, { write: true });
const real = new Uint8Array(8);
const proxy = new Proxy(real, {});
const lookAlike = { length: 1 << 30, byteLength: 1 << 30, byteOffset: 0, buffer: real.buffer };
Object.setPrototypeOf(lookAlike, Uint8Array.prototype);
const results = [
  outcome(() => m.readSync(proxy as Uint8Array)),
  outcome(() => m.writeSync(proxy as Uint8Array)),
  outcome(() => m.readSync(lookAlike as unknown as Uint8Array)),
  outcome(() => m.writeSync(lookAlike as unknown as Uint8Array)),
];
Object.defineProperty(Uint8Array, Symbol.hasInstance, { value: () => true });
results.push(outcome(() => m.readSync({ length: 1 << 30 } as unknown as Uint8Array)));
results.push(outcome(() => m.readSync(new Uint8Array(4))));
m.close();
report(results);
`);
  assert.deepEqual(lastJson(out), [
    "TypeError",
    "TypeError",
    "TypeError",
    "TypeError",
    "TypeError",
    "ok: 4",
  ]);
});

Deno.test("replacing globals after the package loaded changes nothing it relies on", async () => {
  const out = await run(`
const m = mmap.openSync(path, { write: true });
const view = m.view(0, 4096);
// Tamper with what the argument checks could use.
Number.isInteger = () => true;
Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), "length", {
  get() { return 64 << 20; },
});
const results = [
  outcome(() => m.readSync(new Uint8Array(8), 1.5)),
  outcome(() => m.readSync(new Uint8Array(8), 0)),
  outcome(() => m.writeSync(new Uint8Array(8), SIZE - 4)),
];
m.close();
report({ results, viewAfterClose: view.byteLength });
`);
  const { results, viewAfterClose } = lastJson<
    { results: string[]; viewAfterClose: number }
  >(out);
  assert.deepEqual(results, [
    "RangeError",
    "ok: 8",
    "RangeError",
  ]);
  assert.equal(viewAfterClose, 0);
});

Deno.test("option objects are read once: a getter cannot answer two checks differently", async () => {
  const out = await run(`
let reads = 0;
const options = { write: true, create: true };
Object.defineProperty(options, "size", {
  get() { reads++; return reads % 2 === 1 ? 8192 : undefined; },
});
const m = mmap.openSync(dir + "/once.bin", options as mmap.OpenOptions);
report({ len: m.len, reads });
m.close();
`);
  assert.deepEqual(lastJson(out), { len: 8192, reads: 1 });
});
