// An append-only log with followers: one writer appends records into a
// mapped file that grows in preallocated chunks, and readers in other
// processes follow it as records land, woken by notify() instead of
// polling.
//
// The file: a 64-byte header, then records back to back.
//   header  0..4   Int32 commit sequence: the word followers wait on
//           4..8   the sleeper count of that wait cell (the package's)
//           8..16  u64 end of the committed records (a file offset)
//          16..20  u32 chain: the checksum of the last record before the
//                  end (a random seed while there is none)
//          24..32  magic "APPLOG02"
//   record  u32 checksum, u32 flags (1: the last record of a commit),
//           u32 payload length, u32 record number, payload, zero padding
//           to a multiple of 8
// A record's checksum is the CRC-32 of its length, number and payload,
// started from the previous record's checksum (the log's random seed for
// the first), so a record is whole only after a whole prefix, and a record
// left from an earlier log or an earlier tail does not fit the chain.
// The file is longer than its records (it grows a chunk at a time).
//
// A commit needs one durable flush: it marks its last record as such, then
// flushes the new records. Then it stores the new end and chain in the
// header without flushing it; the header reaches the disk with a later
// flush or writeback, and is never ahead of the records it points past.
// After a crash (power loss included) the header on disk may be behind, so
// `LogWriter.open` scans forward from it while records check and takes them
// up to the last one marked as ending a commit: every committed record reads
// back, nothing torn is returned, and a commit is taken whole or not at all.
//
//   deno run --allow-ffi --unstable-ffi --allow-read --allow-write \
//     examples/append_log.ts [records, default 10000]

import { crc32 } from "node:zlib";
import { type Mmap, openSync, openWriteWithSizeSync } from "@riaskov/mmap";

const HEADER = 64;
// wait/notify are not on Windows yet: there, followers look every 10 ms.
const CAN_WAIT = Deno.build.os !== "windows";
const MAGIC = 0x3230_474f_4c50_5041n; // "APPLOG02", little-endian
const SEQ = 0; // offset of the commit sequence (the wait word)
const END = 8; // offset of the committed end, then the chain (16..20)
const MAGIC_AT = 24;
const HEAD = 16; // bytes before a record's payload

// The header's fields are copied in and out with readSync/writeSync rather
// than read through views: views of a mapping that grows or is remapped
// would have to be taken again each time, and one that the program dropped
// but the engine has not freed yet makes resize and remap refuse (Busy).

/** Options of {@linkcode LogWriter.create}. */
export interface LogOptions {
  /** Bytes the file grows by when full (default 1 MiB). */
  chunk?: number;
  /** Records between commits (default 64). */
  commitEvery?: number;
}

function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** The writer: appends records and commits them every N. */
export class LogWriter implements Disposable {
  readonly path: string;
  #map: Mmap;
  #chunk: number;
  #commitEvery: number;
  #end: number;
  #committed: number;
  /** Where the last appended record starts. */
  #last = 0;
  #chain: number;
  #flag = new Uint8Array(new Uint32Array([1]).buffer);
  #records = 0;
  #pending = 0;
  /** A record is put together here and written in one copy. */
  #stage = new Uint8Array(HEAD + 4096);
  #stageView = new DataView(this.#stage.buffer);
  #field = new Uint8Array(16);
  #fieldView = new DataView(this.#field.buffer);
  #seq = new Int32Array(1);
  #seqBytes = new Uint8Array(this.#seq.buffer);
  /** Milliseconds each commit took, for the benchmark. */
  readonly commitTimes: number[] = [];
  /** Records of whole commits `open` found past the header's end. */
  readonly recovered: number;

  private constructor(
    path: string,
    map: Mmap,
    options: LogOptions,
    start: Tail,
  ) {
    this.path = path;
    this.#map = map;
    this.#chunk = options.chunk ?? 1 << 20;
    this.#commitEvery = options.commitEvery ?? 64;
    this.#committed = this.#end = start.end;
    this.#chain = start.chain;
    this.recovered = start.records;
  }

  /** Creates a new log (replacing any file at `path`). */
  static create(path: string, options: LogOptions = {}): LogWriter {
    const map = openWriteWithSizeSync(path, options.chunk ?? 1 << 20, {
      preallocate: true,
    });
    // A new seed, so that records of an earlier log in the same file do
    // not fit this log's chain.
    const seed = crypto.getRandomValues(new Uint32Array(1))[0];
    const header = new Uint8Array(HEADER);
    const fields = new DataView(header.buffer);
    fields.setBigUint64(END, BigInt(HEADER), true);
    fields.setUint32(END + 8, seed, true);
    fields.setBigUint64(MAGIC_AT, MAGIC, true);
    map.writeSync(header, 0);
    map.flushSync(0, HEADER);
    return new LogWriter(path, map, options, {
      end: HEADER,
      chain: seed,
      records: 0,
    });
  }

