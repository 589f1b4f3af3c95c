// Builds the native library for this machine (cargo, release) and copies it
// to dist/<asset>, named as in the platform table.
//
//   deno task build [--features name] [--out path]

import { parseArgs } from "node:util";
import { platformAsset } from "../src/platform.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    features: { type: "string" },
    out: { type: "string" },
    "target-dir": { type: "string" },
  },
});

const libraryFile: Record<string, string> = {
  linux: "libmmap_ffi.so",
  darwin: "libmmap_ffi.dylib",
  windows: "mmap_ffi.dll",
};

const root = new URL("..", import.meta.url);
const manifest = new URL("ffi/Cargo.toml", root).pathname;
const targetDir = values["target-dir"] ?? new URL("ffi/target", root).pathname;
const args = [
  "build",
  "--release",
  "--quiet",
  "--manifest-path",
  manifest,
  "--target-dir",
  targetDir,
];
if (values.features) args.push("--features", values.features);

const { code } = await new Deno.Command("cargo", {
  args,
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (code !== 0) Deno.exit(code);

const built = `${targetDir}/release/${libraryFile[Deno.build.os]}`;
const out = values.out ??
  new URL(`dist/${platformAsset().asset}`, root).pathname;
await Deno.mkdir(new URL("dist", root), { recursive: true });
// Copy to a temporary name and rename, so a process loading the old library
// never sees a half-written file.
await Deno.copyFile(built, `${out}.tmp`);
await Deno.rename(`${out}.tmp`, out);
