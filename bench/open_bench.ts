// Opening and closing a 1 GiB file: a mapping against a file descriptor.

import { BIG_SIZE, dataFile } from "./_common.ts";
import { openClose, register } from "./_workloads.ts";

register(openClose(dataFile("big.bin", BIG_SIZE), BIG_SIZE));
