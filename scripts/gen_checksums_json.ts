// Hashes the release assets found in a directory and writes the
// checksums.json the loader verifies downloads and cached copies against.
//
//   deno run --allow-read --allow-write scripts/gen_checksums_json.ts \
//     <dir> <out.json> [--txt <checksums.txt>] [--require-all]
//
// Only files named in the platform table (src/platform.ts) are hashed; the
// version is this package's (deno.json). --txt also writes a sha256sum-style
// list; --require-all fails unless every platform's asset is present (the
// release workflow uses it).

import { parseArgs } from "node:util";
import { PLATFORMS } from "../src/platform.ts";
import { type Checksums, sha256, VERSION } from "../src/_release.ts";

/** Hashes every known asset present in `dir`, in the platform table's order. */
export async function checksumsOf(dir: string): Promise<Checksums> {
  const assets: Record<string, string> = {};
  for (const { asset } of PLATFORMS) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(`${dir}/${asset}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    assets[asset] = sha256(bytes);
  }
  return { version: VERSION, assets };
}

/** `checksums.json` text: stable key order, two-space indent, final newline. */
export function checksumsJson(checksums: Checksums): string {
  return `${JSON.stringify(checksums, null, 2)}\n`;
}

/** `sha256sum`-compatible lines (`<hash>  <file>`), for `sha256sum -c`. */
export function checksumsTxt(checksums: Checksums): string {
  return Object.entries(checksums.assets)
    .map(([asset, hash]) => `${hash}  ${asset}\n`)
    .join("");
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      txt: { type: "string" },
      "require-all": { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 2) {
    console.error(
      "usage: gen_checksums_json.ts <dir> <out.json> [--txt <file>] [--require-all]",
    );
    Deno.exit(2);
  }
  const [dir, out] = positionals as [string, string];
  const checksums = await checksumsOf(dir);
  const missing = PLATFORMS.map((p) => p.asset).filter((a) =>
    !(a in checksums.assets)
  );
  if (values["require-all"] && missing.length > 0) {
    console.error(`missing from ${dir}: ${missing.join(", ")}`);
    Deno.exit(1);
  }
  await Deno.writeTextFile(out, checksumsJson(checksums));
  if (values.txt !== undefined) {
    await Deno.writeTextFile(values.txt, checksumsTxt(checksums));
  }
  const count = Object.keys(checksums.assets).length;
  console.error(
    `${out}: ${count} asset(s) of version ${VERSION}${
      missing.length > 0 ? ` (none for ${missing.join(", ")})` : ""
    }`,
  );
}
