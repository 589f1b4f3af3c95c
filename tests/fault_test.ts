// The SIGBUS guard: a file truncated under a mapping must not crash the
// process. Every scenario runs in a subprocess, whose exit status and output
// are checked, because a failure here is a dead process.

import assert from "node:assert/strict";
import {
  FULL_FLAGS,
  lastJson,
  MOD_URL,
  REPORT,
  scenario as runner,
} from "./_subprocess.ts";
import { platformAsset } from "../src/platform.ts";
import { NO_FULL_DISK, withSmallDisk } from "./_full_disk.ts";

const unix = Deno.build.os !== "windows";
const FLAGS = [...FULL_FLAGS, "--allow-run", "--allow-env"];
const LIB_PATH = new URL(`../dist/${platformAsset().asset}`, import.meta.url)
  .pathname;
const LIBC = Deno.build.os === "darwin" ? "libSystem.B.dylib" : "libc.so.6";

/**
 * Prelude of every scenario: a 16-page file whose page `p` is filled with
 * the byte `65 + p` ("A", "B", …), `truncate(size, how)` by this process or
 * by another one, and `report(value)` to print one JSON line.
 */
const PRELUDE = `
import * as mmap from ${JSON.stringify(MOD_URL)};
const PAGE = 4096;
const PAGES = 16;
const dir = Deno.makeTempDirSync();
const path = dir + "/data.bin";
const bytes = new Uint8Array(PAGES * PAGE);
for (let p = 0; p < PAGES; p++) bytes.fill(65 + p, p * PAGE, (p + 1) * PAGE);
Deno.writeFileSync(path, bytes);
function truncate(size: number, how: "self" | "other") {
  if (how === "self") return Deno.truncateSync(path, size);
  const r = new Deno.Command(Deno.execPath(), {
    args: ["eval", \`Deno.truncateSync(\${JSON.stringify(path)}, \${size})\`],
  }).outputSync();
  if (!r.success) throw new Error("truncate in a child failed");
}
function attempt(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    return (e as Error).name;
  }
}
${REPORT}`;

const scenario = runner(PRELUDE, FLAGS);

for (const how of ["self", "other"] as const) {
  for (const write of [false, true]) {
    const kind = write ? "read-write" : "read-only";
    Deno.test({
      name:
        `truncation by ${how} process: ${kind} mapping reads fail, view reads zeros, data before the cut intact`,
      ignore: !unix,
      async fn() {
        const out = await scenario(`
const m = mmap.openSync(path, { write: ${write} });
const view = m.view();
const dst = new Uint8Array(PAGE);
truncate(4 * PAGE + 100, ${JSON.stringify(how)});
const r = {};
// Pages before the cut, and the valid part of the last page.
r.before = attempt(() => m.readSync(dst, 3 * PAGE)) + ":" + dst[0] + ":" + dst[PAGE - 1];
const head = new Uint8Array(100);
r.partial = attempt(() => m.readSync(head, 4 * PAGE)) + ":" + head.every((b) => b === 69);
// Past the cut: native read, then a view read, then a read crossing the cut.
r.past = attempt(() => m.readSync(dst, 9 * PAGE));
r.viewPast = [view[9 * PAGE], view[12 * PAGE + 7], view[PAGES * PAGE - 1]];
r.crossing = attempt(() => m.readSync(new Uint8Array(2 * PAGE), 4 * PAGE));
r.asyncPast = await mmap.read(m, dst, 6 * PAGE).then(() => "ok", (e) => e.name);
r.write = ${write} ? attempt(() => m.writeSync(new Uint8Array([1, 2, 3]), 10 * PAGE)) : "n/a";
r.viewWrite = (view[11 * PAGE] = 7, view[11 * PAGE]);
r.flush = ${write} ? attempt(() => m.flushSync()) : "n/a";
// A different failure on this thread first, so a stale message would show.
attempt(() => mmap.openSync(path + ".missing"));
r.asyncFlush = ${write}
  ? await m.flush().then(() => "ok", (e) => e.name + ": " + e.message)
  : "n/a";
// Still correct, and still sticky, afterwards.
r.again = attempt(() => m.readSync(dst, 0)) + ":" + dst[0];
r.sticky = attempt(() => m.readSync(dst, 9 * PAGE));
r.viewBefore = String.fromCharCode(view[0], view[3 * PAGE], view[4 * PAGE + 99]);
r.size = Deno.statSync(path).size;
m.close();
r.closed = view.length;
report(r);
`);
        const r = lastJson(out);
        assert.equal(r.before, "ok:68:68");
        assert.equal(r.partial, "ok:true");
        assert.equal(r.past, "UnexpectedEof");
        assert.deepEqual(r.viewPast, [0, 0, 0]);
        assert.equal(r.crossing, "UnexpectedEof");
        assert.equal(r.asyncPast, "UnexpectedEof");
        assert.equal(r.write, write ? "UnexpectedEof" : "n/a");
        assert.equal(r.viewWrite, 7);
        assert.equal(r.flush, write ? "UnexpectedEof" : "n/a");
        // The async flush fails on a worker thread; its message must still
        // carry that failure's details, not a stale one.
        if (write) {
          assert.match(
            String(r.asyncFlush),
            /^UnexpectedEof: mmap flush ".*": .*trunc/i,
          );
        } else assert.equal(r.asyncFlush, "n/a");
        assert.equal(r.again, "ok:65");
        assert.equal(r.sticky, "UnexpectedEof");
        assert.equal(r.viewBefore, "ADE");
        assert.equal(r.size, 4 * 4096 + 100, "the file is not regrown");
        assert.equal(r.closed, 0);
      },
    });
  }
}

