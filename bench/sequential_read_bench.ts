// One sequential read of a 256 MiB file (in the page cache, written afresh
// in 16 MiB writes) into a preallocated buffer; Deno.readFile allocates its
// own.

import { BULK_SIZE, dataFile } from "./_common.ts";
import { register, sequentialRead } from "./_workloads.ts";

const path = dataFile("bulk.bin", BULK_SIZE, { fresh: true });

register(sequentialRead(path, BULK_SIZE), { n: 30, warmup: 3 });
