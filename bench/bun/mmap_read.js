// A side program of bench/side.ts, run by Bun (`BUN=/path/to/bun`): random
// reads with `Bun.mmap` subarray + set at the very offsets the deno bench
// groups visit (mulberry32, as `random` in bench/_common.ts, seeded with the
// read length), over bench/.data/big.bin. One JSON line per read size: ns
// per read, the median of 7 passes.
//
//   $BUN bench/bun/mmap_read.js bench/.data/big.bin

/* global Bun */

function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const path = process.argv[2];
const map = Bun.mmap(path, { shared: true });
const size = map.length;
const COUNT = 1 << 20;
const lengths = [[64, "64 B", COUNT], [4096, "4 KiB", COUNT / 4], [
  65536,
  "64 KiB",
  COUNT / 16,
]];
for (const [len, label, count] of lengths) {
  const next = random(len);
  const offsets = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    offsets[i] = Math.floor(next() * (size - len + 1));
  }
  const dst = new Uint8Array(len);
  const times = [];
  for (let pass = 0; pass < 7; pass++) {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < count; i++) {
      const o = offsets[i];
      dst.set(map.subarray(o, o + len));
    }
    times.push((Bun.nanoseconds() - t0) / count);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({
    group: `random ${label} read`,
    name: "Bun.mmap subarray+set",
    ns_per_op: times[3],
  }));
}
