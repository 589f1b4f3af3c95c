// Finding bytes in a 64 MiB mapping without copying: indexOf()/lastIndexOf()
// (native memchr / Two-Way) against what JavaScript would do with a view:
// Uint8Array.prototype.indexOf for one byte, a first-byte indexOf + compare
// loop for a pattern. Two files, both in the page cache: zeros with the
// target at the very end (a full scan), and the benchmarks' random data
// pattern (a pattern's first byte occurs every 256 bytes or so).

import { indexOf, type Mmap, openSync, view } from "@riaskov/mmap";
import { DATA_DIR, dataFile, MiB } from "./_common.ts";
import { label, register, type Workload } from "./_workloads.ts";

const SIZE = 64 * MiB;

/** Zeros with `tail` at the very end, written once and kept cached. */
function zerosEndingWith(name: string, tail: Uint8Array): string {
  Deno.mkdirSync(DATA_DIR, { recursive: true });
  const path = `${DATA_DIR}/${name}`;
  const bytes = new Uint8Array(SIZE);
  bytes.set(tail, SIZE - tail.length);
  Deno.writeFileSync(path, bytes);
  return path;
}

/**
 * glibc's memchr / memmem called on the mapping's address through FFI: the
 * physical reference (no checks, no handle). Linux only; elsewhere none.
 */
function libcAlternatives(
  h: Mmap,
  pattern: Uint8Array,
  done: (at: number) => void,
): { name: string; fn: () => void }[] {
  if (Deno.build.os !== "linux") return [];
  let libc;
  try {
    libc = Deno.dlopen("libc.so.6", {
      memchr: { parameters: ["pointer", "i32", "usize"], result: "pointer" },
      memmem: {
        parameters: ["pointer", "usize", "buffer", "usize"],
        result: "pointer",
      },
    });
  } catch {
    return [];
  }
  const { memchr, memmem } = libc.symbols;
  const base = h.ptr;
  const start = Deno.UnsafePointer.value(base);
  const n = BigInt(h.len);
  const at = (p: Deno.PointerValue) =>
    p === null ? -1 : Number(Deno.UnsafePointer.value(p) - start);
  return pattern.length === 1
    ? [{
      name: "glibc memchr (raw FFI, reference)",
      fn: () => done(at(memchr(base, pattern[0]!, n))),
    }]
    : [{
      name: "glibc memmem (raw FFI, reference)",
      fn: () => done(at(memmem(base, n, pattern, BigInt(pattern.length)))),
    }];
}

/** A JS search for a pattern in a view: first-byte indexOf, then compare. */
function jsFind(text: Uint8Array, pattern: Uint8Array): number {
  const first = pattern[0]!;
  const last = text.length - pattern.length;
  for (let i = text.indexOf(first); i !== -1 && i <= last;) {
    let j = 1;
    while (j < pattern.length && text[i + j] === pattern[j]) j++;
    if (j === pattern.length) return i;
    i = text.indexOf(first, i + 1);
  }
  return -1;
}

function workload(
  group: string,
  path: string,
  pattern: Uint8Array,
): Workload {
  const h = openSync(path);
  const whole = view(h);
  const expected = jsFind(whole, pattern);
  let found = -2;
  const single = pattern.length === 1;
  const alternatives = single
    ? [
      {
        name: "view().indexOf(byte)",
        baseline: true,
        fn() {
          found = whole.indexOf(pattern[0]!);
        },
      },
      {
        name: "indexOf(h, byte)",
        fn() {
          found = indexOf(h, pattern[0]!);
        },
      },
      ...libcAlternatives(h, pattern, (at) => found = at),
    ]
    : [
      {
        name: "JS loop over view() (indexOf + compare)",
        baseline: true,
        fn() {
          found = jsFind(whole, pattern);
        },
      },
      {
        name: "indexOf(h, pattern)",
        fn() {
          found = indexOf(h, pattern);
        },
      },
      ...libcAlternatives(h, pattern, (at) => found = at),
    ];
  // Every alternative finds the same place, or the numbers mean nothing.
  for (const alternative of alternatives) {
    alternative.fn();
    if (found !== expected) {
      throw new Error(`${alternative.name} found ${found}, not ${expected}`);
    }
  }
  return {
    group,
    bytes: SIZE,
    ops: 1,
    alternatives,
    dispose: () => h.close(),
  };
}

const one = new Uint8Array([0x2a]);
const sixteen = new TextEncoder().encode("needle in a stac");
register(
  workload(
    `find 1 byte in ${label(SIZE)} (at the end)`,
    zerosEndingWith("find_byte.bin", one),
    one,
  ),
  { n: 20, warmup: 2 },
);
register(
  workload(
    `find 16 B in ${label(SIZE)} of zeros (at the end)`,
    zerosEndingWith("find_pattern.bin", sixteen),
    sixteen,
  ),
  { n: 20, warmup: 2 },
);
// Random data: the pattern is the file's last 16 bytes.
const randomPath = dataFile("find_random.bin", SIZE);
const tail = new Uint8Array(16);
{
  using file = Deno.openSync(randomPath);
  file.seekSync(SIZE - 16, Deno.SeekMode.Start);
  file.readSync(tail);
}
register(
  workload(
    `find 16 B in ${label(SIZE)} of random bytes (at the end)`,
    randomPath,
    tail,
  ),
  { n: 20, warmup: 2 },
);
