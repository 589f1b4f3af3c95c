// The benchmark workloads, as factories: each returns the alternatives of one
// group, with everything they use made and hoisted beforehand. The bench
// files register them with `Deno.bench`; tests/bench_smoke_test.ts runs them
// on small files and checks that every alternative produced the same bytes.

import { closeSync as fsClose, openSync as fsOpen } from "node:fs";
import { fsyncSync, readSync as fsRead, writeSync as fsWrite } from "node:fs";
import {
  close,
  closeSync,
  flush,
  flushSync,
  open,
  openSync,
  openWriteSync,
  openWriteWithSize,
  openWriteWithSizeSync,
  read,
  readSync,
  view,
  write,
  writeSync,
} from "@riaskov/mmap";
import { memoryCopyOf, random, randomOffsets } from "./_common.ts";

/** One alternative of a group. */
export interface Alternative {
  /** Shown in the bench output and the report. */
  name: string;
  /** The group's reference: ratios are taken against it. */
  baseline?: boolean;
  /** One timed iteration. */
  fn: (b: Deno.BenchContext) => void | Promise<void>;
  /** Where the last iteration left its bytes (for the smoke test). */
  out?: () => Uint8Array;
}

/** A group of alternatives over the same work. */
export interface Workload {
  group: string;
  /** Bytes moved per iteration, for the report's bandwidth column. */
  bytes: number;
  /** Operations per iteration (reads, opens), for per-operation figures. */
  ops: number;
  alternatives: Alternative[];
  /** The offsets random reads visit, in order (for the smoke test). */
  offsets?: Float64Array;
  /** Releases what the setup opened. */
  dispose(): void;
}

/** Names of the read alternatives, the same in every read group. */
export const READ = {
  fsFile: "Deno.FsFile seek+readSync",
  nodeFs: "node:fs readSync at position",
  readFile: "Deno.readFile (new buffer)",
  awaitCall: "await read() (seed API)",
  sync: "readSync()",
  view: "view() subarray+set",
  memory: "in-memory Uint8Array.set",
  raw: "raw FFI copy (bench/c/raw_copy.c)",
} as const;

/** The raw FFI copy's symbols: `mmap_read`'s signature, no checks. */
const RAW_SYMBOLS = {
  raw_set_base: { parameters: ["u32", "pointer"], result: "void" },
  raw_read: { parameters: ["u32", "f64", "buffer", "f64"], result: "i32" },
  raw_write: { parameters: ["u32", "f64", "buffer", "f64"], result: "i32" },
} as const;

type RawCopy = Deno.DynamicLibrary<typeof RAW_SYMBOLS>["symbols"];

const rawLibraries = new Map<
  string,
  Deno.DynamicLibrary<typeof RAW_SYMBOLS> | null
>();
let rawBases = 0;

/**
 * The raw FFI copy of bench/c/raw_copy.c, when `libraw_copy.so` (built by
 * bench/side.ts before the first run) is in `dir`, else `undefined`: the
 * physical limit of a per-call copy, over the same mapping. Returns the
 * symbols and the base index registered for the mapping at `ptr`.
 */
export function rawCopy(
  dir: string,
  ptr: Deno.PointerValue,
): [RawCopy, number] | undefined {
  let library = rawLibraries.get(dir);
  if (library === undefined) {
    const name = Deno.build.os === "darwin"
      ? "libraw_copy.dylib"
      : "libraw_copy.so";
    // Next to the data file, else where bench/side.ts builds it.
    library = null;
    for (const where of [dir, DEFAULT_DATA_DIR]) {
      try {
        library = Deno.dlopen(`${where}/${name}`, RAW_SYMBOLS);
        break;
      } catch {
        // Not built there.
      }
    }
    rawLibraries.set(dir, library);
  }
  if (library === null || ptr === null) return undefined;
  const index = rawBases++ % 16;
  library.symbols.raw_set_base(index, ptr);
  return [library.symbols, index];
}

