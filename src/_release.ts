/**
 * Everything that names a release, in one place: the package version (from
 * `deno.json`), where release assets are downloaded from, the environment
 * variables the loader reads, and the SHA-256 of each asset (from
 * `checksums.json`). Where assets are cached is `_cache.ts`. The loader, the
 * release scripts and the tests all read these; nothing else spells a URL
 * or a version.
 *
 * @module
 */

import { createHash } from "node:crypto";
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

/** Lowercase hex SHA-256 of some bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
