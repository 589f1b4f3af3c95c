// One sequential read of a 256 MiB file (in the page cache) into a
// preallocated buffer; Deno.readFile allocates its own.

import { BULK_SIZE, dataFile } from "./_common.ts";
import { register, sequentialRead } from "./_workloads.ts";

const path = dataFile("bulk.bin", BULK_SIZE);

register(sequentialRead(path, BULK_SIZE), { n: 30, warmup: 3 });