Deno.test({
  name: "truncation: optimized JS loops over a view read zeros past the cut",
  ignore: !unix,
  async fn() {
    const r = lastJson(
      await scenario(`
const m = mmap.openSync(path, { write: true });
const u8 = m.view();
const f64 = new Float64Array(u8.buffer);
function sum(a: Uint8Array, from: number, to: number) {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i];
  return s;
}
let warm = 0;
for (let k = 0; k < 2000; k++) warm += sum(u8, 0, 2 * PAGE);
truncate(4 * PAGE, "other");
const r = {
  warm,
  past: sum(u8, 6 * PAGE, 9 * PAGE),
  valid: sum(u8, PAGE, 2 * PAGE),
  f64: (f64[10 * PAGE / 8] = 3.5, f64[10 * PAGE / 8]),
  text: new TextDecoder().decode(u8.subarray(14 * PAGE, 14 * PAGE + 4)),
  dataView: String(new DataView(u8.buffer).getBigUint64(7 * PAGE)),
  slice: Array.from(u8.slice(5 * PAGE, 5 * PAGE + 4)),
};
m.close();
report(r);
`),
    );
    assert.equal(r.warm, 2000 * (65 + 66) * 4096);
    assert.equal(r.past, 0);
    assert.equal(r.valid, 66 * 4096);
    assert.equal(r.f64, 3.5);
    assert.equal(r.text, "\0\0\0\0");
    assert.equal(r.dataView, "0");
    assert.deepEqual(r.slice, [0, 0, 0, 0]);
  },
});

Deno.test({
  name: "truncation: a view read in a Worker gives zeros, not a crash",
  ignore: !unix,
  async fn() {
    const r = lastJson(
      await scenario(`
const code = \`
  import { openSync } from \${JSON.stringify(${JSON.stringify(MOD_URL)})};
  const m = openSync(\${JSON.stringify(path)});
  const v = m.view();
  self.onmessage = () => {
    const dst = new Uint8Array(8);
    let native = "ok";
    try { m.readSync(dst, 9 * 4096); } catch (e) { native = e.name; }
    self.postMessage({ past: v[9 * 4096], valid: v[4096], native });
    m.close();
  };
  self.postMessage("ready");
\`;
const url = URL.createObjectURL(new Blob([code], { type: "application/javascript" }));
const w = new Worker(url, { type: "module" });
const messages: unknown[] = [];
await new Promise<void>((resolve) => {
  w.onmessage = (e) => {
    messages.push(e.data);
    if (e.data === "ready") {
      truncate(2 * PAGE, "other");
      w.postMessage("go");
    } else resolve();
  };
});
w.terminate();
report(messages[1]);
`),
    );
    assert.deepEqual(r, { past: 0, valid: 66, native: "UnexpectedEof" });
  },
});

