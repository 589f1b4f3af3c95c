// Hostile arguments: buffers whose own properties lie (a shadowed length,
// buffer or byteOffset), subclasses with lying getters, Proxies, a replaced
// `Symbol.hasInstance`, and globals replaced after the package loaded. Each
// runs in a child process, because on a package that trusts these properties
// a copy runs past the real memory and the process dies (SIGSEGV) or writes
// neighbouring heap bytes into the file.

import assert from "node:assert/strict";
import {
  FULL_FLAGS,
  fuzzInChildren,
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

Deno.test("replacing Array methods before the first open does not stop the loader", async () => {
  // The library is loaded on the first open: everything the loader does
  // runs after the caller had its chance to tamper.
  const out = await run(`
for (const name of ["push", "find", "includes", "map", "every", "some", "filter"]) {
  Object.defineProperty(Array.prototype, name, { value: () => { throw new Error(name); } });
}
const m = mmap.openSync(path);
const bytes = new Uint8Array(4);
m.readSync(bytes, 10);
const view = m.view(0, 4);
const first = [view[0], view[1], view[2], view[3]];
m.close();
report({ read: [bytes[0], bytes[1], bytes[2], bytes[3]], first, after: view.length });
`);
  assert.deepEqual(lastJson(out), {
    read: [10, 11, 12, 13],
    first: [0, 1, 2, 3],
    after: 0,
  });
});

Deno.test("symbols bound on their first call are bound with what the package captured at load", async () => {
  // The library is opened with one symbol; the others are bound on first
  // use (src/ffi.ts). Tampering after the first open must not reach that.
  const out = await run(`
const m = mmap.openSync(path, { write: true });
Deno.dlopen = () => { throw new Error("Deno.dlopen"); };
Reflect.apply = () => { throw new Error("Reflect.apply"); };
for (const name of ["mmap_flush", "mmap_advise", "mmap_resident", "mmap_stats"]) {
  Object.defineProperty(Object.prototype, name, {
    get() { throw new Error(name); },
    set() { throw new Error(name); },
  });
}
m.writeSync(new Uint8Array([7, 7]), 5);
m.flushSync(0, 4096);
m.advise("random");
const resident = m.residency(0, 4096);
m.close();
const { count } = mmap.stats();
report({ byte: Deno.readFileSync(path)[6], resident, count });
`);
  assert.deepEqual(lastJson(out), { byte: 7, resident: 4096, count: 0 });
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

// ------------------------------------------------------------------ fuzzing

/**
 * The child that fuzzes: `calls` random copies with random hostile buffers
 * and offsets, checked against a byte-for-byte model of the file, half of
 * the runs after tampering with globals. Prints `{ calls, mismatches }`.
 * The model reads buffers through getters captured before any tampering.
 */
const FUZZ = `
import * as mmap from ${JSON.stringify(MOD_URL)};
const [seedArg, callsArg] = Deno.args;
let state = Number(seedArg) >>> 0 || 1;
/** xorshift32: the same sequence for the same seed. */
function rand(): number {
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state / 2 ** 32;
}
const int = (n: number) => Math.floor(rand() * n);
const TA = Object.getPrototypeOf(Uint8Array.prototype);
const get = (key: PropertyKey) => {
  const g = Object.getOwnPropertyDescriptor(TA, key)!.get!;
  return (v: unknown) => Reflect.apply(g, v, []);
};
const realLength = get("length") as (v: unknown) => number;
const realKind = get(Symbol.toStringTag) as (v: unknown) => string | undefined;
const SIZE = 1 << 20;
const dir = Deno.makeTempDirSync();
const path = dir + "/fuzz.bin";
const model = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) model[i] = (i * 7) % 253;
Deno.writeFileSync(path, model);
const m = mmap.openSync(path, { write: true });

/** A lie bigger than the real buffer but inside the mapping. */
const lie = () => 1 + int(SIZE);
/** A buffer to copy with; \`mapAt\` when it is a view of the mapping. */
type Made = { value: unknown; real: boolean; mapAt?: number };
function buffer(n: number): Made {
  switch (int(15)) {
    case 0: return { value: new Uint8Array(n), real: true };
    case 1: {
      const big = new Uint8Array(n + 64);
      return { value: big.subarray(int(32), int(32) + n), real: true };
    }
    case 2: {
      const v = new Uint8Array(n);
      Object.defineProperty(v, "length", { value: lie() });
      Object.defineProperty(v, "byteLength", { value: lie() });
      return { value: v, real: true };
    }
    case 3: {
      const v = new Uint8Array(n);
      Object.defineProperty(v, "byteOffset", { value: lie() });
      Object.defineProperty(v, "buffer", { value: new ArrayBuffer(SIZE) });
      return { value: v, real: true };
    }
    case 4: {
      class Liar extends Uint8Array {}
      for (const key of ["length", "byteLength", "byteOffset"]) {
        Object.defineProperty(Liar.prototype, key, { get: lie });
      }
      return { value: new Liar(n), real: true };
    }
    case 5: return { value: new Proxy(new Uint8Array(n), {}), real: false };
    case 6: {
      const fake = { length: lie(), byteLength: lie(), byteOffset: 0 };
      Object.setPrototypeOf(fake, Uint8Array.prototype);
      return { value: fake, real: false };
    }
    case 7: return { value: new Uint16Array(n), real: false };
    case 8: return { value: new DataView(new ArrayBuffer(n)), real: false };
    case 9: {
      const v = new Uint8Array(n);
      v.buffer.transfer();
      return { value: v, real: true };
    }
    case 10: {
      const ab = new ArrayBuffer(n + 16, { maxByteLength: SIZE });
      const v = new Uint8Array(ab);
      ab.resize(int(n + 1));
      return { value: v, real: true };
    }
    case 11: {
      const ab = new ArrayBuffer(n + 16, { maxByteLength: SIZE });
      const v = new Uint8Array(ab, 8, n);
      ab.resize(int(n + 16));
      return { value: v, real: true };
    }
    case 12: return { value: new Uint8Array(new SharedArrayBuffer(n)), real: true };
    case 13: {
      const sab = new SharedArrayBuffer(n, { maxByteLength: SIZE });
      const v = new Uint8Array(sab);
      sab.grow(n + int(64));
      return { value: v, real: true };
    }
    default: {
      const at = int(SIZE - n);
      return { value: m.view(at, n), real: true, mapAt: at };
    }
  }
}

let calls = 0;
let mismatches = 0;
const notes: string[] = [];
function fail(note: string) {
  // Index assignment: Array.prototype.push is tampered with below.
  if (mismatches < 5) notes[mismatches] = note;
  mismatches++;
}
/** A copy's outcome against the model; the model moves on success. */
async function step() {
  const n = int(4) === 0 ? int(9000) : int(64);
  const made = buffer(n);
  const v = made.value;
  const length = made.real ? realLength(v) : 0;
  const offset = int(8) === 0 ? SIZE - int(2 * n + 2) : int(SIZE - n);
  const write = int(2) === 0;
  const async = int(4) === 0;
  // What the model expects.
  const expected = !made.real
    ? "TypeError"
    : offset < 0 || offset + length > SIZE
    ? "RangeError"
    : "ok";
  // The bytes a successful copy moves, taken before it runs (the buffer
  // may be a view of the mapping itself).
  const moved = expected !== "ok"
    ? undefined
    : write
    ? Uint8Array.from({ length }, (_, i) => (v as Uint8Array)[i])
    : model.slice(offset, offset + length);
  let got: string;
  try {
    const count = write
      ? (async ? await m.write(v as Uint8Array, offset) : m.writeSync(v as Uint8Array, offset))
      : (async ? await m.read(v as Uint8Array, offset) : m.readSync(v as Uint8Array, offset));
    got = count === length ? "ok" : "count " + count + " for " + length;
  } catch (error) {
    got = (error as Error).constructor.name;
  }
  calls++;
  if (got !== expected) {
    fail(\`\${write ? "write" : "read"} kind \${realKind(v)} n=\${n} len=\${length} at \${offset}: expected \${expected}, got \${got}\`);
    return;
  }
  if (expected !== "ok") return;
  const bytes = v as Uint8Array;
  if (write) {
    model.set(moved!, offset);
    return;
  }
  if (made.mapAt !== undefined) model.set(moved!, made.mapAt);
  for (let i = 0; i < length; i++) {
    if (bytes[i] !== moved![i]) {
      fail(\`read at \${offset}: byte \${i} is \${bytes[i]}, model \${moved![i]}\`);
      return;
    }
  }
}

const total = Number(callsArg);
for (let i = 0; i < total; i++) {
  if (i === total >> 1) {
    // Tamper with everything a careless package would read at call time.
    Number.isInteger = () => true;
    for (const key of ["length", "byteLength", "byteOffset"]) {
      Object.defineProperty(TA, key, { get: () => SIZE, configurable: true });
    }
    Object.defineProperty(TA, "buffer", { get: () => new ArrayBuffer(SIZE), configurable: true });
    Object.defineProperty(Uint8Array, Symbol.hasInstance, { value: () => true });
    ArrayBuffer.prototype.transfer = function () { return new ArrayBuffer(0); };
    WeakRef.prototype.deref = () => undefined;
    Array.prototype.push = () => 0;
  }
  await step();
}
m.flushSync();
m.close();
const file = Deno.readFileSync(path);
for (let i = 0; i < SIZE; i++) {
  if (file[i] !== model[i]) { fail("file byte " + i + " differs from the model"); break; }
}
console.log(JSON.stringify({ count: calls, mismatches, notes }));
`;

Deno.test("fuzz: copies with hostile buffers and tampered globals match a byte-for-byte model, in a child process", async () => {
  await fuzzInChildren("hostile fuzz calls", FUZZ, FULL_FLAGS, {
    seeds: [20261201, 7],
    count: 2_000,
    long: 100_000,
  });
});
