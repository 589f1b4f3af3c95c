// A short tour: create a file through a mapping, read it back three ways,
// and time random 64-byte reads against Deno.FsFile on the same file.
//
//   deno task demo [size in MiB, default 64]

import {
  flush,
  openSync,
  openWriteWithSize,
  readSync,
  write,
} from "@riaskov/mmap";

const MiB = 1024 * 1024;
const size = Number(Deno.args[0] ?? 64) * MiB;
const dir = await Deno.makeTempDir({ prefix: "mmap_demo_" });
const path = `${dir}/demo.bin`;

try {
  // Create and fill the file through a read-write mapping.
  let started = performance.now();
  {
    await using out = await openWriteWithSize(path, size);
    const chunk = crypto.getRandomValues(new Uint8Array(65536));
    for (let off = 0; off < size; off += chunk.length) {
      await write(
        out,
        chunk.subarray(0, Math.min(chunk.length, size - off)),
        off,
      );
    }
    await flush(out);
  }
  const writeMs = performance.now() - started;
  console.log(
    `wrote ${size / MiB} MiB through a mapping in ${writeMs.toFixed(1)} ms`,
  );

  // Random 64-byte reads: the mapping against seek+read on a file handle.
  using m = openSync(path);
  const count = 200_000;
  const offsets = Array.from(
    { length: count },
    () => Math.floor(Math.random() * (size - 64)),
  );
  const buf = new Uint8Array(64);

  started = performance.now();
  for (const off of offsets) readSync(m, buf, off);
  const mmapNs = ((performance.now() - started) * 1e6) / count;

  const view = m.view();
  started = performance.now();
  for (const off of offsets) buf.set(view.subarray(off, off + 64));
  const viewNs = ((performance.now() - started) * 1e6) / count;

  using file = Deno.openSync(path);
  started = performance.now();
  for (const off of offsets) {
    file.seekSync(off, Deno.SeekMode.Start);
    file.readSync(buf);
  }
  const fileNs = ((performance.now() - started) * 1e6) / count;

  console.log(`random 64 B reads, ${count} each:`);
  console.log(
    `  readSync (mapping)      ${mmapNs.toFixed(0).padStart(6)} ns/read`,
  );
  console.log(
    `  view + set (zero-copy)  ${viewNs.toFixed(0).padStart(6)} ns/read`,
  );
  console.log(
    `  Deno.FsFile seek+read   ${fileNs.toFixed(0).padStart(6)} ns/read`,
  );
  console.log(
    `  readSync is ${(fileNs / mmapNs).toFixed(1)}x faster than seek+read`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