/** bench/.data, where bench/side.ts builds the raw copy library. */
const DEFAULT_DATA_DIR = new URL("./.data", import.meta.url).pathname;

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/**
 * Random reads of `len` bytes at precomputed random offsets of `path`
 * (`size` bytes), `batch` reads per iteration.
 */
export function randomReads(
  path: string,
  size: number,
  len: number,
  batch: number,
  offsetCount = 1 << 20,
): Workload {
  const offsets = randomOffsets(offsetCount, size, len, len);
  const mask = offsetCount - 1;
  const file = Deno.openSync(path);
  const fd = fsOpen(path, "r");
  // The mapping is populated in setup: the timed loops measure the steady
  // state of a long-lived mapping, not its first page faults.
  const h = openSync(path, { populate: true });
  const whole = view(h);
  const memory = memoryCopyOf(size);
  const outs = Array.from({ length: 7 }, () => new Uint8Array(len));
  const [dFile, dNode, dAwait, dSync, dView, dMem, dRaw] = outs;
  const start = Deno.SeekMode.Start;
  let iFile = 0, iNode = 0, iAwait = 0, iSync = 0, iView = 0, iMem = 0;
  let iRaw = 0;
  const raw = rawCopy(dirOf(path), h.ptr);
  const rawAlternative: Alternative[] = raw === undefined ? [] : [{
    name: READ.raw,
    fn() {
      const [symbols, base] = raw;
      const read = symbols.raw_read;
      for (let k = 0; k < batch; k++) {
        read(base, offsets[iRaw], dRaw, len);
        iRaw = (iRaw + 1) & mask;
      }
    },
    out: () => dRaw,
  }];
  return {
    group: `random ${label(len)} read`,
    bytes: len * batch,
    ops: batch,
    offsets,
    alternatives: [
      {
        name: READ.fsFile,
        baseline: true,
        fn() {
          for (let k = 0; k < batch; k++) {
            file.seekSync(offsets[iFile], start);
            file.readSync(dFile);
            iFile = (iFile + 1) & mask;
          }
        },
        out: () => dFile,
      },
      {
        name: READ.nodeFs,
        fn() {
          for (let k = 0; k < batch; k++) {
            fsRead(fd, dNode, 0, len, offsets[iNode]);
            iNode = (iNode + 1) & mask;
          }
        },
        out: () => dNode,
      },
      {
        name: READ.awaitCall,
        async fn() {
          for (let k = 0; k < batch; k++) {
            await read(h, dAwait, offsets[iAwait]);
            iAwait = (iAwait + 1) & mask;
          }
        },
        out: () => dAwait,
      },
      {
        name: READ.sync,
        fn() {
          for (let k = 0; k < batch; k++) {
            readSync(h, dSync, offsets[iSync]);
            iSync = (iSync + 1) & mask;
          }
        },
        out: () => dSync,
      },
      {
        name: READ.view,
        fn() {
          for (let k = 0; k < batch; k++) {
            const o = offsets[iView];
            dView.set(whole.subarray(o, o + len));
            iView = (iView + 1) & mask;
          }
        },
        out: () => dView,
      },
      {
        name: READ.memory,
        fn() {
          for (let k = 0; k < batch; k++) {
            const o = offsets[iMem];
            dMem.set(memory.subarray(o, o + len));
            iMem = (iMem + 1) & mask;
          }
        },
        out: () => dMem,
      },
      ...rawAlternative,
    ],
    dispose() {
      file.close();
      fsClose(fd);
      closeSync(h);
    },
  };
}

/** Names of the random-write alternatives. */
export const WRITE = {
  fsFile: "Deno.FsFile seek+writeSync",
  nodeFs: "node:fs writeSync at position",
  sync: "writeSync()",
  view: "view() set",
  raw: "raw FFI write (bench/c/raw_copy.c)",
} as const;

