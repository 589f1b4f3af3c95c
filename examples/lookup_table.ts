// A read-only lookup table shared by many processes: a sorted file of
// fixed-width records, searched in place by binary search. Every process
// that maps the file shares the same pages of the page cache, so eight
// readers cost about one copy of the table, not eight.
//
// The file: a 16-byte header (the magic "LOOKUP01" and the record count,
// little-endian u64), then `count` records of 16 bytes each: a u64 key (in
// ascending order) and a u64 value.
//
// Replace a table while readers run by writing the new file beside it and
// renaming it over the old one: a mapping keeps showing the file it mapped
// (the old inode lives until its last mapping closes), and an open after
// the rename sees the new one. Never rewrite a mapped table in place.
//
//   deno run --allow-ffi --unstable-ffi --allow-read --allow-write \
//     examples/lookup_table.ts [records, default 100000]

import { type Mmap, openSync } from "@riaskov/mmap";

const MAGIC = 0x3130_5055_4b4f_4f4cn; // "LOOKUP01", little-endian
const HEADER = 16;
const RECORD = 16;

/** A mapped lookup table. */
export class LookupTable implements Disposable {
  readonly path: string;
  readonly count: number;
  #map: Mmap;
  /** Keys at even indices, values at odd ones. */
  #records: BigUint64Array;

  constructor(path: string) {
    this.path = path;
    this.#map = openSync(path);
    try {
      const map = this.#map;
      if (map.len < HEADER) throw new RangeError(`"${path}": no header`);
      const [magic, count] = map.viewAs(BigUint64Array, 0, 2);
      if (magic !== MAGIC) throw new TypeError(`"${path}": not a lookup table`);
      if (count !== BigInt((map.len - HEADER) / RECORD)) {
        throw new RangeError(
          `"${path}": the header says ${count} records; the file holds ${
            (map.len - HEADER) / RECORD
          }`,
        );
      }
      this.count = Number(count);
      this.#records = map.viewAs(BigUint64Array, HEADER, this.count * 2);
    } catch (e) {
      this.#map.close();
      throw e;
    }
  }

  /** The value stored for `key`, or `undefined`. */
  get(key: bigint): bigint | undefined {
    return lookup(this.#records, this.count, key);
  }

  /** The key and value of record `i` (0 ≤ i < count). */
  record(i: number): [bigint, bigint] {
    return [this.#records[i * 2], this.#records[i * 2 + 1]];
  }

  close(): void {
    this.#map.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Binary search of `count` records (keys at even indices of `records`,
 * values at odd ones): the value stored for `key`, or `undefined`.
 */
export function lookup(
  records: BigUint64Array,
  count: number,
  key: bigint,
): bigint | undefined {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (records[mid * 2] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < count && records[lo * 2] === key
    ? records[lo * 2 + 1]
    : undefined;
}

/**
 * The demo table: record i has key 2i + 1 (so even keys are misses) and
 * value key * 65536 + generation, so a reader can tell which file a record
 * came from and that its bytes belong together.
 */
export function valueOf(key: bigint, generation: number): bigint {
  return key * 65536n + BigInt(generation);
}

/**
 * Writes the demo table of `count` records (up to 2^31) to `path`, in
 * chunks. Write it beside the live table and rename it over to replace.
 */
export function writeTable(
  path: string,
  count: number,
  generation: number,
): void {
  const chunk = 1 << 16;
  const words = new Uint32Array(chunk * 4);
  using file = Deno.openSync(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const header = new BigUint64Array([MAGIC, BigInt(count)]);
  writeAll(file, new Uint8Array(header.buffer));
  for (let first = 0; first < count; first += chunk) {
    const n = Math.min(chunk, count - first);
    for (let j = 0; j < n; j++) {
      // Plain numbers, not bigints: the key is below 2^32.
      const key = 2 * (first + j) + 1;
      words[j * 4] = key;
      words[j * 4 + 1] = 0;
      words[j * 4 + 2] = ((key & 0xffff) << 16 | generation) >>> 0;
      words[j * 4 + 3] = key >>> 16;
    }
    writeAll(file, new Uint8Array(words.buffer, 0, n * RECORD));
  }
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? 100_000);
  const dir = Deno.makeTempDirSync({ prefix: "lookup_" });
  try {
    const path = `${dir}/table.bin`;
    writeTable(path, count, 1);
    using table = new LookupTable(path);
    let found = 0;
    let misses = 0;
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) {
      const key = BigInt(Math.floor(Math.random() * count * 2));
      const value = table.get(key);
      if (value === undefined) misses++;
      else if (value === valueOf(key, 1)) found++;
      else throw new Error(`key ${key}: wrong value ${value}`);
    }
    const ms = performance.now() - started;
    console.log(`${table.count} records, ${found} found, ${misses} missing`);
    console.log(`${(100_000 / ms * 1000).toFixed(0)} lookups/s`);
    console.log(`last key: ${table.get(BigInt(count * 2 - 1))! >> 16n}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