Deno.test({
  name:
    "truncation to zero and regrowth: the mapping stays lost, a new one sees the file",
  ignore: !unix,
  async fn() {
    const r = lastJson(
      await scenario(`
const m = mmap.openSync(path);
truncate(0, "other");
const r = {};
r.first = attempt(() => m.readSync(new Uint8Array(1), 0));
Deno.writeFileSync(path, bytes);
r.stillLost = attempt(() => m.readSync(new Uint8Array(1), 0));
m.close();
const fresh = mmap.openSync(path);
const dst = new Uint8Array(1);
r.fresh = attempt(() => fresh.readSync(dst, 15 * PAGE)) + ":" + dst[0];
fresh.close();
report(r);
`),
    );
    assert.deepEqual(r, {
      first: "UnexpectedEof",
      stillLost: "UnexpectedEof",
      fresh: "ok:80",
    });
  },
});

Deno.test({
  name: "a genuine SIGSEGV elsewhere still crashes with the guard installed",
  ignore: !unix,
  async fn() {
    const out = await scenario(`
const m = mmap.openSync(path);
console.log("guard installed");
const view = new Deno.UnsafePointerView(Deno.UnsafePointer.create(8n)!);
console.log("UNEXPECTED", view.getUint8());
`);
    assert.match(out.stdout, /guard installed/);
    assert.doesNotMatch(out.stdout, /UNEXPECTED/);
    assert.equal(out.signal, "SIGSEGV", `${out.code} ${out.stderr}`);
  },
});

/** Maps the file with libc directly: a mapping the guard does not know. */
const FOREIGN = `
const libc = Deno.dlopen(${JSON.stringify(LIBC)}, {
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
});
const fd = libc.symbols.open(new TextEncoder().encode(path + "\\0"), 0);
const foreign = libc.symbols.mmap(null, BigInt(PAGES * PAGE), 1, 1, fd, 0n);
const foreignView = new Uint8Array(
  Deno.UnsafePointerView.getArrayBuffer(foreign!, PAGES * PAGE),
);
`;

for (const guarded of [false, true]) {
  Deno.test({
    name: `a SIGBUS in a mapping that is not ours still kills the process (${
      guarded ? "guard installed" : "baseline"
    })`,
    ignore: !unix,
    async fn() {
      const out = await scenario(`
${FOREIGN}
${guarded ? "const m = mmap.openSync(path);" : ""}
truncate(PAGE, "other");
console.log("first page", foreignView[0]);
console.log("UNEXPECTED", foreignView[9 * PAGE]);
`);
      assert.match(out.stdout, /first page 65/);
      assert.doesNotMatch(out.stdout, /UNEXPECTED/);
      assert.equal(out.signal, "SIGBUS", `${out.code} ${out.stderr}`);
    },
  });
}

Deno.test({
  name:
    "a SIGBUS sent with kill reaches the previous handler (Deno's), as without the guard",
  ignore: !unix,
  async fn() {
    // Deno's handler (Rust std's stack-overflow handler) resets SIGBUS to its
    // default action and returns: the first kill is survived, the second is
    // not. Had our handler applied the default action itself, the first
    // would kill.
    const out = await scenario(`
const m = mmap.openSync(path);
Deno.kill(Deno.pid, "SIGBUS");
await new Promise((r) => setTimeout(r, 300));
console.log("survived the first");
Deno.kill(Deno.pid, "SIGBUS");
await new Promise((r) => setTimeout(r, 300));
console.log("UNEXPECTED");
`);
    assert.match(out.stdout, /survived the first/);
    assert.doesNotMatch(out.stdout, /UNEXPECTED/);
    assert.equal(out.signal, "SIGBUS");
  },
});

