/**
 * Which native library file serves which platform. Data, not branches: a new
 * platform is a new row.
 *
 * @module
 */

/**
 * A platform the package ships a native library for: one row of
 * {@linkcode PLATFORMS}.
 */
export interface PlatformAsset {
  /** `Deno.build.os` value. */
  readonly os: typeof Deno.build.os;
  /** `Deno.build.arch` value. */
  readonly arch: typeof Deno.build.arch;
  /** File name of the release asset and of the dev build in `dist/`. */
  readonly asset: string;
  /** Rust target triple the asset is built for. */
  readonly target: string;
}

/**
 * Every supported platform, in the order the README's table lists them:
 * which `Deno.build.os`/`arch` pair loads which release asset, built for
 * which Rust target. The loader picks this process's row; set
 * `MMAP_LIB_PATH` to run anywhere else.
 *
 * @example Name this machine's asset
 * ```ts
 * import { PLATFORMS } from "@riaskov/mmap";
 * import assert from "node:assert/strict";
 *
 * const mine = PLATFORMS.find((p) =>
 *   p.os === Deno.build.os && p.arch === Deno.build.arch
 * );
 * if (mine !== undefined) assert.match(mine.asset, /^mmap_ffi-/);
 * ```
 */
export const PLATFORMS: readonly PlatformAsset[] = [
  {
    os: "windows",
    arch: "x86_64",
    asset: "mmap_ffi-windows-x86_64.dll",
    target: "x86_64-pc-windows-msvc",
  },
  {
    os: "linux",
    arch: "x86_64",
    asset: "mmap_ffi-linux-x86_64.so",
    target: "x86_64-unknown-linux-gnu",
  },
  {
    os: "darwin",
    arch: "aarch64",
    asset: "mmap_ffi-macos-aarch64.dylib",
    target: "aarch64-apple-darwin",
  },
  {
    os: "darwin",
    arch: "x86_64",
    asset: "mmap_ffi-macos-x86_64.dylib",
    target: "x86_64-apple-darwin",
  },
  {
    os: "linux",
    arch: "aarch64",
    asset: "mmap_ffi-linux-aarch64.so",
    target: "aarch64-unknown-linux-gnu",
  },
];

/**
 * Finds the asset for an OS and architecture (by default, this process's).
 *
 * @throws {Deno.errors.NotSupported} When no asset exists for the platform;
 * the message lists the supported ones.
 */
export function platformAsset(
  os: string = Deno.build.os,
  arch: string = Deno.build.arch,
): PlatformAsset {
  // A loop, not Array.prototype.find, which a caller may have replaced.
  let found: PlatformAsset | undefined;
  for (let i = 0; found === undefined && i < PLATFORMS.length; i++) {
    const p = PLATFORMS[i];
    if (p.os === os && p.arch === arch) found = p;
  }
  if (found === undefined) {
    const supported = PLATFORMS.map((p) => `${p.os}-${p.arch}`).join(", ");
    throw new Deno.errors.NotSupported(
      `mmap has no native library for ${os}-${arch}: supported platforms are ${supported}; elsewhere, build ffi/ yourself and set MMAP_LIB_PATH to the library`,
    );
  }
  return found;
}
