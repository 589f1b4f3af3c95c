// The huge-page advice: advise("hugepage" | "nohugepage") reaches the
// kernel (Linux: checked in /proc/self/smaps, where the kernel offers
// transparent huge pages) and is accepted everywhere else.

import assert from "node:assert/strict";
import {
  openAnonymousSync,
  openShared,
  openSync,
  unlinkShared,
} from "@riaskov/mmap";
import { withTempDir } from "./_helpers.ts";
import { lastJson, MOD_URL, REPORT, runDeno } from "./_subprocess.ts";

// Deno gives /sys and /proc/self/smaps only to --allow-all, so the
// measurement runs in a child with it.
Deno.test({
  name:
    'advise("hugepage") backs anonymous memory with huge pages, "nohugepage" keeps small ones',
  ignore: Deno.build.os !== "linux",
  async fn() {
    const out = await runDeno(
      `
import { openAnonymousSync } from ${JSON.stringify(MOD_URL)};
${REPORT}
const text = Deno.readTextFileSync("/sys/kernel/mm/transparent_hugepage/enabled");
const enabled = /\\[(\\w+)\\]/.exec(text)?.[1];
/** AnonHugePages (kB) of the mapping that holds address, from smaps. */
function anonHugeKiB(address) {
  let inside = false;
  for (const line of Deno.readTextFileSync("/proc/self/smaps").split("\\n")) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) {
      inside = BigInt("0x" + range[1]) <= address && address < BigInt("0x" + range[2]);
    } else if (inside && line.startsWith("AnonHugePages:")) {
      return Number(line.split(/\\s+/)[1]);
    }
  }
  throw new Error("the mapping is not in /proc/self/smaps");
}
const sizes = {};
for (const advice of ["hugepage", "nohugepage"]) {
  const table = openAnonymousSync(16 << 20);
  table.advise(advice);
  table.view().fill(1);
  sizes[advice] = anonHugeKiB(Deno.UnsafePointer.value(table.ptr));
  table.close();
}
report({ enabled, sizes });
`,
      ["--allow-all", "--unstable-ffi"],
    );
    const { enabled, sizes } = lastJson<{
      enabled: string;
      sizes: Record<string, number>;
    }>(out);
    assert.equal(sizes.nohugepage, 0, JSON.stringify(sizes));
    if (enabled === "always" || enabled === "madvise") {
      // At least one whole 2 MiB page inside the 16 MiB (the ends may not
      // be aligned to 2 MiB).
      assert.ok(sizes.hugepage >= 2048, JSON.stringify(sizes));
    } else {
      // "never": the advice is taken, and the kernel keeps small pages.
      assert.equal(sizes.hugepage, 0, JSON.stringify(sizes));
    }
  },
});

Deno.test("the huge-page advice is accepted on files, shared memory and every OS", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/data.bin`;
    Deno.writeFileSync(path, new Uint8Array(1 << 20));
    using file = openSync(path);
    using cow = openSync(path, { private: true });
    using anon = openAnonymousSync(1 << 20);
    const name = `mmap_huge_${Deno.pid}`;
    await using shared = await openShared(name, {
      create: true,
      size: 1 << 20,
    });
    try {
      for (const m of [file, cow, anon, shared]) {
        m.advise("hugepage");
        m.advise("nohugepage", 4096, 8192);
        assert.equal(m.view(0, 1)[0], 0, "the contents stay");
      }
      assert.throws(() => anon.advise("huge" as never), TypeError);
    } finally {
      await unlinkShared(name);
    }
  });
});