Deno.test({
  name:
    "the native library stays loaded after dlclose, so its handler never dangles",
  ignore: !unix,
  async fn() {
    // Uses the library directly, as another copy of the package would, and
    // closes it while a mapping (and the handler) exist.
    const r = lastJson(
      await scenario(`
const lib = Deno.dlopen(${JSON.stringify(LIB_PATH)}, {
  mmap_open: { parameters: ["buffer", "u32", "buffer"], result: "i32" },
});
const name = new TextEncoder().encode(path);
const out = new BigUint64Array(3);
const status = lib.symbols.mmap_open(name, name.length, out);
const view = new Uint8Array(
  Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(out[1])!, Number(out[2])),
);
lib.close();
truncate(PAGE, "other");
report({ status, past: view[9 * PAGE], valid: view[0] });
`),
    );
    assert.deepEqual(r, { status: 0, past: 0, valid: 65 });
  },
});

Deno.test({
  name: "mappings that were never truncated are untouched by the guard",
  ignore: !unix,
  async fn() {
    // Another file is truncated: this mapping keeps every byte.
    const r = lastJson(
      await scenario(`
const otherPath = dir + "/other.bin";
Deno.writeFileSync(otherPath, bytes);
const a = mmap.openSync(path);
const b = mmap.openSync(otherPath);
Deno.truncateSync(otherPath, 0);
const dst = new Uint8Array(PAGES * PAGE);
const r = { b: attempt(() => b.readSync(new Uint8Array(1), 0)) };
r.a = attempt(() => a.readSync(dst, 0)) + ":" + dst.every((x, i) => x === bytes[i]);
a.close();
b.close();
report(r);
`),
    );
    assert.deepEqual(r, { b: "UnexpectedEof", a: "ok:true" });
  },
});

Deno.test({
  name:
    "truncation under a window mapped at an unaligned offset: zeros and UnexpectedEof past the cut",
  ignore: !unix,
  async fn() {
    const r = lastJson(
      await scenario(`
const offset = 3 * PAGE + 5;
const m = mmap.openSync(path, { offset, length: 8 * PAGE });
const view = m.view();
truncate(6 * PAGE, "other");
const dst = new Uint8Array(10);
const r = {
  first: view[0],
  beforeCut: attempt(() => m.readSync(dst, 2 * PAGE)) + ":" + dst[0],
  pastCut: attempt(() => m.readSync(dst, 4 * PAGE)),
  viewPast: view[5 * PAGE],
};
m.close();
report(r);
`),
    );
    assert.deepEqual(r, {
      first: 68,
      beforeCut: "ok:70",
      pastCut: "UnexpectedEof",
      viewPast: 0,
    });
  },
});

Deno.test({
  name:
    "named shared memory truncated by another process: UnexpectedEof and zeros, not a crash",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const name = `mmap_fault_${crypto.randomUUID()}`;
    try {
      const r = lastJson(
        await scenario(`
const m = mmap.openSharedSync(${
          JSON.stringify(name)
        }, { create: true, size: 8 * PAGE });
m.view().fill(9);
const view = m.view();
const r = new Deno.Command(Deno.execPath(), {
  args: ["eval", \`Deno.truncateSync("/dev/shm/${name}", 4096)\`],
}).outputSync();
const dst = new Uint8Array(4);
report({
  truncated: r.success,
  before: attempt(() => m.readSync(dst, 0)) + ":" + dst[0],
  past: attempt(() => m.readSync(dst, 3 * PAGE)),
  viewPast: view[5 * PAGE],
});
m.close();
`),
      );
      assert.deepEqual(r, {
        truncated: true,
        before: "ok:9",
        past: "UnexpectedEof",
        viewPast: 0,
      });
    } finally {
      await Deno.remove(`/dev/shm/${name}`).catch(() => {});
    }
  },
});

