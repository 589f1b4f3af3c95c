// The seed README's write loop into a new file: 256 MiB in 65,000-byte
// chunks into fresh pages, then a flush to the disk.

import { BULK_SIZE, CHUNK, DATA_DIR } from "./_common.ts";
import { freshWrite, register } from "./_workloads.ts";

register(freshWrite(DATA_DIR, BULK_SIZE, CHUNK), { n: 8, warmup: 1 });
