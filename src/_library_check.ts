/**
 * Checks a native library file before `Deno.dlopen` sees it. A truncated
 * library (a half-written build, a short copy) is mapped by the system
 * loader past its end, and touching those pages kills the process with
 * SIGBUS inside `dlopen`; an error naming the file is better. The check
 * reads the container's own tables (ELF, PE, Mach-O, fat Mach-O) and makes
 * sure every region they name lies within the file. Private to the package.
 *
 * @module
 */

import { append } from "./_intrinsics.ts";

/** Reads little- or big-endian integers, or `undefined` past the end. */
class Reader {
  private readonly bytes: Uint8Array;
  private readonly little: boolean;
  private readonly view: DataView;
  constructor(bytes: Uint8Array, little: boolean) {
    this.bytes = bytes;
    this.little = little;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(at: number): number | undefined {
    return at + 2 <= this.bytes.length
      ? this.view.getUint16(at, this.little)
      : undefined;
  }
  u32(at: number): number | undefined {
    return at + 4 <= this.bytes.length
      ? this.view.getUint32(at, this.little)
      : undefined;
  }
  u64(at: number): number | undefined {
    return at + 8 <= this.bytes.length
      ? Number(this.view.getBigUint64(at, this.little))
      : undefined;
  }
  /** An unsigned word of `size` bytes (4 or 8). */
  word(at: number, size: number): number | undefined {
    return size === 8 ? this.u64(at) : this.u32(at);
  }
}

/** A region a table names: where it starts, how long it is, what it is. */
type Region = [offset: number, length: number, what: string];

/** What is wrong, or the regions to check against the file's size. */
type Parsed = string | Region[];

/** Regions named by an ELF file's header, program and section headers. */
function elf(bytes: Uint8Array): Parsed {
  const bits = bytes[4] === 2 ? 8 : bytes[4] === 1 ? 4 : 0;
  if (bits === 0) return `an unknown ELF class ${bytes[4]}`;
  if (bytes[5] !== 1 && bytes[5] !== 2) {
    return `an unknown ELF byte order ${bytes[5]}`;
  }
  const r = new Reader(bytes, bytes[5] === 1);
  const header = bits === 8 ? 64 : 52;
  if (bytes.length < header) return `a cut-off ELF header`;
  const at = (o32: number, o64: number) => bits === 8 ? o64 : o32;
  const phoff = r.word(at(28, 32), bits)!;
  const shoff = r.word(at(32, 40), bits)!;
  const phentsize = r.u16(at(42, 54))!;
  const phnum = r.u16(at(44, 56))!;
  const shentsize = r.u16(at(46, 58))!;
  const shnum = r.u16(at(48, 60))!;
  const regions: Region[] = [[0, header, "the ELF header"]];
  append(regions, [phoff, phentsize * phnum, "the program headers"]);
  if (shnum > 0) {
    append(regions, [shoff, shentsize * shnum, "the section headers"]);
  }
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const offset = r.word(p + at(4, 8), bits);
    const size = r.word(p + at(16, 32), bits);
    if (offset === undefined || size === undefined) break; // reported above
    append(regions, [offset, size, `segment ${i}`]);
  }
  for (let i = 0; i < shnum; i++) {
    const s = shoff + i * shentsize;
    const type = r.u32(s + 4);
    const offset = r.word(s + at(16, 24), bits);
    const size = r.word(s + at(20, 32), bits);
    if (type === undefined || offset === undefined || size === undefined) {
      break;
    }
    if (type !== 8) append(regions, [offset, size, `section ${i}`]); // not NOBITS
  }
  return regions;
}

/** Regions named by a PE file's headers and section table. */
function pe(bytes: Uint8Array): Parsed {
  const r = new Reader(bytes, true);
  const lfanew = r.u32(0x3c);
  if (lfanew === undefined) return "a cut-off DOS header";
  const regions: Region[] = [[0, 0x40, "the DOS header"]];
  append(regions, [lfanew, 24, "the PE header"]);
  const sections = r.u16(lfanew + 6);
  const optional = r.u16(lfanew + 20);
  if (sections === undefined || optional === undefined) return regions;
  if (r.u32(lfanew) !== 0x4550) return "no PE signature";
  // The COFF symbol and string tables (kept by MinGW) follow the sections.
  const symbols = r.u32(lfanew + 12);
  const symbolCount = r.u32(lfanew + 16);
  if (symbols !== undefined && symbolCount !== undefined && symbols !== 0) {
    const strings = symbols + 18 * symbolCount;
    append(regions, [strings, 4, "the COFF symbol table"]);
    const length = r.u32(strings);
    if (length !== undefined) {
      append(regions, [strings, length, "the COFF string table"]);
    }
  }
  const table = lfanew + 24 + optional;
  append(regions, [table, 40 * sections, "the section table"]);
  for (let i = 0; i < sections; i++) {
    const size = r.u32(table + 40 * i + 16);
    const offset = r.u32(table + 40 * i + 20);
    if (size === undefined || offset === undefined) break;
    append(regions, [offset, size, `section ${i}`]);
  }
  return regions;
}