/**
 * Scenario prelude for a full disk: on the 1 MiB tmpfs at `small`, a 4 MiB
 * sparse file whose pages 600..609 hold the byte 5 (they have space), then
 * the filesystem is filled, so every other page is a hole that cannot be
 * allocated. `code(f)` is the error's name and `code`.
 */
function fullDisk(small: string): string {
  return `
const small = ${JSON.stringify(small)};
const sparse = small + "/sparse.bin";
{
  const f = Deno.openSync(sparse, { write: true, create: true });
  f.truncateSync(4 << 20);
  f.seekSync(600 * PAGE, Deno.SeekMode.Start);
  f.writeSync(new Uint8Array(10 * PAGE).fill(5));
  f.close();
}
try {
  Deno.writeFileSync(small + "/filler", new Uint8Array(4 << 20));
} catch { /* full */ }
function code(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    return (e as Error).name + ":" + (e as { code?: number }).code +
      (/truncat/i.test((e as Error).message) ? ":says truncated" : "");
  }
}
`;
}

Deno.test({
  name:
    "out of space under a view: only the page without room is lost; ENOSPC from the next call, flush and close, which still releases",
  ignore: !unix || NO_FULL_DISK !== undefined,
  async fn() {
    await withSmallDisk(async (small) => {
      const r = lastJson(
        await scenario(`
${fullDisk(small)}
const m = mmap.openSync(sparse, { write: true });
const view = m.view();
view[0] = 1; // a hole: no room for it
view[600 * PAGE] = 7; // a page with room, after the lost one
view[605 * PAGE + 1] = 8;
const r = {
  read: code(() => m.readSync(new Uint8Array(1), 601 * PAGE)),
  write: code(() => m.writeSync(new Uint8Array(1), 602 * PAGE)),
  flush: code(() => m.flushSync()),
  asyncFlush: await m.flush().then(() => "ok", (e) => e.name + ":" + e.code),
  resize: code(() => m.resizeSync(PAGE)),
  close: code(() => m.close()),
  closed: m.closed,
  live: mmap.stats().count,
  again: code(() => m.close()),
};
const data = Deno.readFileSync(sparse);
r.file = [data[0], data[600 * PAGE], data[600 * PAGE + 1], data[605 * PAGE + 1], data.length];
report(r);
`),
      );
      const enospc = "MmapError:28";
      assert.deepEqual(r, {
        read: enospc,
        write: enospc,
        flush: enospc,
        asyncFlush: enospc,
        resize: enospc,
        close: enospc,
        closed: true,
        live: 0,
        again: "ok",
        // The lost page reads as the hole it is; the pages with room kept
        // what was written through the view.
        file: [0, 7, 5, 8, 4 << 20],
      });
    });
  },
});

Deno.test({
  name:
    "out of space in a native write: pages with room get the bytes, the call fails with ENOSPC, not truncation",
  ignore: !unix || NO_FULL_DISK !== undefined,
  async fn() {
    await withSmallDisk(async (small) => {
      const r = lastJson(
        await scenario(`
${fullDisk(small)}
const m = mmap.openSync(sparse, { write: true });
const r = {
  write: code(() => m.writeSync(new Uint8Array(3 * PAGE).fill(9), 599 * PAGE)),
  next: code(() => m.readSync(new Uint8Array(1), 0)),
  view: m.view()[600 * PAGE],
};
try { m.close(); } catch { /* reported above */ }
const data = Deno.readFileSync(sparse);
r.file = [data[599 * PAGE], data[600 * PAGE], data[602 * PAGE - 1], data[602 * PAGE]];
report(r);
`),
      );
      assert.deepEqual(r, {
        write: "MmapError:28",
        next: "MmapError:28",
        view: 9,
        file: [0, 9, 9, 5],
      });
    });
  },
});