/**
 * Random writes of `len` bytes at precomputed random offsets of `path`
 * (`size` bytes, in the page cache), `batch` writes per iteration, no
 * flush: the per-call cost of a write. Every alternative writes the same
 * `len` bytes (`source`), so the file ends the same whichever ran.
 */
export function randomWrites(
  path: string,
  size: number,
  len: number,
  batch: number,
  offsetCount = 1 << 20,
): Workload & { source: Uint8Array } {
  const offsets = randomOffsets(offsetCount, size, len, len + 1);
  const mask = offsetCount - 1;
  const source = writeChunk(len);
  const file = Deno.openSync(path, { read: true, write: true });
  const fd = fsOpen(path, "r+");
  const h = openSync(path, { write: true, populate: true });
  const whole = view(h);
  const start = Deno.SeekMode.Start;
  let iFile = 0, iNode = 0, iSync = 0, iView = 0, iRaw = 0;
  const raw = rawCopy(dirOf(path), h.ptr);
  const rawAlternative: Alternative[] = raw === undefined ? [] : [{
    name: WRITE.raw,
    fn() {
      const [symbols, base] = raw;
      const write = symbols.raw_write;
      for (let k = 0; k < batch; k++) {
        write(base, offsets[iRaw], source, len);
        iRaw = (iRaw + 1) & mask;
      }
    },
  }];
  return {
    group: `random ${label(len)} write`,
    bytes: len * batch,
    ops: batch,
    offsets,
    source,
    alternatives: [
      {
        name: WRITE.fsFile,
        baseline: true,
        fn() {
          for (let k = 0; k < batch; k++) {
            file.seekSync(offsets[iFile], start);
            file.writeSync(source);
            iFile = (iFile + 1) & mask;
          }
        },
      },
      {
        name: WRITE.nodeFs,
        fn() {
          for (let k = 0; k < batch; k++) {
            fsWrite(fd, source, 0, len, offsets[iNode]);
            iNode = (iNode + 1) & mask;
          }
        },
      },
      {
        name: WRITE.sync,
        fn() {
          for (let k = 0; k < batch; k++) {
            writeSync(h, source, offsets[iSync]);
            iSync = (iSync + 1) & mask;
          }
        },
      },
      {
        name: WRITE.view,
        fn() {
          for (let k = 0; k < batch; k++) {
            whole.set(source, offsets[iView]);
            iView = (iView + 1) & mask;
          }
        },
      },
      ...rawAlternative,
    ],
    dispose() {
      file.close();
      fsClose(fd);
      closeSync(h);
    },
  };
}

/** One sequential read of all of `path` (`size` bytes) into a buffer. */
export function sequentialRead(path: string, size: number): Workload {
  const file = Deno.openSync(path);
  const fd = fsOpen(path, "r");
  const h = openSync(path, { populate: true });
  const whole = view(h);
  const memory = memoryCopyOf(size);
  // Preallocated and touched, so no alternative pays first-touch faults.
  const outs = Array.from({ length: 6 }, () => new Uint8Array(size).fill(1));
  const [dFile, dNode, dAwait, dSync, dView, dMem] = outs;
  let fromReadFile = new Uint8Array(0);
  const start = Deno.SeekMode.Start;
  return {
    group: `sequential ${label(size)} read`,
    bytes: size,
    ops: 1,
    alternatives: [
      {
        name: READ.fsFile,
        baseline: true,
        fn() {
          file.seekSync(0, start);
          let done = 0;
          while (done < size) {
            const n = file.readSync(dFile.subarray(done));
            if (n === null) throw new Error("unexpected end of file");
            done += n;
          }
        },
        out: () => dFile,
      },
      {
        name: READ.nodeFs,
        fn() {
          let done = 0;
          while (done < size) {
            const n = fsRead(fd, dNode, done, size - done, done);
            if (n === 0) throw new Error("unexpected end of file");
            done += n;
          }
        },
        out: () => dNode,
      },
      {
        // Allocates a new buffer per call (no preallocated destination).
        name: READ.readFile,
        async fn() {
          fromReadFile = await Deno.readFile(path);
        },
        out: () => fromReadFile,
      },
      {
        name: READ.awaitCall,
        async fn() {
          await read(h, dAwait, 0);
        },
        out: () => dAwait,
      },
      {
        name: READ.sync,
        fn() {
          readSync(h, dSync, 0);
        },
        out: () => dSync,
      },
      {
        name: READ.view,
        fn() {
          dView.set(whole);
        },
        out: () => dView,
      },
      {
        name: READ.memory,
        fn() {
          dMem.set(memory);
        },
        out: () => dMem,
      },
    ],
    dispose() {
      file.close();
      fsClose(fd);
      closeSync(h);
    },
  };
}

