// The release facts the loader trusts: download URLs and the pinned SHA-256
// of each asset, and the script that writes checksums.json.

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { withTempDir } from "./_helpers.ts";
import { runDenoArgs } from "./_subprocess.ts";
import { ASSET, HASH, LIBRARY, ROOT } from "./_package.ts";
import {
  CHECKSUMS,
  type Checksums,
  downloadUrl,
  expectedSha256,
  releaseBaseUrl,
  VERSION,
} from "../src/_release.ts";

Deno.test("downloadUrl() points at this version's GitHub Release or MMAP_DOWNLOAD_URL", () => {
  assert.equal(
    downloadUrl(ASSET, () => undefined),
    `https://github.com/riaskov/mmap/releases/download/v${VERSION}/${ASSET}`,
  );
  assert.equal(releaseBaseUrl("1.2.3").endsWith("/download/v1.2.3"), true);
  assert.equal(
    downloadUrl(ASSET, () => "http://mirror.example/m/"),
    `http://mirror.example/m/${ASSET}`,
  );
});

Deno.test("expectedSha256() only trusts well-formed hashes of this version", () => {
  const hash = "ab".repeat(32);
  const table = { version: VERSION, assets: { [ASSET]: hash } };
  assert.equal(expectedSha256(ASSET, table), hash);
  assert.equal(expectedSha256("other.so", table), undefined);
  assert.equal(expectedSha256("toString", table), undefined);
  assert.equal(
    expectedSha256(ASSET, { ...table, version: "0.0.0-other" }),
    undefined,
  );
  assert.equal(
    expectedSha256(ASSET, { version: VERSION, assets: { [ASSET]: "AB" } }),
    undefined,
  );
  // The committed checksums.json belongs to this version.
  assert.equal(CHECKSUMS.version, VERSION);
});

Deno.test("gen_checksums_json.ts writes the checksums.json the loader reads", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/${ASSET}`, LIBRARY);
    await Deno.writeTextFile(`${dir}/unrelated.txt`, "not an asset");
    const { code, stderr } = await runDenoArgs([
      "run",
      "--quiet",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      fileURLToPath(new URL("scripts/gen_checksums_json.ts", ROOT)),
      dir,
      `${dir}/checksums.json`,
      "--txt",
      `${dir}/checksums.txt`,
    ]);
    assert.equal(code, 0, stderr);
    const written: Checksums = JSON.parse(
      await Deno.readTextFile(`${dir}/checksums.json`),
    );
    assert.deepEqual(written, { version: VERSION, assets: { [ASSET]: HASH } });
    assert.equal(expectedSha256(ASSET, written), HASH);
    assert.equal(
      await Deno.readTextFile(`${dir}/checksums.txt`),
      `${HASH}  ${ASSET}\n`,
    );
  });
});
