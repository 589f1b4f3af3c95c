// Gathers of many records at random offsets of the 1 GiB file of the
// random-read groups (in the page cache): one gatherSync() call for the
// batch against a readSync() per record and a view() subarray+set loop.
// 64 B records (1,048,576 per iteration) and 4 KiB records (65,536 per
// iteration); the report divides by the records. The C loop
// (bench/c/gather.c) and numpy's take (bench/py/gather.py) join these
// groups as side programs. The last group copies the file into two
// anonymous tables, advised "hugepage" and "nohugepage", and gathers from
// each (2 GiB of memory while it runs).

import { BIG_SIZE, dataFile, KiB } from "./_common.ts";
import { register } from "./_workloads.ts";
import { gatherRecords, hugePageTable } from "./_batch_workloads.ts";

const path = dataFile("big.bin", BIG_SIZE, { fresh: true });

register(gatherRecords(path, BIG_SIZE, 64, 1 << 20), { n: 12, warmup: 2 });
register(gatherRecords(path, BIG_SIZE, 4 * KiB, 1 << 16), { n: 12, warmup: 2 });
register(hugePageTable(path, BIG_SIZE, 64, 1 << 20), { n: 12, warmup: 2 });
