// What the public types promise, checked by the compiler: `deno check` (the
// "types" gate of scripts/ok.sh) and `deno test` type-check this file. Each
// `@ts-expect-error` line must NOT compile (if it ever does, the directive
// itself becomes an error); every other line must. The lines that must not
// compile live in functions that never run; the ones that must compile also
// run, against a real file.

import assert from "node:assert/strict";
import {
  type Advice,
  advise,
  close,
  flush,
  type FlushMode,
  flushSync,
  type MappingInfo,
  type MappingKind,
  type MappingStats,
  Mmap,
  type MmapHandle,
  notify,
  open,
  openAnonymousSync,
  type OpenOptions,
  openSync,
  openWriteWithSize,
  read,
  readSync,
  remap,
  remapSync,
  stats,
  stream,
  type StreamOptions,
  view,
  wait,
  waitAsync,
  type WaitOptions,
  type WaitOutcome,
  write,
  writeSync,
} from "../mod.ts";
import { pattern, withTempDir } from "./_helpers.ts";

/** `true` when `A` and `B` are the same type, `false` otherwise. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;
/** Compiles only when its argument is `true`. */
function same<T extends true>(_proof?: T): void {}

// The string unions are exactly these names.
same<
  Equals<
    Advice,
    | "normal"
    | "sequential"
    | "random"
    | "willneed"
    | "dontneed"
    | "hugepage"
    | "nohugepage"
  >
>();
same<Equals<FlushMode, "sync" | "async" | "durable">>();
same<Equals<MappingKind, "file" | "anonymous" | "shared">>();
// What the async and sync calls resolve to.
same<Equals<ReturnType<typeof open>, Promise<Mmap>>>();
same<Equals<ReturnType<typeof openSync>, Mmap>>();
same<Equals<ReturnType<typeof read>, Promise<number>>>();
same<Equals<ReturnType<typeof readSync>, number>>();
same<Equals<ReturnType<typeof flush>, Promise<void>>>();
same<Equals<ReturnType<typeof stats>, MappingStats>>();
same<
  Equals<ReturnType<typeof stream>, ReadableStream<Uint8Array<ArrayBuffer>>>
>();
same<Equals<MappingStats["mappings"][number], MappingInfo>>();

/** Calls that must not compile. Never run. */
function mustNotCompile(h: Mmap, handle: MmapHandle, buf: Uint8Array): void {
  // @ts-expect-error: a path is a string or a URL
  open(42);
  // @ts-expect-error: a path is a string or a URL
  openSync(["a.bin"]);
  // @ts-expect-error: the seed's handle type has fields only, no methods
  handle.readSync(buf);
  // @ts-expect-error: "write" is a boolean
  openSync("a.bin", { write: "yes" });
  // @ts-expect-error: no such option
  openSync("a.bin", { writable: true });
  // @ts-expect-error: a size is a number or a bigint
  openWriteWithSize("a.bin", "4096");
  // @ts-expect-error: the buffer is a Uint8Array
  read(h, [1, 2, 3]);
  // @ts-expect-error: the buffer is a Uint8Array, not a view of other words
  readSync(h, new Uint16Array(2));
  // @ts-expect-error: an offset is a number or a bigint
  read(h, buf, "0");
  // @ts-expect-error: the handle comes first
  write(buf, h);
  // @ts-expect-error: the buffer is a Uint8Array
  writeSync(h, "text");
  // @ts-expect-error: a length is a number or a bigint
  flush(h, 0, "all");
  // @ts-expect-error: not a FlushMode
  flushSync(h, 0, undefined, "later");
  // @ts-expect-error: not a FlushMode (case matters)
  h.flushSync(0, 1, "SYNC");
  // @ts-expect-error: not an Advice
  advise(h, "free");
  // @ts-expect-error: not an Advice (case matters)
  h.advise("WILLNEED");
  // @ts-expect-error: an Advice is a name, not a number
  advise(h, 3);
  // @ts-expect-error: advise needs an Advice
  advise(h);
  // @ts-expect-error: chunkSize is a number
  stream(h, { chunkSize: 1n });
  // @ts-expect-error: the handle is needed
  close();
  // @ts-expect-error: a plain object is not a handle
  read({ ptr: null, len: 1 }, buf);
  // @ts-expect-error: handles come from open(): the constructor wants its key
  new Mmap();
}

/** Assignments that must not compile. Never run. */
function mustNotAssign(h: Mmap, handle: MmapHandle, info: MappingInfo): void {
  // @ts-expect-error: len is read-only
  h.len = 10;
  // @ts-expect-error: path is read-only
  h.path = "/elsewhere";
  // @ts-expect-error: ptr is read-only
  h.ptr = null;
  // @ts-expect-error: writable is read-only
  h.writable = true;
  // @ts-expect-error: closed is read-only
  h.closed = false;
  // @ts-expect-error: kind is read-only
  h.kind = "shared";
  // @ts-expect-error: len is read-only on the seed's handle type too
  handle.len = 10;
  // @ts-expect-error: path is read-only on the seed's handle type too
  handle.path = "";
  // @ts-expect-error: ptr is read-only on the seed's handle type too
  handle.ptr = null;
  // @ts-expect-error: stats() entries are read-only
  info.length = 0;
}

