// The seed README's write loop: 256 MiB in 65,000-byte chunks, then a flush
// to the disk, over a file already in the page cache (written afresh in
// 16 MiB writes: large folios, see dataFile).

import { BULK_SIZE, CHUNK, dataFile } from "./_common.ts";
import { register, rewrite } from "./_workloads.ts";

const path = dataFile("rewrite.bin", BULK_SIZE, { fresh: true });

register(rewrite(path, BULK_SIZE, CHUNK), { n: 10, warmup: 1 });
