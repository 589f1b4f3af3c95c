// Random reads of 64 B, 4 KiB and 64 KiB at random offsets of a 1 GiB file
// in the page cache (written afresh in 16 MiB writes, see dataFile). Each
// iteration is a batch of reads; the report divides by the batch size.

import { BIG_SIZE, dataFile, KiB } from "./_common.ts";
import { randomReads, register } from "./_workloads.ts";

const path = dataFile("big.bin", BIG_SIZE, { fresh: true });

register(randomReads(path, BIG_SIZE, 64, 1024));
register(randomReads(path, BIG_SIZE, 4 * KiB, 256));
register(randomReads(path, BIG_SIZE, 64 * KiB, 16));
