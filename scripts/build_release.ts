// Builds release binaries of the native crate and copies them into a flat
// directory under their asset names (src/platform.ts), then writes
// checksums.txt and checksums.json there. The Linux/macOS counterpart of
// scripts/build-release.ps1, with the same parameters:
//
//   deno run --allow-run=cargo --allow-read --allow-write --allow-env \
//     scripts/build_release.ts [--crate-dir ffi] [--crate-name mmap_ffi] \
//     [--targets t1,t2] [--configuration release] [--out dist]
//
// Without --targets it builds for this machine's platform. Each target must
// be installed (`rustup target add <triple>`).

import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { platformAsset, PLATFORMS } from "../src/platform.ts";
import {
  checksumsJson,
  checksumsOf,
  checksumsTxt,
} from "./gen_checksums_json.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "crate-dir": { type: "string", default: "ffi" },
    "crate-name": { type: "string", default: "mmap_ffi" },
    targets: { type: "string", multiple: true },
    configuration: { type: "string", default: "release" },
    out: { type: "string", default: "dist" },
  },
});

const crateDir = resolve(values["crate-dir"]);
const crateName = values["crate-name"];
const configuration = values.configuration;
const out = resolve(values.out);
const targets = (values.targets ?? [platformAsset().target])
  .flatMap((t) => t.split(","))
  .map((t) => t.trim())
  .filter((t) => t !== "");

/** File cargo writes for a cdylib on the target's OS. */
function builtName(target: string): string {
  if (target.includes("-windows-")) return `${crateName}.dll`;
  if (target.includes("-apple-")) return `lib${crateName}.dylib`;
  return `lib${crateName}.so`;
}

/** cargo's flags and output directory for a configuration (profile). */
function profile(): { flags: string[]; dir: string } {
  if (configuration === "release") {
    return { flags: ["--release"], dir: "release" };
  }
  if (configuration === "debug") return { flags: [], dir: "debug" };
  return { flags: ["--profile", configuration], dir: configuration };
}

await Deno.mkdir(out, { recursive: true });
const targetDir = join(crateDir, "target");
for (const target of targets) {
  const platform = PLATFORMS.find((p) => p.target === target);
  if (platform === undefined) {
    const known = PLATFORMS.map((p) => p.target).join(", ");
    console.error(`unknown target ${target}: known targets are ${known}`);
    Deno.exit(2);
  }
  const { flags, dir } = profile();
  console.error(`building ${target} (${configuration})`);
  const { code } = await new Deno.Command("cargo", {
    args: [
      "build",
      ...flags,
      "--manifest-path",
      join(crateDir, "Cargo.toml"),
      "--target",
      target,
      "--target-dir",
      targetDir,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) Deno.exit(code);
  const built = join(targetDir, target, dir, builtName(target));
  await Deno.copyFile(built, join(out, platform.asset));
  console.error(`  ${join(out, platform.asset)}`);
}

const checksums = await checksumsOf(out);
await Deno.writeTextFile(join(out, "checksums.txt"), checksumsTxt(checksums));
await Deno.writeTextFile(join(out, "checksums.json"), checksumsJson(checksums));
console.error(
  `  ${join(out, "checksums.txt")}\n  ${join(out, "checksums.json")}`,
);
