// The seed README's write loop: 256 MiB in 65,000-byte chunks, then a flush
// to the disk. Over a file already in the page cache (made in 16 MiB writes,
// then again for one made in 65,000-byte writes: on ext4 with large folios
// the difference decides the write-fault count), and into a new file.

import { BULK_SIZE, CHUNK, DATA_DIR, dataFile } from "./_common.ts";
import { freshWrite, register, rewrite } from "./_workloads.ts";

const large = dataFile("rewrite.bin", BULK_SIZE);
const small = dataFile("rewrite_small.bin", BULK_SIZE, CHUNK);

register(rewrite(large, BULK_SIZE, CHUNK), { n: 10, warmup: 1 });
register(
  rewrite(small, BULK_SIZE, CHUNK, ", file made in 65,000-byte writes"),
  { n: 10, warmup: 1 },
);
register(freshWrite(DATA_DIR, BULK_SIZE, CHUNK), { n: 8, warmup: 1 });
