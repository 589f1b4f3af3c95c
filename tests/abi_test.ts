// The facts both sides of the FFI line need (flags, flush modes, advice
// order, status codes, error kinds, the largest index, the interface
// version) are defined in Rust (ffi/src/abi.rs, ffi/src/error.rs) and again
// in TypeScript. This test is what keeps them one source: it asks the built
// library for its table and fails on any difference.
import assert from "node:assert/strict";
import { MAX_INDEX } from "../src/_args.ts";
import { ErrorKind, Status } from "../src/errors.ts";
import {
  ABI_VERSION,
  ADVICE,
  Element,
  FlushMode,
  librarySync,
  MapFlag,
  Protection,
  ShmFlag,
  WaitResult,
} from "../src/ffi.ts";

/** `camelCase` → `CAMEL_CASE`, the Rust spelling of a TypeScript key. */
function upper(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/** The TypeScript tables, as the native library spells them. */
function typescriptTable(): Map<string, string> {
  const table = new Map<string, string>([
    ["ABI_VERSION", String(ABI_VERSION)],
    ["MAX_INDEX", String(MAX_INDEX)],
    ["ADVICE", ADVICE.join(",")],
  ]);
  const groups: [string, Record<string, number>][] = [
    ["MAP", MapFlag],
    ["SHM", ShmFlag],
    ["FLUSH", FlushMode],
    ["PROTECT", Protection],
    ["ELEMENT", Element],
    ["WAIT", WaitResult],
    ["STATUS", Status],
    ["KIND", ErrorKind],
  ];
  for (const [prefix, values] of groups) {
    for (const [key, value] of Object.entries(values)) {
      table.set(`${prefix}_${upper(key)}`, String(value));
    }
  }
  return table;
}

/** The native library's table, from `mmap_constants`. */
function nativeTable(): Map<string, string> {
  const symbols = librarySync();
  assert.ok(symbols.mmap_constants, "the library exports mmap_constants");
  const text = new Uint8Array(4096);
  const length = symbols.mmap_constants(text, text.length);
  assert.ok(length <= text.length, "the table fits the buffer");
  const table = new Map<string, string>();
  const lines = new TextDecoder().decode(text.subarray(0, length)).split("\n");
  for (const line of lines.filter((l) => l !== "")) {
    const eq = line.indexOf("=");
    assert.ok(eq > 0, `a NAME=VALUE line: ${JSON.stringify(line)}`);
    const name = line.slice(0, eq);
    assert.ok(!table.has(name), `${name} is listed once`);
    table.set(name, line.slice(eq + 1));
  }
  return table;
}

Deno.test("the TypeScript tables equal the native library's constants", () => {
  const sorted = (m: Map<string, string>) => [...m].sort();
  assert.deepEqual(sorted(typescriptTable()), sorted(nativeTable()));
});

Deno.test("the TypeScript and native index limits agree at the boundary", () => {
  // Both sides accept 2^53 - 1 and refuse 2^53; TypeScript refuses first,
  // so call the library directly.
  const symbols = librarySync();
  const out = new BigUint64Array(3);
  assert.equal(symbols.mmap_anonymous(4096, out), Status.ok);
  const id = Number(out[0]);
  try {
    const one = new Uint8Array(1);
    assert.equal(
      symbols.mmap_read(id, MAX_INDEX, one, 1),
      Status.outOfRange,
      "2^53 - 1 is a valid index, out of this mapping's range",
    );
    assert.equal(
      symbols.mmap_read(id, MAX_INDEX + 1, one, 1),
      Status.invalidArgument,
      "2^53 is not a valid index",
    );
  } finally {
    symbols.mmap_close(id);
  }
});
