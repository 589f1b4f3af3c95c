/**
 * Where verified copies of the native library are cached, per OS, and
 * whether a cached copy is intact. Fetching lives in `_download.ts`.
 *
 * @module
 */

import { posix, win32 } from "node:path";
import { ENV, type EnvReader, readEnv, sha256, VERSION } from "./_release.ts";

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

/**
 * Whether the file at `path` exists and has the SHA-256 `expected`. An
 * unreadable or missing file is not intact.
 */
export function isIntact(path: string, expected: string): boolean {
  try {
    return sha256(Deno.readFileSync(path)) === expected;
  } catch {
    return false;
  }
}
