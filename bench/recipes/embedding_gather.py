"""numpy reference for the embedding gather recipe
(bench/recipes/embedding_gather.ts): the same table as a (rows, 384) float32
memmap, batches of random row ids gathered with one
`np.take(table, ids, axis=0, out=...)` into a preallocated array, every batch
timed. Prints the recipe's JSON lines (p50 and p99 per batch, rows/s at the
median), or {"skip": ...} when numpy is missing.

    python3 embedding_gather.py FILE

FILE is the table bench/recipes/embedding_gather.ts writes
(`<data dir>/embedding-2048m.f32`, made by its --make step).
"""

import json
import os
import sys
import time

BATCHES = ((1, 4000), (32, 1000), (1024, 100), (32768, 12))
DIM = 384


def main():
    try:
        import numpy as np
    except ImportError:
        print(json.dumps({"skip": "numpy is not installed"}))
        return
    path = sys.argv[1]
    if not os.path.exists(path):
        print(json.dumps({"skip": f"{path} is missing (run the --make step)"}))
        return
    size = os.path.getsize(path)
    # The label the Deno program gives the same file.
    if size >= 1 << 30:
        label = f"{float(f'{size / (1 << 30):.1f}'):g} GiB"
    else:
        label = f"{round(size / (1 << 20))} MiB"
    table = np.memmap(path, dtype=np.float32, mode="r").reshape(-1, DIM)
    rng = np.random.default_rng(12345)
    name = "numpy take on a memmap"
    for n, reps in BATCHES:
        out = np.empty((n, DIM), dtype=np.float32)
        times = []
        for _ in range(reps):
            ids = rng.integers(0, table.shape[0], n)
            t0 = time.perf_counter_ns()
            np.take(table, ids, axis=0, out=out)
            times.append(time.perf_counter_ns() - t0)
        times.sort()
        p50 = times[len(times) // 2]
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        group = f"embedding gather {label}, batch of {n}"
        print(json.dumps({
            "group": group, "name": name, "ns_per_op": p50, "p99_ns": p99,
        }))
        print(json.dumps({
            "group": f"{group}: rows/s at p50", "name": name,
            "value": n / (p50 / 1e9), "unit": "rows/s",
        }))


main()
