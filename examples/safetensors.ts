// Model weights in the safetensors format, read in place: map the file,
// parse its header, and hand out typed views over each tensor's bytes.
// Nothing is copied, so the first tensor is ready as soon as the header is
// parsed, and the pages are shared with every other process that maps the
// same file.
//
// The format: an 8-byte little-endian header length N, then N bytes of JSON
// ({"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
// …, "__metadata__": {"key": "value"}}), padded with spaces, then the data;
// offsets count from the first byte after the header.
//
//   deno run --allow-ffi --unstable-ffi --allow-read --allow-write \
//     examples/safetensors.ts [file.safetensors]
//
// With no file, it writes a small model to a temp directory and reads it.

import { type Mmap, openSync } from "@riaskov/mmap";

type Typed =
  | Float64Array
  | Float32Array
  | Uint16Array
  | Float16Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

type TypedConstructor =
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Uint16ArrayConstructor
  | Float16ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Int16ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor;

// Half floats as Float16Array where the runtime has it, else their bits.
const F16 = typeof Float16Array === "function" ? Float16Array : Uint16Array;

/** How each dtype of the format is shown. BF16 and FP8 stay as raw bits. */
export const DTYPES: Record<string, TypedConstructor> = {
  F64: Float64Array,
  F32: Float32Array,
  F16,
  BF16: Uint16Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
  I32: Int32Array,
  U32: Uint32Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
  F8_E4M3: Uint8Array,
  F8_E5M2: Uint8Array,
};

/** The format caps the header at 100 MB, so a hostile length costs nothing. */
const MAX_HEADER = 100_000_000;

/** One tensor's entry in the header, checked. */
export interface TensorInfo {
  dtype: string;
  shape: number[];
  /** Byte range in the file (not in the data section). */
  begin: number;
  end: number;
}

/** A mapped safetensors file: tensor views over the file's own pages. */
export class SafeTensors implements Disposable {
  readonly path: string;
  readonly metadata: Record<string, string>;
  readonly tensors: Map<string, TensorInfo>;
  #map: Mmap;

  constructor(path: string) {
    this.path = path;
    this.#map = openSync(path);
    try {
      [this.tensors, this.metadata] = parseHeader(this.#map, path);
    } catch (e) {
      this.#map.close();
      throw e;
    }
  }

  /** The names of the tensors, in header order. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  /** A zero-copy view of one tensor, typed by its dtype. */
  tensor(name: string): Typed {
    const info = this.tensors.get(name);
    if (info === undefined) {
      throw new RangeError(`safetensors "${this.path}": no tensor "${name}"`);
    }
    const Type = DTYPES[info.dtype];
    return this.#map.viewAs(
      Type,
      info.begin,
      (info.end - info.begin) / Type.BYTES_PER_ELEMENT,
    );
  }

