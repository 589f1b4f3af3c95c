"""numpy reference for the embedding gather recipe
(bench/recipes/embedding_gather.ts): the same table as a (rows, 384) float32
memmap, batches of random row ids gathered with one
`np.take(table, ids, axis=0, out=...)` into a preallocated array, every batch
timed. Prints the recipe's JSON lines (p50 and p99 per batch, rows/s at the
median), or {"skip": ...} when numpy is missing.

    python3 embedding_gather.py FILE LABEL
"""

import json
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
    path, label = sys.argv[1], sys.argv[2]
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
