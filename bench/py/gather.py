"""numpy reference for the gather groups (bench/gather_bench.ts).

Records of LEN bytes at COUNT random rows of a file seen as a 2-D memmap
(rows of LEN bytes), gathered with one `np.take(rows, idx, axis=0, out=...)`
into a preallocated array. Prints one JSON line per group, {"group", "name",
"ns_per_op"} (the median time per record over the runs), or {"skip": ...}
when numpy is missing.

    python3 gather.py FILE [runs] [count]

COUNT (1,048,576 by default) is the number of 64 B records; 4 KiB records
are COUNT/16, as in the bench groups.
"""

import json
import sys
import time


def main():
    try:
        import numpy as np
    except ImportError:
        print(json.dumps({"skip": "numpy is not installed"}))
        return
    if len(sys.argv) < 2:
        print("usage: gather.py FILE [runs]", file=sys.stderr)
        sys.exit(2)
    path = sys.argv[1]
    runs = max(1, int(sys.argv[2])) if len(sys.argv) > 2 else 9
    count = max(16, int(sys.argv[3])) if len(sys.argv) > 3 else 1 << 20
    data = np.memmap(path, dtype=np.uint8, mode="r")
    for length, n, label in ((64, count, "64 B"), (4096, count // 16, "4 KiB")):
        rows = data[: data.size // length * length].reshape(-1, length)
        # The warm-up runs map every page the timed runs touch (the same
        # rows each run), as the other alternatives have them mapped.
        idx = np.random.default_rng(7).integers(0, rows.shape[0], n)
        out = np.ones((n, length), dtype=np.uint8)
        times = []
        for r in range(runs + 2):
            t0 = time.perf_counter_ns()
            np.take(rows, idx, axis=0, out=out)
            t = time.perf_counter_ns() - t0
            if r >= 2:
                times.append(t / n)
        times.sort()
        print(json.dumps({
            "group": f"gather {label} records",
            "name": "numpy take on a memmap",
            "ns_per_op": round(times[len(times) // 2], 2),
        }))


main()
