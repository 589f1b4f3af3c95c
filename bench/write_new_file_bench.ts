// The seed README's write loop into a new file: 64 MiB, 256 MiB and 1 GiB
// in 65,000-byte chunks into fresh pages, then a flush to the disk.

import { BULK_SIZE, CHUNK, DATA_DIR, GiB, MiB } from "./_common.ts";
import { freshWrite, register } from "./_workloads.ts";

register(freshWrite(DATA_DIR, 64 * MiB, CHUNK), { n: 10, warmup: 1 });
register(freshWrite(DATA_DIR, BULK_SIZE, CHUNK), { n: 8, warmup: 1 });
// The seed's own size; few iterations, each writes and syncs 1 GiB.
register(freshWrite(DATA_DIR, GiB, CHUNK), { n: 3, warmup: 0 });
