// Builds the native library for this machine (cargo, release) and copies it
// to dist/<asset>, named as in the platform table.
//
//   deno task build [--features name] [--out path]

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
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
// fileURLToPath, not .pathname: on Windows the latter gives "/D:/...".
const manifest = fileURLToPath(new URL("ffi/Cargo.toml", root));
const targetDir = values["target-dir"] ??
  fileURLToPath(new URL("ffi/target", root));
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

let code: number;
try {
  ({ code } = await new Deno.Command("cargo", {
    args,
    stdout: "inherit",
    stderr: "inherit",
  }).output());
} catch (error) {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
  console.error(
    "deno task build needs Rust's cargo on PATH (https://rustup.rs): install it, or use a released library through MMAP_LIB_PATH",
  );
  Deno.exit(1);
}
if (code !== 0) Deno.exit(code);

const built = `${targetDir}/release/${libraryFile[Deno.build.os]}`;
const out = values.out ??
  fileURLToPath(new URL(`dist/${platformAsset().asset}`, root));
await Deno.mkdir(new URL("dist", root), { recursive: true });
// Copy to a temporary name and rename, so a process loading the old library
// never sees a half-written file.
await Deno.copyFile(built, `${out}.tmp`);
await Deno.rename(`${out}.tmp`, out);
