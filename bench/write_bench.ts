// The seed README's write loop: 256 MiB in 65,000-byte chunks, then a flush
// to the disk. Once over a file already in the page cache, once into a new
// file (fresh pages).

import { BULK_SIZE, CHUNK, DATA_DIR, dataFile } from "./_common.ts";
import { freshWrite, register, rewrite } from "./_workloads.ts";

const path = dataFile("rewrite.bin", BULK_SIZE);

register(rewrite(path, BULK_SIZE, CHUNK), { n: 10, warmup: 1 });
register(freshWrite(DATA_DIR, BULK_SIZE, CHUNK), { n: 8, warmup: 1 });
