// Random 64-byte writes at random offsets of a 256 MiB file in the page
// cache, 1024 per iteration, no flush: the per-call cost of writeSync()
// against the raw FFI write over the same mapping and the file API.

import { BULK_SIZE, dataFile } from "./_common.ts";
import { randomWrites, register } from "./_workloads.ts";

const path = dataFile("random_write.bin", BULK_SIZE, { fresh: true });

register(randomWrites(path, BULK_SIZE, 64, 1024));
