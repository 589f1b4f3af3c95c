// Shared setup for the benchmarks: data files, random offsets, byte checks.
// Nothing here is timed; every bench file does its setup at module level.

/** An environment variable, if access to it is granted (not asked for). */
function env(name: string): string | undefined {
  const { state } = Deno.permissions.querySync({ name: "env", variable: name });
  return state === "granted" ? Deno.env.get(name) : undefined;
}

/** Where data files live (gitignored); `MMAP_BENCH_DIR` overrides it. */
export const DATA_DIR = env("MMAP_BENCH_DIR") ??
  new URL("./.data", import.meta.url).pathname;

/** Sizes used across the suites. */
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Size of the random-read file (1 GiB); `MMAP_BENCH_BIG` overrides it. */
export const BIG_SIZE = Number(env("MMAP_BENCH_BIG") ?? GiB);
/** Size of the bulk read and write workloads (256 MiB). */
export const BULK_SIZE = Number(env("MMAP_BENCH_BULK") ?? 256 * MiB);
/** The seed README's write chunk. */
export const CHUNK = 65_000;

/**
 * The byte at `position` of every data file: a hash of the position, so a
 * read at a wrong offset returns different bytes.
 */
export function fill(bytes: Uint8Array, position: number): void {
  // Four bytes per step through a Uint32Array when aligned; the file
  // position of word k is `position + 4k`.
  const head = (4 - (position & 3)) & 3;
  for (let i = 0; i < Math.min(head, bytes.length); i++) {
    bytes[i] = byteAt(position + i);
  }
  const words = Math.floor((bytes.length - head) / 4);
  if (words > 0 && (bytes.byteOffset + head) % 4 === 0) {
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset + head, words);
    const first = (position + head) / 4;
    for (let k = 0; k < words; k++) w[k] = wordAt(first + k);
  } else {
    for (let i = head; i < head + words * 4; i++) {
      bytes[i] = byteAt(position + i);
    }
  }
  for (let i = head + words * 4; i < bytes.length; i++) {
    bytes[i] = byteAt(position + i);
  }
}

/** Little-endian 32-bit word `k` of the data (bytes 4k..4k+3). */
function wordAt(k: number): number {
  // A cheap integer hash (Murmur3 finalizer) of the word index.
  let x = (k ^ 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** The data byte at `position`. */
export function byteAt(position: number): number {
  return (wordAt(Math.floor(position / 4)) >>> ((position % 4) * 8)) & 0xff;
}

/** How {@linkcode dataFile} makes a file. */
export interface DataFileOptions {
  /** Size of each write (default 16 MiB). */
  step?: number;
  /** Directory (default `DATA_DIR`). */
  dir?: string;
  /** Write the file again even if it exists (default false). */
  fresh?: boolean;
}

/**
 * Makes sure `dir/name` holds `size` bytes of the data pattern, written in
 * `step`-byte writes when missing, of the wrong size or `fresh` is set, and
 * that it is in the page cache. Returns its path.
 *
 * How a file came into the page cache changes what a mapping costs. On
 * ext4 with large folios (Linux 6.16 and later) the size of the writes
 * decides the size of the folios: 16 MiB writes give 2 MiB folios, which a
 * mapping maps with 2 MiB entries (fewer TLB misses) and re-dirties with one
 * write fault per folio after a flush; 65,000-byte writes give small folios
 * and a write fault per 4 KiB page. Pages evicted and read back later (on
 * this VM, DAMON pages out file pages idle for about a minute) come back in
 * readahead-sized folios. The benchmarks therefore write their files afresh
 * before each run (`fresh`), so every run starts from the same state.
 */
export function dataFile(
  name: string,
  size: number,
  options: DataFileOptions = {},
): string {
  const { step = 16 * MiB, dir = DATA_DIR, fresh = false } = options;
  Deno.mkdirSync(dir, { recursive: true });
  const path = `${dir}/${name}`;
  let existing = -1;
  try {
    existing = Deno.statSync(path).size;
  } catch {
    // Missing: written below.
  }
  const block = new Uint8Array(Math.min(size, step));
  if (existing !== size || fresh) {
    const tmp = `${path}.tmp`;
    using file = Deno.openSync(tmp, {
      write: true,
      create: true,
      truncate: true,
    });
    for (let at = 0; at < size; at += block.length) {
      const part = block.subarray(0, Math.min(block.length, size - at));
      fill(part, at);
      let done = 0;
      while (done < part.length) done += file.writeSync(part.subarray(done));
    }
    Deno.renameSync(tmp, path);
    return path;
  }
  // Warm the page cache: every alternative reads cached pages.
  using file = Deno.openSync(path);
  while (file.readSync(block) !== null) {
    // Read to the end.
  }
  return path;
}

/** A small seeded generator (mulberry32), for repeatable offsets. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` (a power of two) random offsets `o` with `o + len <= size`, as a
 * Float64Array so the timed loops read plain numbers.
 */
export function randomOffsets(
  count: number,
  size: number,
  len: number,
  seed = 1,
): Float64Array {
  const next = random(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = Math.floor(next() * (size - len + 1));
  }
  return out;
}

const copies = new Map<number, Uint8Array>();

/**
 * An in-memory array holding the first `size` bytes of the data pattern
 * (one per size, shared by the groups of a bench file).
 */
export function memoryCopyOf(size: number): Uint8Array {
  const cached = copies.get(size);
  if (cached !== undefined) return cached;
  const bytes = new Uint8Array(size);
  copies.set(size, bytes);
  const step = 16 * MiB;
  for (let at = 0; at < size; at += step) {
    fill(bytes.subarray(at, Math.min(size, at + step)), at);
  }
  return bytes;
}

/** Whether two arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