/** The 65,000-byte chunk every write workload writes (seeded random bytes). */
export function writeChunk(chunk: number): Uint8Array {
  const next = random(7);
  return Uint8Array.from({ length: chunk }, () => (next() * 256) | 0);
}

/** What the file holds after a write workload: `chunk` repeated. */
export function expectedWrite(size: number, chunk: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += chunk.length) {
    bytes.set(chunk.subarray(0, Math.min(chunk.length, size - at)), at);
  }
  return bytes;
}

/**
 * Rewrites all of `path` (`size` bytes, already in the page cache) in
 * `chunk`-byte pieces, then writes it back to the disk.
 */
export function rewrite(
  path: string,
  size: number,
  chunk: number,
  made = "",
): Workload {
  const data = writeChunk(chunk);
  const last = data.subarray(0, size % chunk);
  const full = size - (size % chunk);
  const file = Deno.openSync(path, { read: true, write: true });
  const fd = fsOpen(path, "r+");
  const h = openWriteSync(path);
  const whole = view(h);
  const memory = new Uint8Array(size).fill(1);
  const start = Deno.SeekMode.Start;
  return {
    group: `rewrite ${label(size)} + flush (page cache${made})`,
    bytes: size,
    ops: Math.ceil(size / chunk),
    alternatives: [
      {
        name: "Deno.FsFile writeSync + syncSync",
        baseline: true,
        fn() {
          file.seekSync(0, start);
          for (let at = 0; at < full; at += chunk) writeAll(file, data);
          writeAll(file, last);
          file.syncSync();
        },
      },
      {
        name: "node:fs writeSync at position + fsyncSync",
        fn() {
          for (let at = 0; at < full; at += chunk) {
            fsWrite(fd, data, 0, chunk, at);
          }
          fsWrite(fd, last, 0, last.length, full);
          fsyncSync(fd);
        },
      },
      {
        // The seed README's loop: BigInt offsets, one await per chunk.
        name: "await write() + await flush() (seed API)",
        async fn() {
          const step = BigInt(chunk);
          const end = BigInt(full);
          for (let off = 0n; off < end; off += step) await write(h, data, off);
          await write(h, last, end);
          await flush(h);
        },
      },
      {
        name: "writeSync() + flushSync()",
        fn() {
          for (let at = 0; at < full; at += chunk) writeSync(h, data, at);
          writeSync(h, last, full);
          flushSync(h);
        },
      },
      {
        name: "view().set + flushSync()",
        fn() {
          for (let at = 0; at < full; at += chunk) whole.set(data, at);
          whole.set(last, full);
          flushSync(h);
        },
      },
      {
        name: "in-memory Uint8Array.set (no flush)",
        fn() {
          for (let at = 0; at < full; at += chunk) memory.set(data, at);
          memory.set(last, full);
        },
        out: () => memory,
      },
    ],
    dispose() {
      file.close();
      fsClose(fd);
      closeSync(h);
    },
  };
}

/**
 * Writes a new `size`-byte file in `chunk`-byte pieces and flushes it: every
 * page is fresh. Removing the previous file is not timed.
 */