Deno.test("the public types accept every documented call", async () => {
  assert.equal(typeof mustNotCompile, "function");
  assert.equal(typeof mustNotAssign, "function");
  await withTempDir(async (dir) => {
    const path = `${dir}/types.bin`;
    await Deno.writeFile(path, pattern(8192));
    const options: OpenOptions = { write: true, offset: 0n, length: 4096 };
    const h: Mmap = await open(path, options);
    const handle: MmapHandle = h; // an Mmap is the seed's handle
    const n: number = await read(handle, new Uint8Array(10), 5n);
    assert.equal(n, 10);
    assert.equal(writeSync(h, new Uint8Array([1]), 1), 1);
    assert.equal(await write(h, new Uint8Array([2]), 2n), 1);
    for (const mode of ["sync", "async", "durable"] satisfies FlushMode[]) {
      flushSync(h, 0, undefined, mode);
      await flush(h, 0n, 10n, mode);
    }
    const advice: Advice[] = [
      "normal",
      "sequential",
      "random",
      "willneed",
      "dontneed",
    ];
    for (const a of advice) advise(h, a, 0, 4096n);
    const streamOptions: StreamOptions = {
      offset: 1n,
      length: 2,
      chunkSize: 1,
    };
    const bytes = await new Response(stream(h, streamOptions)).bytes();
    assert.deepEqual([...bytes], [1, 2]);
    const info: MappingInfo | undefined = stats().mappings.find((m) =>
      m.path === h.path
    );
    const kind: MappingKind | undefined = info?.kind;
    assert.equal(kind, "file");
    const ptr: Deno.PointerValue = h.ptr;
    assert.notEqual(ptr, null);
    await close(h);
    // `using` works because Mmap is Disposable.
    using anonymous = openAnonymousSync(4096);
    assert.equal(anonymous.len, 4096);
  });
});

Deno.test("openSync() with a string for options type-checks, and throws TypeError at run time", async () => {
  // OpenOptions has only optional fields, so TypeScript lets a string
  // through; the argument rules refuse it.
  await withTempDir(async (dir) => {
    const path = `${dir}/options.bin`;
    await Deno.writeFile(path, pattern(10));
    assert.throws(() => openSync(path, "rw"), TypeError);
  });
});

Deno.test("new Mmap(key) type-checks with any key, and throws TypeError at run time", () => {
  // The constructor takes one argument of type unknown: the types let any
  // value through, and only the package's private key is accepted.
  assert.throws(() => new Mmap(undefined), TypeError);
  assert.throws(() => new Mmap(Symbol("Mmap")), TypeError);
});

// Views and processes that talk (issue 14).
same<Equals<ReturnType<Mmap["view"]>, Uint8Array<ArrayBuffer>>>();
same<Equals<ReturnType<typeof view>, Uint8Array<ArrayBuffer>>>();
same<Equals<WaitOutcome, "ok" | "not-equal" | "timed-out">>();
same<Equals<ReturnType<typeof wait>, WaitOutcome>>();
same<Equals<ReturnType<typeof waitAsync>, Promise<WaitOutcome>>>();
same<Equals<ReturnType<typeof notify>, number>>();
same<Equals<ReturnType<typeof remap>, Promise<void>>>();
same<Equals<ReturnType<typeof remapSync>, void>>();

/** Wait and remap calls that must not compile. Never run. */
function mustNotCompileIpc(h: Mmap): void {
  // @ts-expect-error: the expected value is a number
  wait(h, 0, "0");
  // @ts-expect-error: a timeout is a number of milliseconds
  waitAsync(h, 0, 0, "1s");
  // @ts-expect-error: spin is a number
  wait(h, 0, 0, 1, { spin: true });
  // @ts-expect-error: a count is a number
  notify(h, 0, 1n);
  // @ts-expect-error: a length is a number or a bigint
  remapSync(h, "all");
  // @ts-expect-error: autoClose is a boolean
  stream(h, { autoClose: 1 });
}

Deno.test("view() is typed for the web platform: Response, Blob and postMessage take it", async () => {
  assert.equal(typeof mustNotCompileIpc, "function");
  await withTempDir(async (dir) => {
    const path = `${dir}/web.bin`;
    await Deno.writeFile(path, pattern(16));
    using h = openSync(path);
    // Each of these needs an ArrayBuffer-backed view (BufferSource / BlobPart).
    const bytes: Uint8Array<ArrayBuffer> = h.view();
    const fromResponse = await new Response(h.view()).bytes();
    assert.deepEqual([...fromResponse], [...pattern(16)]);
    const blob = new Blob([view(h, 0, 4)]);
    assert.equal(blob.size, 4);
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    assert.equal(digest.byteLength, 32);
    const channel = new MessageChannel();
    const received = new Promise<Uint8Array>((resolve) => {
      channel.port2.onmessage = (event) => resolve(event.data);
    });
    channel.port1.postMessage(h.view(0, 3));
    assert.deepEqual([...await received], [...pattern(16).subarray(0, 3)]);
    channel.port1.close();
    channel.port2.close();
    const options: StreamOptions = { autoClose: false };
    const outcome: WaitOutcome = "ok";
    const waitOptions: WaitOptions = { spin: 0 };
    assert.equal(outcome, "ok");
    assert.equal(waitOptions.spin, 0);
    assert.equal(options.autoClose, false);
  });
});
