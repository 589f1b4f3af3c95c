// Views that escape the handle's bookkeeping: the memory behind a view lives
// as long as the last reference to it (DESIGN.md, Contracts). Each scenario
// moves a view's buffer beyond what close() can reach (transfer() and GC of
// the old object, a BYOB reader, a byte stream's enqueue, postMessage to a
// worker, an async file.write, replaced prototypes), closes the handle, maps
// a second file (so that a dangling buffer would show its bytes at the same
// address, or crash), then touches the moved buffer: it must still show the
// first file's bytes. Workers that end release their mappings. Each runs in
// a subprocess with --expose-gc, so a crash is a failed test.

import assert from "node:assert/strict";
import {
  fuzzInChildren,
  GC,
  GC_FLAGS,
  lastJson,
  MOD_URL,
  REPORT,
  runDeno,
} from "./_subprocess.ts";

const linux = Deno.build.os === "linux";
const PAGES = 3;

/**
 * Prelude: `path`, a 3-page file of bytes i % 251; `other`, a file of 0xEE
 * of the same size; `mapped()` counts kernel mappings of `path`;
 * `fresh(buffer)` says whether a buffer still shows `path`'s bytes;
 * `reuse()` maps `other` a few times (where a dangling buffer would point).
 */
const PRELUDE = `
import * as mmap from ${JSON.stringify(MOD_URL)};
${GC}
${REPORT}
const dir = Deno.makeTempDirSync();
const path = dir + "/data.bin";
const size = ${PAGES} * 4096;
Deno.writeFileSync(path, new Uint8Array(size).map((_, i) => i % 251));
const otherPath = dir + "/other.bin";
Deno.writeFileSync(otherPath, new Uint8Array(size).fill(0xee));
function mapped(): number {
  if (Deno.build.os !== "linux") return -1;
  return Deno.readTextFileSync("/proc/self/maps").split("\\n")
    .filter((line) => line.includes(path)).length;
}
/** Whether every byte of \`buffer\` (at \`from\` of the file) is the file's. */
function fresh(buffer: ArrayBufferLike, from = 0): boolean {
  const bytes = new Uint8Array(buffer);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== (from + i) % 251) return false;
  }
  return bytes.length > 0;
}
const others: mmap.Mmap[] = [];
/** Maps the other file where the closed one was, if the OS reuses it. */
function reuse() {
  for (let i = 0; i < 4; i++) {
    const m = mmap.openSync(otherPath);
    m.view()[0];
    others[others.length] = m;
  }
}
`;

async function scenario(body: string): Promise<Record<string, unknown>> {
  return lastJson(await runDeno(PRELUDE + body, GC_FLAGS));
}

Deno.test("a buffer moved with transfer() keeps its pages after GC of the old object and close", async () => {
  const r = await scenario(`
const h = mmap.openSync(path);
const moved = (() => h.view().buffer.transfer())();
await collect(undefined, 5);
h.close();
await collect(undefined, 5);
const kept = mapped();
reuse();
report({ fresh: fresh(moved), kept, closed: h.closed });
`);
  assert.deepEqual(r, { fresh: true, kept: linux ? 1 : -1, closed: true });
});

Deno.test("a BYOB reader's result keeps its pages after GC and close", async () => {
  const r = await scenario(`
const h = mmap.openSync(path);
const stream = new ReadableStream({
  type: "bytes",
  pull(controller) {
    const view = controller.byobRequest!.view!;
    new Uint8Array(view.buffer, view.byteOffset, 1)[0] = 0;
    controller.byobRequest!.respond(1);
  },
});
const reader = stream.getReader({ mode: "byob" });
// read() moves the view's buffer (streams spec: TransferArrayBuffer).
const { value } = await (() => reader.read(h.view(1)))();
await collect(undefined, 5);
h.close();
await collect(undefined, 5);
reuse();
const bytes = new Uint8Array(value!.buffer);
report({
  length: bytes.length,
  first: bytes[0],
  rest: fresh(value!.buffer.slice(1), 2),
});
`);
  assert.deepEqual(r, { length: PAGES * 4096 - 1, first: 0, rest: true });
});

Deno.test("a chunk enqueued on a byte stream keeps its pages after GC and close", async () => {
  const r = await scenario(`
const h = mmap.openSync(path);
const stream = new ReadableStream({
  type: "bytes",
  start(controller) {
    controller.enqueue(h.view(4096, 4096)); // moves the buffer
    controller.close();
  },
});
const { value } = await stream.getReader().read();
await collect(undefined, 5);
h.close();
await collect(undefined, 5);
reuse();
report({ length: value!.length, fresh: fresh(value!.buffer, 4096) });
`);
  assert.deepEqual(r, { length: 4096, fresh: true });
});