/** Regions named by a Mach-O file's load commands (segments). */
function machO(bytes: Uint8Array): Parsed {
  const r = new Reader(bytes, true);
  const bits = r.u32(0) === 0xfeedfacf ? 8 : 4;
  const header = bits === 8 ? 32 : 28;
  const commands = r.u32(16);
  const size = r.u32(20);
  if (commands === undefined || size === undefined) {
    return "a cut-off Mach-O header";
  }
  const regions: Region[] = [[0, header + size, "the load commands"]];
  let at = header;
  for (let i = 0; i < commands && at + 8 <= bytes.length; i++) {
    const command = r.u32(at)!;
    const length = r.u32(at + 4)!;
    if (length < 8) return `load command ${i} of length ${length}`;
    if (command === 0x19 || command === 0x1) {
      const offset = r.word(at + (bits === 8 ? 40 : 32), bits);
      const filesize = r.word(at + (bits === 8 ? 48 : 36), bits);
      if (offset !== undefined && filesize !== undefined) {
        append(regions, [offset, filesize, `segment ${i}`]);
      }
    }
    at += length;
  }
  return regions;
}

/** Regions of a fat (universal) Mach-O file: its architectures' slices. */
function fat(bytes: Uint8Array): Parsed {
  const r = new Reader(bytes, false);
  const count = r.u32(4);
  if (count === undefined) return "a cut-off universal header";
  const regions: Region[] = [[0, 8 + 20 * count, "the architecture table"]];
  for (let i = 0; i < count; i++) {
    const offset = r.u32(8 + 20 * i + 8);
    const size = r.u32(8 + 20 * i + 12);
    if (offset === undefined || size === undefined) break;
    append(regions, [offset, size, `architecture ${i}`]);
  }
  return regions;
}

/** Formats by their first bytes. */
const FORMATS: [name: string, magic: number[], parse: typeof elf][] = [
  ["ELF", [0x7f, 0x45, 0x4c, 0x46], elf],
  ["PE", [0x4d, 0x5a], pe],
  ["Mach-O", [0xcf, 0xfa, 0xed, 0xfe], machO],
  ["Mach-O", [0xce, 0xfa, 0xed, 0xfe], machO],
  ["universal Mach-O", [0xca, 0xfe, 0xba, 0xbe], fat],
];

/**
 * What is wrong with a library file's bytes, or `undefined` if every region
 * its tables name lies within it.
 *
 * @param bytes The whole file.
 * @returns A description of the problem, for a message.
 */
export function libraryProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return "it is empty";
  // Loops, not Array.prototype methods, which a caller may have replaced
  // before the library is loaded.
  let format: (typeof FORMATS)[number] | undefined;
  for (let f = 0; format === undefined && f < FORMATS.length; f++) {
    const magic = FORMATS[f][1];
    let same = true;
    for (let i = 0; i < magic.length; i++) same &&= bytes[i] === magic[i];
    if (same) format = FORMATS[f];
  }
  if (format === undefined) {
    return `it is not a shared library (no ELF, PE or Mach-O header): it starts with ${
      [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0"))
        .join(" ")
    }`;
  }
  const [name, , parse] = format;
  const parsed = parse(bytes);
  if (typeof parsed === "string") return `it has ${parsed} (${name})`;
  for (let r = 0; r < parsed.length; r++) {
    const [offset, length, what] = parsed[r];
    if (offset + length > bytes.length) {
      return `it is truncated to ${bytes.length} bytes: ${what} (${name}) needs bytes up to ${
        offset + length
      }`;
    }
  }
  return undefined;
}

/**
 * Throws unless the file at `path` looks like a complete library.
 *
 * @param path The library file.
 * @param source Where the path came from, for the message.
 * @throws {Error} When it is empty, not a library, or truncated.
 */
export function checkLibrary(path: string, source: string): void {
  const problem = libraryProblem(Deno.readFileSync(path));
  if (problem !== undefined) {
    throw new Error(
      `mmap native library "${path}" (${source}) cannot be loaded: ${problem}; rebuild it with "deno task build", or replace it with a complete copy`,
    );
  }
}
