// The rewrite of write_bench.ts over a file made in 65,000-byte writes: on
// ext4 with large folios its page cache is in small folios, and a mapping
// takes a write fault per 4 KiB page after each flush.

import { BULK_SIZE, CHUNK, dataFile } from "./_common.ts";
import { register, rewrite } from "./_workloads.ts";

const path = dataFile("rewrite_small.bin", BULK_SIZE, {
  step: CHUNK,
  fresh: true,
});

register(
  rewrite(path, BULK_SIZE, CHUNK, ", file made in 65,000-byte writes"),
  { n: 10, warmup: 1 },
);
