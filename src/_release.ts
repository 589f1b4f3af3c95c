/**
 * Everything that names a release, in one place: the package version (from
 * `deno.json`), where release assets are downloaded from, where they are
 * cached, the environment variables that override those, and the SHA-256 of
 * each asset (from `checksums.json`). The loader, the release scripts and
 * the tests all read these; nothing else spells a URL, a directory or a
 * version.
 *
 * @module
 */

import { posix, win32 } from "node:path";
import meta from "../deno.json" with { type: "json" };
import checksums from "../checksums.json" with { type: "json" };

/** This package's version, as in `deno.json`. */
export const VERSION: string = meta.version;

/** The GitHub repository whose releases carry the native libraries. */
export const REPOSITORY_URL = "https://github.com/riaskov/mmap";

/** The environment variables the loader reads (only if already allowed). */
export const ENV = {
  /** Explicit path of the library to load, without a checksum. */
  libPath: "MMAP_LIB_PATH",
  /** Replaces the per-OS cache root (the part before `/<version>`). */
  cacheDir: "MMAP_CACHE_DIR",
  /** Replaces the download URL up to (not including) `/<asset>`. */
  downloadUrl: "MMAP_DOWNLOAD_URL",
} as const;

/** Reads an environment variable; `undefined` when unset or not allowed. */
export type EnvReader = (name: string) => string | undefined;

/**
 * Reads an environment variable only if Deno already allows it: never
 * prompts and never throws for a missing `--allow-env`. A variable that
 * cannot be read counts as unset.
 */
export function readEnv(name: string): string | undefined {
  const { state } = Deno.permissions.querySync({ name: "env", variable: name });
  if (state !== "granted") return undefined;
  const value = Deno.env.get(name);
  return value === "" ? undefined : value;
}

/** Where release assets of `version` are downloaded from, before `/<asset>`. */
export function releaseBaseUrl(version: string = VERSION): string {
  return `${REPOSITORY_URL}/releases/download/v${version}`;
}

/** The URL an asset is downloaded from: `MMAP_DOWNLOAD_URL` or the release. */
export function downloadUrl(asset: string, env: EnvReader = readEnv): string {
  const base = env(ENV.downloadUrl) ?? releaseBaseUrl();
  return `${base.replace(/\/+$/, "")}/${asset}`;
}

/** One way to find a per-user cache root: a variable, then path segments. */
interface CacheRule {
  readonly variable: string;
  readonly segments: readonly string[];
}

/**
 * Per-OS cache roots, tried in order; `<version>/<asset>` goes below. A rule
 * whose variable is unset, not allowed or not an absolute path is skipped.
 */
export const CACHE_RULES: Readonly<Record<string, readonly CacheRule[]>> = {
  linux: [
    { variable: "XDG_CACHE_HOME", segments: ["mmap"] },
    { variable: "HOME", segments: [".cache", "mmap"] },
  ],
  darwin: [{ variable: "HOME", segments: ["Library", "Caches", "mmap"] }],
  windows: [{ variable: "LOCALAPPDATA", segments: ["mmap", "cache"] }],
};

/** The variables consulted to find the cache on `os`, in order. */
export function cacheVariables(os: string = Deno.build.os): string[] {
  return [ENV.cacheDir, ...(CACHE_RULES[os] ?? []).map((r) => r.variable)];
}

function isAbsolute(path: string, os: string): boolean {
  return os === "windows"
    ? /^([a-zA-Z]:[\\/]|[\\/]{2})/.test(path)
    : path.startsWith("/");
}

/**
 * The directory holding cached assets of `version`, or `undefined` when no
 * variable that locates it is set and readable.
 */
export function cacheDirectory(
  env: EnvReader = readEnv,
  os: string = Deno.build.os,
  version: string = VERSION,
): string | undefined {
  // Paths are joined the way `os` writes them, whatever the host is.
  const { join } = os === "windows" ? win32 : posix;
  const override = env(ENV.cacheDir);
  if (override !== undefined) return join(override, version);
  for (const rule of CACHE_RULES[os] ?? []) {
    const base = env(rule.variable);
    if (base !== undefined && isAbsolute(base, os)) {
      return join(base, ...rule.segments, version);
    }
  }
  return undefined;
}

/** Shape of `checksums.json`. */
export interface Checksums {
  /** The package version the hashes belong to. */
  readonly version: string;
  /** Asset file name → lowercase hex SHA-256. */
  readonly assets: Readonly<Record<string, string>>;
}

/** The `checksums.json` bundled with this package. */
export const CHECKSUMS: Checksums = checksums;

/**
 * The SHA-256 pinned for `asset`, or `undefined` when the bundled
 * `checksums.json` has none for it (no release built yet, a platform left
 * out of the release) or belongs to another version.
 */
export function expectedSha256(
  asset: string,
  table: Checksums = CHECKSUMS,
  version: string = VERSION,
): string | undefined {
  if (table.version !== version) return undefined;
  const hash = Object.hasOwn(table.assets, asset)
    ? table.assets[asset]
    : undefined;
  return hash !== undefined && /^[0-9a-f]{64}$/.test(hash) ? hash : undefined;
}
