// An embedding table: N rows of 384 float32 values in one file, and batches
// of row ids gathered into one contiguous Float32Array (a model's input) by
// a single native call per batch, without reading the rest of the file.
//
//   deno run --allow-ffi --unstable-ffi --allow-read --allow-write \
//     examples/embedding_gather.ts [rows, default 20000]

import { gatherSync, type Mmap, openSync } from "@riaskov/mmap";

/** Values per row. */
export const DIM = 384;
const ROW_BYTES = DIM * 4;

/** A mapped table of float32 rows. */
export class EmbeddingTable implements Disposable {
  readonly path: string;
  readonly rows: number;
  readonly dim: number;
  #map: Mmap;
  #rowBytes: number;
  /** Byte offsets of the last batch's rows, reused between batches. */
  #offsets = new Float64Array(0);

  /**
   * Maps the table. With `populate`, every page of it is mapped now
   * (MAP_POPULATE): the open takes longer (about 0.35 s for 2 GiB here),
   * and no gather pays a page fault for a row it touches first.
   */
  constructor(path: string, dim = DIM, options: { populate?: boolean } = {}) {
    this.path = path;
    this.dim = dim;
    this.#rowBytes = dim * 4;
    this.#map = openSync(path, { populate: options.populate === true });
    if (this.#map.len % this.#rowBytes !== 0) {
      this.#map.close();
      throw new RangeError(
        `"${path}": ${this.#map.len} bytes is not a whole number of ${dim}-float rows`,
      );
    }
    this.rows = this.#map.len / this.#rowBytes;
  }

  /** The mapping, to give the kernel advice (`advise("random")`). */
  get mapping(): Mmap {
    return this.#map;
  }

  /**
   * Copies the rows `ids` into `out` (ids.length × dim values), one after
   * another, in one native call; an id past the table is a RangeError and
   * nothing is copied.
   */
  gather(
    ids: ArrayLike<number>,
    out = new Float32Array(ids.length * this.dim),
  ): Float32Array {
    if (this.#offsets.length < ids.length) {
      this.#offsets = new Float64Array(ids.length);
    }
    const offsets = this.#offsets.subarray(0, ids.length);
    for (let i = 0; i < ids.length; i++) offsets[i] = ids[i] * this.#rowBytes;
    gatherSync(
      this.#map,
      offsets,
      this.#rowBytes,
      new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
    );
    return out;
  }

  close(): void {
    this.#map.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The demo table's value `j` of row `i`: a whole number below 2^24, so
 * exact in a float32, that differs between neighbouring rows and columns.
 */
export function valueAt(i: number, j: number): number {
  return (i * 389 + j) % 16_777_216;
}

/** Writes a demo table of `rows` rows, in chunks. */
export function writeTable(path: string, rows: number, dim = DIM): void {
  const chunkRows = 4096;
  const chunk = new Float32Array(chunkRows * dim);
  using file = Deno.openSync(path, {
    write: true,
    create: true,
    truncate: true,
  });
  for (let first = 0; first < rows; first += chunkRows) {
    const n = Math.min(chunkRows, rows - first);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < dim; j++) chunk[r * dim + j] = valueAt(first + r, j);
    }
    const bytes = new Uint8Array(chunk.buffer, 0, n * dim * 4);
    for (let at = 0; at < bytes.length;) {
      at += file.writeSync(bytes.subarray(at));
    }
  }
}

if (import.meta.main) {
  const rows = Number(Deno.args[0] ?? 20_000);
  const dir = Deno.makeTempDirSync({ prefix: "embedding_" });
  try {
    const path = `${dir}/table.f32`;
    writeTable(path, rows);
    using table = new EmbeddingTable(path);
    table.mapping.advise("random");
    const ids = Array.from(
      { length: 1024 },
      () => Math.floor(Math.random() * rows),
    );
    const started = performance.now();
    const batch = table.gather(ids);
    const ms = performance.now() - started;
    let wrong = 0;
    for (let k = 0; k < ids.length; k++) {
      for (let j = 0; j < DIM; j++) {
        if (batch[k * DIM + j] !== valueAt(ids[k], j)) wrong++;
      }
    }
    console.log(`${table.rows} rows of ${DIM} float32 (${ROW_BYTES} B each)`);
    console.log(
      `gathered ${ids.length} rows in ${
        ms.toFixed(2)
      } ms, ${wrong} wrong values`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