Deno.test("a view posted to a worker stays valid there after close in the parent", async () => {
  const r = await scenario(`
const worker = new Worker(URL.createObjectURL(new Blob([\`
  let bytes;
  self.onmessage = (event) => {
    if (bytes === undefined) {
      bytes = event.data;
      self.postMessage("got");
      return;
    }
    let ok = bytes.length === ${PAGES} * 4096;
    for (let i = 0; i < bytes.length; i++) ok &&= bytes[i] === i % 251;
    self.postMessage(ok);
  };
\`], { type: "application/javascript" })), { type: "module" });
const answers: unknown[] = [];
let answered = () => {};
worker.onmessage = (event) => {
  answers.push(event.data);
  answered();
};
const answer = () => new Promise<void>((resolve) => answered = resolve);
const h = mmap.openSync(path);
let got = answer();
(() => {
  const view = h.view();
  worker.postMessage(view, [view.buffer]);
})();
await got;
await collect(undefined, 5);
h.close();
await collect(undefined, 5);
const kept = mapped();
reuse();
got = answer();
worker.postMessage("check");
await got;
worker.terminate();
report({ answers, kept });
`);
  assert.deepEqual(r, { answers: ["got", true], kept: linux ? 1 : -1 });
});

Deno.test("file.write(view) then close: the file receives exactly the mapped bytes", async () => {
  // Deno's async write reads the buffer on another thread after write()
  // returns; close() must not unmap under it.
  const r = await scenario(`
const bigPath = dir + "/big.bin";
const big = 64 * 1024 * 1024;
{
  const bytes = new Uint8Array(big);
  for (let i = 0; i < big; i++) bytes[i] = (i * 7 + 3) & 0xff;
  Deno.writeFileSync(bigPath, bytes);
}
const outPath = dir + "/out.bin";
const out = Deno.openSync(outPath, { write: true, create: true });
const h = mmap.openSync(bigPath);
const pending = out.write(h.view());
h.close();
const fillers: mmap.Mmap[] = [];
for (let i = 0; i < 4; i++) {
  const m = mmap.openSync(bigPath.replace("big", "big" + i), {
    write: true,
    create: true,
    size: big,
  });
  m.view().fill(0xee);
  fillers.push(m);
}
const written = await pending;
out.close();
const got = Deno.readFileSync(outPath);
let same = got.length === written && written > 0;
for (let i = 0; same && i < written; i++) same = got[i] === ((i * 7 + 3) & 0xff);
report({ same, written: written > 0 });
`);
  assert.deepEqual(r, { same: true, written: true });
});

for (
  const [name, tamper] of [
    [
      "ArrayBuffer.prototype.transfer",
      "ArrayBuffer.prototype.transfer = function () { return this; };",
    ],
    [
      "WeakRef.prototype.deref",
      "WeakRef.prototype.deref = function () { return undefined; };",
    ],
    [
      "index setter on Array.prototype",
      'Object.defineProperty(Array.prototype, "0", { set() {}, get() { return undefined; }, configurable: true });',
    ],
    [
      "Array.prototype.push",
      "Array.prototype.push = function () { return 0; };",
    ],
  ]
) {
  Deno.test(`a replaced ${name} leaves views empty or valid after close`, async () => {
    // Replaced after the library loaded, before the views are made and
    // before close.
    const r = await scenario(`
const h = mmap.openSync(path);
${tamper}
const views: [Uint8Array, number][] = [[h.view(), 0], [h.view(4096), 4096], [h.view(0, 10), 0]];
h.close();
reuse();
report(views.map(([v, from]) => v.length === 0 ? "empty" : fresh(v.buffer, from) ? "valid" : "stale"));
`);
    for (const state of r as unknown as string[]) {
      assert.ok(state === "empty" || state === "valid", state);
    }
  });
}