  /** Closes the mapping: every view handed out becomes empty. */
  close(): void {
    this.#map.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Opens a safetensors file. Throws TypeError/RangeError for a bad header. */
export function openSafeTensors(path: string): SafeTensors {
  return new SafeTensors(path);
}

/**
 * Reads and checks the header: every tensor must lie inside the data, be
 * as long as its shape says and start aligned to its element size, or the
 * error names the tensor and the file.
 */
function parseHeader(
  map: Mmap,
  path: string,
): [Map<string, TensorInfo>, Record<string, string>] {
  const where = `safetensors "${path}"`;
  if (map.len < 8) {
    throw new RangeError(
      `${where}: ${map.len} bytes is too short for a header`,
    );
  }
  const n = map.viewAs(Uint8Array, 0, 8);
  const length = new DataView(n.buffer, n.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(Math.min(MAX_HEADER, map.len - 8))) {
    throw new RangeError(
      `${where}: the header claims ${length} bytes; the file has ${
        map.len - 8
      } after the length`,
    );
  }
  const dataStart = 8 + Number(length);
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        map.view(8, Number(length)),
      ),
    );
  } catch (e) {
    throw new TypeError(`${where}: the header is not JSON: ${e}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new TypeError(`${where}: the header is not a JSON object`);
  }
  const dataLength = map.len - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = checkMetadata(entry, where);
      continue;
    }
    const bad = (why: string) =>
      new TypeError(`${where}: tensor "${name}": ${why}`);
    if (typeof entry !== "object" || entry === null) throw bad("not an object");
    const { dtype, shape, data_offsets: offsets } = entry as Record<
      string,
      unknown
    >;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPES, dtype)) {
      throw bad(`unknown dtype ${JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw bad(`shape must be an array of whole numbers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2) {
      throw bad(`data_offsets must be [begin, end]`);
    }
    const [begin, end] = offsets;
    if (!isCount(begin) || !isCount(end) || begin > end) {
      throw bad(`data_offsets must be whole numbers with begin <= end`);
    }
    if (end > dataLength) {
      throw new RangeError(
        `${where}: tensor "${name}": data_offsets ${begin}..${end} reach past the ${dataLength} bytes of data`,
      );
    }
    const size = DTYPES[dtype].BYTES_PER_ELEMENT;
    let elements = 1;
    for (const dim of shape) elements *= dim;
    if (elements * size !== end - begin) {
      throw new RangeError(
        `${where}: tensor "${name}": shape [${shape}] of ${dtype} is ${
          elements * size
        } bytes, data_offsets ${begin}..${end} hold ${end - begin}`,
      );
    }
    if ((dataStart + begin) % size !== 0) {
      throw new RangeError(
        `${where}: tensor "${name}": ${dtype} data at file offset ${
          dataStart + begin
        } is not aligned to ${size} bytes`,
      );
    }
    tensors.set(name, {
      dtype,
      shape,
      begin: dataStart + begin,
      end: dataStart + end,
    });
  }
  return [tensors, metadata];
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) &&
    value >= 0;
}

function checkMetadata(entry: unknown, where: string): Record<string, string> {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new TypeError(`${where}: __metadata__ is not an object`);
  }
  for (const value of Object.values(entry)) {
    if (typeof value !== "string") {
      throw new TypeError(`${where}: __metadata__ values must be strings`);
    }
  }
  return entry as Record<string, string>;
}

/** A tensor to write: its dtype and shape, and its values. */
export interface TensorData {
  dtype: string;
  shape: number[];
  data: ArrayBufferView;
}

/**
 * Writes a safetensors file by the format's rules: the header padded with
 * spaces to a multiple of 8 bytes, tensors back to back in the order given,
 * each starting aligned to 8 bytes in the file.
 */
export function writeSafeTensors(
  path: string,
  tensors: Record<string, TensorData>,
  metadata?: Record<string, string>,
): void {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const pad = (8 - offset % 8) % 8;
    if (pad > 0) parts.push(new Uint8Array(pad));
    offset += pad;
    const bytes = new Uint8Array(
      t.data.buffer,
      t.data.byteOffset,
      t.data.byteLength,
    );
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - json.length % 8) % 8);
  const head = new TextEncoder().encode(json);
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(head.length), true);
  using file = Deno.openSync(path, {
    write: true,
    create: true,
    truncate: true,
  });
  for (const part of [length, head, ...parts]) {
    let done = 0;
    while (done < part.length) done += file.writeSync(part.subarray(done));
  }
}

if (import.meta.main) {
  let path = Deno.args[0];
  let dir: string | undefined;
  if (path === undefined) {
    dir = Deno.makeTempDirSync({ prefix: "safetensors_" });
    path = `${dir}/model.safetensors`;
    const weight = new Float32Array(256 * 64).map((_, i) => i / 64);
    writeSafeTensors(path, {
      "embed.weight": { dtype: "F32", shape: [256, 64], data: weight },
      "embed.bias": {
        dtype: "F16",
        shape: [64],
        data: new F16(64).fill(0.5),
      },
      "step": { dtype: "I64", shape: [1], data: new BigInt64Array([1234n]) },
      "mask": { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
    }, { format: "pt" });
  }
  try {
    using model = openSafeTensors(path);
    for (const name of model.names()) {
      const info = model.tensors.get(name)!;
      const view = model.tensor(name);
      let sum = 0;
      for (const value of view) sum += Number(value);
      console.log(
        `${name}: ${info.dtype} [${info.shape}] ${view.constructor.name}(${view.length}) sum ${sum}`,
      );
    }
    console.log(`metadata: ${JSON.stringify(model.metadata)}`);
  } finally {
    if (dir !== undefined) Deno.removeSync(dir, { recursive: true });
  }
}
