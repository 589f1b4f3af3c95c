// OS/arch → asset name, and the release tooling that must name the same
// targets and assets.

import assert from "node:assert/strict";
import { platformAsset, PLATFORMS } from "../src/platform.ts";

const ROOT = new URL("../", import.meta.url);

Deno.test("platformAsset() on an unsupported platform lists the supported ones", () => {
  assert.throws(
    () => platformAsset("freebsd", "x86_64"),
    (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotSupported);
      assert.ok(error.message.includes("freebsd-x86_64"), error.message);
      for (const p of PLATFORMS) {
        assert.ok(error.message.includes(`${p.os}-${p.arch}`), error.message);
      }
      assert.ok(error.message.includes("MMAP_LIB_PATH"));
      return true;
    },
  );
  assert.deepEqual(
    PLATFORMS.map((p) => p.asset),
    [
      "mmap_ffi-windows-x86_64.dll",
      "mmap_ffi-linux-x86_64.so",
      "mmap_ffi-macos-aarch64.dylib",
      "mmap_ffi-macos-x86_64.dylib",
      "mmap_ffi-linux-aarch64.so",
    ],
  );
});

Deno.test("release tooling names the same targets and assets as src/platform.ts", async () => {
  const table = PLATFORMS.map((p) => `${p.target} ${p.asset}`).sort();
  const ps1 = await Deno.readTextFile(
    new URL("scripts/build-release.ps1", ROOT),
  );
  const fromPs1 = [...ps1.matchAll(/^\s*"([\w-]+)"\s*=\s*"([\w.-]+)"$/gm)]
    .map(([, target, asset]) => `${target} ${asset}`).sort();
  assert.deepEqual(fromPs1, table);
  const yml = await Deno.readTextFile(
    new URL(".github/workflows/release.yml", ROOT),
  );
  const fromYml = [
    ...yml.matchAll(/^\s+target: ([\w-]+)\n\s+asset: ([\w.-]+)$/gm),
  ].map(([, target, asset]) => `${target} ${asset}`).sort();
  assert.deepEqual(fromYml, table);
});