export function freshWrite(dir: string, size: number, chunk: number): Workload {
  const data = writeChunk(chunk);
  const last = data.subarray(0, size % chunk);
  const full = size - (size % chunk);
  const path = `${dir}/fresh.bin`;
  const clear = () => {
    try {
      Deno.removeSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  };
  return {
    group: `write ${label(size)} + flush (new file)`,
    bytes: size,
    ops: Math.ceil(size / chunk),
    alternatives: [
      {
        name: "Deno.FsFile create + writeSync + syncSync",
        baseline: true,
        fn(b) {
          clear();
          b.start();
          const file = Deno.openSync(path, { write: true, create: true });
          for (let at = 0; at < full; at += chunk) writeAll(file, data);
          writeAll(file, last);
          file.syncSync();
          file.close();
          b.end();
        },
      },
      {
        name: "node:fs create + writeSync + fsyncSync",
        fn(b) {
          clear();
          b.start();
          const fd = fsOpen(path, "w");
          for (let at = 0; at < full; at += chunk) {
            fsWrite(fd, data, 0, chunk, at);
          }
          fsWrite(fd, last, 0, last.length, full);
          fsyncSync(fd);
          fsClose(fd);
          b.end();
        },
      },
      {
        name: "openWriteWithSize + await write() + flush (seed API)",
        async fn(b) {
          clear();
          b.start();
          const h = await openWriteWithSize(path, size);
          for (let at = 0; at < full; at += chunk) await write(h, data, at);
          await write(h, last, full);
          await flush(h);
          await close(h);
          b.end();
        },
      },
      {
        name: "openWriteWithSizeSync + writeSync() + flushSync()",
        fn(b) {
          clear();
          b.start();
          const h = openWriteWithSizeSync(path, size);
          for (let at = 0; at < full; at += chunk) writeSync(h, data, at);
          writeSync(h, last, full);
          flushSync(h);
          closeSync(h);
          b.end();
        },
      },
      {
        name: "openSync({ size, populate }) + writeSync() + flushSync()",
        fn(b) {
          clear();
          b.start();
          const h = openSync(path, {
            write: true,
            create: true,
            size,
            populate: true,
          });
          for (let at = 0; at < full; at += chunk) writeSync(h, data, at);
          writeSync(h, last, full);
          flushSync(h);
          closeSync(h);
          b.end();
        },
      },
    ],
    dispose() {
      clear();
    },
  };
}

/** Opens and closes `path`. */
export function openClose(path: string, size: number): Workload {
  return {
    group: `open+close ${label(size)} file`,
    bytes: 0,
    ops: 1,
    alternatives: [
      {
        name: "Deno.openSync + close",
        baseline: true,
        fn() {
          Deno.openSync(path).close();
        },
      },
      {
        name: "node:fs openSync + closeSync",
        fn() {
          fsClose(fsOpen(path, "r"));
        },
      },
      {
        name: "openSync + closeSync",
        fn() {
          closeSync(openSync(path));
        },
      },
      {
        name: "await open + await close (seed API)",
        async fn() {
          await close(await open(path));
        },
      },
    ],
    dispose() {},
  };
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

/** "64 B", "4 KiB", "256 MiB", "1 GiB". */
export function label(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let unit = 0;
  while (unit < units.length - 1 && bytes >= 1024 && bytes % 1024 === 0) {
    bytes /= 1024;
    unit++;
  }
  return `${bytes} ${units[unit]}`;
}

/** Registers a workload's alternatives with `Deno.bench`. */
export function register(
  workload: Workload,
  options: { n?: number; warmup?: number } = {},
): void {
  for (const alternative of workload.alternatives) {
    Deno.bench({
      name: alternative.name,
      group: workload.group,
      baseline: alternative.baseline ?? false,
      fn: alternative.fn,
      ...options,
    });
  }
}