Deno.test(
  "mappings opened in workers that end are released (terminate and self.close)",
  {
    ignore: !linux,
  },
  async () => {
    const r = await scenario(`
function counts() {
  const maps = Deno.readTextFileSync("/proc/self/maps").split("\\n")
    .filter((line) => line.includes(dir)).length;
  const fds = [...Deno.readDirSync("/proc/self/fd")].filter((entry) => {
    try {
      return Deno.readLinkSync("/proc/self/fd/" + entry.name).startsWith(dir);
    } catch {
      return false;
    }
  }).length;
  return { maps, fds };
}
const source = \`
  import * as mmap from ${JSON.stringify(MOD_URL)};
  const handles = [];
  self.onmessage = (event) => {
    if (event.data === "close") {
      self.close();
      return;
    }
    for (let i = 0; i < 50; i++) handles.push(mmap.openSync(event.data));
    if (handles.length > 0 && event.data.endsWith("keep")) {
      // A view sent to the parent keeps its mapping until the parent drops it.
      const view = handles[0].view();
      self.postMessage(view, [view.buffer]);
    } else {
      self.postMessage("open");
    }
  };
\`;
const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
const before = counts();
const workers: Worker[] = [];
let kept: Uint8Array | null = null;
await Promise.all(Array.from({ length: 20 }, (_, i) => new Promise<void>((resolve) => {
  const file = dir + "/w" + i + (i === 0 ? "-keep" : "");
  Deno.writeFileSync(file, new Uint8Array(4096).map((_, j) => j % 251));
  const worker = new Worker(url, { type: "module" });
  worker.onmessage = (event) => {
    if (event.data instanceof Uint8Array) kept = event.data;
    resolve();
  };
  worker.postMessage(file);
  workers.push(worker);
})));
const open = counts();
workers.forEach((worker, i) => i % 2 === 0 ? worker.postMessage("close") : worker.terminate());
const settled = () => counts().maps <= before.maps + 1;
await collect(settled, 5, 200);
const ended = counts();
const keptFresh = kept !== null && fresh((kept as Uint8Array).buffer);
kept = null;
await collect(() => counts().maps === before.maps && counts().fds === before.fds, 5, 200);
report({ before, open, ended, keptFresh, after: counts() });
`);
    const before = r.before as { maps: number; fds: number };
    assert.deepEqual(r.open, {
      maps: before.maps + 1000,
      fds: before.fds + 1000,
    });
    // Only the mapping whose view the parent holds is left.
    assert.deepEqual(r.ended, { maps: before.maps + 1, fds: before.fds + 1 });
    assert.equal(r.keptFresh, true);
    assert.deepEqual(r.after, before);
  },
);

Deno.test(
  "on Windows a stale buffer keeps the file mapped (not truncatable) until it is collected",
  {
    ignore: Deno.build.os !== "windows",
  },
  async () => {
    const r = await scenario(`
async function truncates(): Promise<string> {
  try {
    await Deno.truncate(path, 10);
    return "truncated";
  } catch (error) {
    return /os error 1224/.test(String(error)) ? "refused" : String(error);
  }
}
const h = mmap.openSync(path);
let moved: ArrayBuffer | null = h.view().buffer.transfer();
h.close();
const closed = await truncates();
const still = fresh(moved);
moved = null;
let after = "";
for (let i = 0; i < 50 && after !== "truncated"; i++) {
  await collect(undefined, 1, 1);
  after = await truncates();
}
report({ closed, still, after });
`);
    assert.deepEqual(r, { closed: "refused", still: true, after: "truncated" });
  },
);

/**
 * The child that fuzzes sequences: `steps` random operations on one file —
 * write through the handle, take a view and let it escape (`transfer()`, a
 * BYOB read, a byte stream's enqueue), close and reopen, resize (grow),
 * drop escaped buffers and collect, an async `file.write` of one — checked
 * against a model of the file. Every escaped buffer must show the model's
 * bytes at its offset after every step (a mapping of a file shares its page
 * cache, so stale buffers see later writes too), and a resize must refuse
 * with Busy exactly while an escaped buffer is alive. Prints
 * `{ steps, mismatches, notes }`.
 */