  /**
   * Opens an existing log to append to it. Whole commits past the header's
   * end (the header on disk can be behind the records after a crash) are
   * taken into the log and the header is updated; what follows them (a
   * commit cut short, a torn record) is overwritten.
   */
  static open(path: string, options: LogOptions = {}): LogWriter {
    const map = openSync(path, { write: true });
    checkHeader(map, path);
    const start = scanTail(map);
    if (start.records > 0) {
      writeTail(map, start.end, start.chain);
      map.flushSync(0, HEADER);
    }
    return new LogWriter(path, map, options, start);
  }

  /** Records appended by this writer. */
  get records(): number {
    return this.#records;
  }

  /** Appends one record; commits when `commitEvery` are pending. */
  append(payload: Uint8Array, number = this.#records): void {
    const size = HEAD + pad8(payload.length);
    const map = this.#map;
    if (this.#end + size > map.len) {
      // Grow by whole chunks with the blocks allocated first: a full disk
      // fails here, with nothing lost, instead of faulting a later write.
      const grow = Math.ceil((this.#end + size - map.len) / this.#chunk);
      map.resizeSync(map.len + grow * this.#chunk, { preallocate: true });
    }
    if (this.#stage.length < HEAD + payload.length) {
      this.#stage = new Uint8Array(HEAD + payload.length);
      this.#stageView = new DataView(this.#stage.buffer);
    }
    const stage = this.#stage;
    const head = this.#stageView;
    head.setUint32(8, payload.length, true);
    head.setUint32(12, number, true);
    stage.set(payload, HEAD);
    const record = stage.subarray(0, HEAD + payload.length);
    const sum = crc32(record.subarray(8), this.#chain);
    head.setUint32(0, sum, true);
    this.#chain = sum;
    map.writeSync(record, this.#end);
    this.#last = this.#end;
    this.#end += size;
    this.#records++;
    if (++this.#pending >= this.#commitEvery) this.commit();
  }

  /**
   * Makes the appended records durable and visible: flushes them (the one
   * durable flush of a commit), then stores the new end and chain in the
   * header, then wakes the followers.
   */
  commit(): void {
    if (this.#end === this.#committed) return;
    const started = performance.now();
    const map = this.#map;
    map.writeSync(this.#flag, this.#last + 4);
    map.flushSync(this.#committed, this.#end - this.#committed);
    this.#fieldView.setBigUint64(0, BigInt(this.#end), true);
    this.#fieldView.setUint32(8, this.#chain, true);
    map.writeSync(this.#field, END);
    this.#seq[0] = readI32(map, SEQ) + 1;
    map.writeSync(this.#seqBytes, SEQ);
    if (CAN_WAIT) map.notify(SEQ);
    this.#committed = this.#end;
    this.#pending = 0;
    this.commitTimes.push(performance.now() - started);
  }

  /** Commits what is pending, flushes the header and closes the log. */
  close(): void {
    if (this.#map.closed) return;
    try {
      this.commit();
      this.#map.flushSync(0, HEADER);
    } finally {
      this.#map.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const scratch = new BigUint64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);
const scratch32 = new Int32Array(scratch.buffer, 0, 1);

function readU64(map: Mmap, offset: number): number {
  map.readSync(scratchBytes, offset);
  return Number(scratch[0]);
}

function readI32(map: Mmap, offset: number): number {
  map.readSync(scratchBytes.subarray(0, 4), offset);
  return scratch32[0];
}

function checkHeader(map: Mmap, path: string): void {
  if (
    map.len < HEADER ||
    (map.readSync(scratchBytes, MAGIC_AT), scratch[0]) !== MAGIC
  ) {
    map.close();
    throw new TypeError(`"${path}": not an append log`);
  }
}

/** Where appends continue: the end, the chain there, records found. */
interface Tail {
  end: number;
  chain: number;
  records: number;
}

function writeTail(map: Mmap, end: number, chain: number): void {
  const field = new DataView(new ArrayBuffer(16));
  field.setBigUint64(0, BigInt(end), true);
  field.setUint32(8, chain, true);
  map.writeSync(new Uint8Array(field.buffer), END);
}

/**
 * Reads the header's end and chain, then walks the records after the end
 * while each one checks (its flags are 0 or 1, it fits in the file, its
 * checksum follows from the chain), and returns the end of the last one
 * that ends a commit.
 */
function scanTail(map: Mmap): Tail {
  const field = new Uint8Array(16);
  map.readSync(field, END);
  const fields = new DataView(field.buffer);
  let end = Number(fields.getBigUint64(0, true));
  let chain = fields.getUint32(8, true);
  const found: Tail = { end, chain, records: 0 };
  let records = 0;
  const head = new Uint8Array(HEAD);
  const view = new DataView(head.buffer);
  while (end + HEAD <= map.len) {
    map.readSync(head, end);
    const flags = view.getUint32(4, true);
    const length = view.getUint32(8, true);
    const size = HEAD + pad8(length);
    if (flags > 1 || end + size > map.len) break;
    const payload = new Uint8Array(length);
    map.readSync(payload, end + HEAD);
    const sum = crc32(payload, crc32(head.subarray(8), chain));
    if (sum !== view.getUint32(0, true)) break;
    chain = sum;
    end += size;
    records++;
    if (flags === 1) {
      found.end = end;
      found.chain = chain;
      found.records = records;
    }
  }
  return found;
}

/** One record read back. */
export interface LogRecord {
  number: number;
  payload: Uint8Array;
}

/**
 * A follower: reads committed records as they land. It maps the file
 * read-write because waiting on a word of a mapping needs a shared,
 * writable mapping; it never writes.
 */
export class LogFollower implements Disposable {
  readonly path: string;
  #map: Mmap;
  #at = HEADER;
  #head = new Uint8Array(HEAD);
  #headView = new DataView(this.#head.buffer);

  constructor(path: string) {
    this.path = path;
    this.#map = openSync(path, { write: true });
    checkHeader(this.#map, path);
  }

  /** The records committed since the last call (copies; empty if none). */
  poll(): LogRecord[] {
    const map = this.#map;
    // The writer may be storing the end right now: two equal reads in a
    // row are not a torn one (it changes once per commit, and only grows).
    let end = readU64(map, END);
    for (let again = readU64(map, END); again !== end;) {
      end = again;
      again = readU64(map, END);
    }
    // The writer grew the file: map it again at its new length.
    if (end > map.len) map.remapSync();
    const out: LogRecord[] = [];
    while (this.#at < end) {
      map.readSync(this.#head, this.#at);
      const length = this.#headView.getUint32(8, true);
      const payload = new Uint8Array(length);
      map.readSync(payload, this.#at + HEAD);
      out.push({ number: this.#headView.getUint32(12, true), payload });
      this.#at += HEAD + pad8(length);
    }
    return out;
  }

  /**
   * The next committed records: those already there, or else the ones of
   * the next commit, waiting up to `timeout` ms for it (empty on timeout).
   */
  async next(timeout = Infinity): Promise<LogRecord[]> {
    const deadline = performance.now() + timeout;
    while (true) {
      // Read the sequence before the end, so that a commit in between
      // changes the word and the wait returns at once.
      const seq = readI32(this.#map, SEQ);
      const ready = this.poll();
      if (ready.length > 0) return ready;
      const left = deadline - performance.now();
      if (left <= 0) return ready;
      // A wake-up may be spurious (as with any futex): look again.
      if (CAN_WAIT) await this.#map.waitAsync(SEQ, seq, left);
      else await new Promise((r) => setTimeout(r, Math.min(left, 10)));
    }
  }

  close(): void {
    this.#map.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The demo payload of record `n`: 100 B to 4 KiB of bytes derived from n. */
export function payloadOf(n: number): Uint8Array {
  const length = 100 + (Math.imul(n, 2654435761) >>> 0) % 3997;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (n + i) & 0xff;
  return bytes;
}

/** Whether `payload` is record `n`'s demo payload. */
export function isPayloadOf(n: number, payload: Uint8Array): boolean {
  const expected = payloadOf(n);
  if (payload.length !== expected.length) return false;
  for (let i = 0; i < payload.length; i++) {
    if (payload[i] !== expected[i]) return false;
  }
  return true;
}

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? 10_000);
  const dir = Deno.makeTempDirSync({ prefix: "append_log_" });
  try {
    const path = `${dir}/log.bin`;
    using writer = LogWriter.create(path, { chunk: 256 << 10 });
    using follower = new LogFollower(path);
    // Here the follower is in the same process, on the event loop; in
    // tests and benchmarks it runs in others.
    let seen = 0;
    let wrong = 0;
    const following = (async () => {
      while (seen < count) {
        for (const record of await follower.next(5000)) {
          if (record.number !== seen || !isPayloadOf(seen, record.payload)) {
            wrong++;
          }
          seen++;
        }
      }
    })();
    const started = performance.now();
    for (let n = 0; n < count; n++) {
      writer.append(payloadOf(n));
      if (n % 1000 === 999) await new Promise((r) => setTimeout(r, 0));
    }
    writer.commit();
    await following;
    const ms = performance.now() - started;
    console.log(
      `${count} records appended and followed in ${ms.toFixed(0)} ms`,
    );
    console.log(`follower saw ${seen} records, ${wrong} wrong`);
    console.log(`${writer.commitTimes.length} commits`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