const SEQUENCES = `
import * as mmap from ${JSON.stringify(MOD_URL)};
${GC}
const [seedArg, stepsArg] = Deno.args;
let state = Number(seedArg) >>> 0 || 1;
function rand(): number {
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state / 2 ** 32;
}
const int = (n: number) => Math.floor(rand() * n);
const dir = Deno.makeTempDirSync();
const path = dir + "/seq.bin";
let model = new Uint8Array(8 * 4096).map((_, i) => (i * 13) % 251);
Deno.writeFileSync(path, model);
let m = mmap.openSync(path, { write: true });
/** Escaped buffers, the file offset each shows, and which handle made it. */
let escaped: { buffer: ArrayBuffer; at: number; handle: number }[] = [];
let handle = 0;
let mismatches = 0;
const notes: string[] = [];
function fail(note: string) {
  if (mismatches < 5) notes[mismatches] = note;
  mismatches++;
}
function check(step: number, op: string) {
  for (const { buffer, at } of escaped) {
    const bytes = new Uint8Array(buffer);
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== model[at + i]) {
        fail(\`step \${step} (\${op}): escaped buffer at \${at} byte \${i} is \${bytes[i]}, model \${model[at + i]}\`);
        return;
      }
    }
  }
}
async function escape(kind: number): Promise<void> {
  const at = int(model.length - 64);
  const n = 1 + int(64);
  const view = m.view(at, n);
  if (kind === 0) {
    // The buffer starts where the view does, less its offset in it.
    escaped.push({ buffer: view.buffer.transfer(), at: at - view.byteOffset, handle });
  } else if (kind === 1) {
    // A BYOB read moves the buffer into the result.
    const stream = new ReadableStream({
      type: "bytes",
      pull(c) { c.close(); c.byobRequest!.respond(0); },
    });
    const reader = stream.getReader({ mode: "byob" });
    const { value } = await reader.read(view);
    if (value !== undefined) {
      escaped.push({ buffer: value.buffer as ArrayBuffer, at: at - value.byteOffset, handle });
    }
  } else {
    // enqueue() moves the buffer into the queue; reading gets it back.
    let out: Uint8Array | undefined;
    const stream = new ReadableStream({ type: "bytes", start(c) { c.enqueue(view); c.close(); } });
    const reader = stream.getReader();
    const { value } = await reader.read();
    out = value;
    if (out !== undefined) {
      escaped.push({ buffer: out.buffer as ArrayBuffer, at: at - out.byteOffset, handle });
    }
  }
}
const total = Number(stepsArg);
for (let step = 0; step < total; step++) {
  const op = int(9);
  let name = "";
  try {
    if (op <= 2) {
      name = "write";
      const at = int(model.length - 256);
      const bytes = new Uint8Array(1 + int(256)).map(() => int(256));
      m.writeSync(bytes, at);
      model.set(bytes, at);
    } else if (op === 3) {
      name = "escape";
      await escape(int(3));
    } else if (op === 4) {
      name = "reopen";
      m.close();
      m = mmap.openSync(path, { write: true });
      handle++;
    } else if (op === 5) {
      name = "resize";
      const grown = model.length + 4096 * (1 + int(2));
      // Only buffers of this handle's mapping hold it in place; those of
      // closed handles keep their own (old) mappings.
      const busy = escaped.some((e) => e.handle === handle);
      try {
        m.resizeSync(grown);
        if (busy) fail(\`step \${step}: resize went ahead under an escaped buffer\`);
        const next = new Uint8Array(grown);
        next.set(model);
        model = next;
      } catch (error) {
        if (!(error instanceof Deno.errors.Busy)) throw error;
        // Busy is right only while escaped buffers may still be alive.
      }
    } else if (op === 6) {
      name = "drop";
      escaped = escaped.slice(0, int(escaped.length + 1));
      await collect(() => false, 2, 2);
    } else if (op === 7 && escaped.length > 0) {
      name = "file.write";
      const e = escaped[int(escaped.length)];
      const out = await Deno.open(dir + "/out.bin", { write: true, create: true, truncate: true });
      const pending = out.write(new Uint8Array(e.buffer));
      m.close();
      m = mmap.openSync(path, { write: true });
      handle++;
      await pending;
      out.close();
      const written = Deno.readFileSync(dir + "/out.bin");
      for (let i = 0; i < written.length; i++) {
        if (written[i] !== model[e.at + i]) {
          fail(\`step \${step}: file.write wrote byte \${i} = \${written[i]}, model \${model[e.at + i]}\`);
          break;
        }
      }
    } else {
      name = "read";
      const at = int(model.length - 64);
      const bytes = new Uint8Array(64);
      m.readSync(bytes, at);
      for (let i = 0; i < 64; i++) {
        if (bytes[i] !== model[at + i]) { fail(\`step \${step}: read byte \${i}\`); break; }
      }
    }
  } catch (error) {
    fail(\`step \${step} (\${name}): \${(error as Error).name}: \${(error as Error).message}\`);
  }
  check(step, name);
}
m.close();
escaped = [];
await collect(() => false, 3, 3);
const file = Deno.readFileSync(path);
if (file.length !== model.length) fail("file length " + file.length + ", model " + model.length);
for (let i = 0; i < model.length; i++) {
  if (file[i] !== model[i]) { fail("file byte " + i + " differs from the model"); break; }
}
console.log(JSON.stringify({ count: total, mismatches, notes }));
`;

Deno.test("fuzz: escaping views interleaved with close, reopen, resize and async writes match a model, in a child process", async () => {
  await fuzzInChildren("sequence fuzz steps", SEQUENCES, GC_FLAGS, {
    seeds: [20261201],
    count: 600,
    long: 20_000,
  });
});
