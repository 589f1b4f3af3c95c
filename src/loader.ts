/**
 * Finds the native library, in this order:
 *
 * 1. `MMAP_LIB_PATH`: an explicit path, loaded as is (no checksum).
 * 2. A dev build at `./dist/<asset>`: in the current directory, then next to
 *    this module when it is a local file (no checksum).
 * 3. The user cache, `<cache>/<version>/<asset>`, hashed and checked against
 *    the bundled `checksums.json` on every load.
 * 4. A download from the GitHub Release of this version (or
 *    `MMAP_DOWNLOAD_URL`), checked the same way, written to a temp file in
 *    the cache directory and renamed into place only after the hash matches.
 *
 * URLs, the version and the checksums come from `_release.ts`, cache
 * directories from `_cache.ts`, the download itself from `_download.ts`.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { platformAsset } from "./platform.ts";
import { cacheDirectory, cacheVariables } from "./_cache.ts";
import { download, note, type Plan } from "./_download.ts";
import { append } from "./_intrinsics.ts";
import { checkLibrary } from "./_library_check.ts";
import {
  downloadUrl,
  ENV,
  expectedSha256,
  readEnv,
  sha256,
  VERSION,
} from "./_release.ts";

/**
 * True if `path` is an existing file; false if absent or unreadable. A path
 * the flags hide is added to `hidden`, to be named if nothing is found.
 */
function isFile(path: string, hidden: string[]): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) append(hidden, path);
    return false;
  }
}

/**
 * Throws, naming the flag, when a dev build may be at a path the flags do
 * not let the loader read.
 */
function requireVisible(hidden: string[], asset: string): void {
  if (hidden.length === 0) return;
  throw new Deno.errors.NotCapable(
    `mmap cannot look for its native library "${asset}" at ${
      hidden.map((path) => `"${path}"`).join(" or ")
    }: requires read access, run again with --allow-read=${
      hidden.join(",")
    } (or a list of paths that includes it), or set ${ENV.libPath} to the library's path`,
  );
}

/**
 * The error for a path the flags hide from the loader: Deno's own
 * `NotCapable` (as `cause`), reworded to say what the loader was doing and
 * the exact flag that lets it, since a scoped `--allow-read`/`--allow-write`
 * must also cover the library's location.
 */
export function hiddenFrom(
  error: Error,
  kind: "read" | "write",
  path: string,
  doing: string,
): Error {
  return new Deno.errors.NotCapable(
    `mmap cannot ${doing} "${path}": requires ${kind} access, run again with --allow-${kind}=${path} (a scoped --allow-${kind} must also cover the native library's location), or set ${ENV.libPath} to the library's path`,
    { cause: error },
  );
}

/** The file named by `MMAP_LIB_PATH`, if set; throws if it is not a file. */
function explicitLibrary(): string | undefined {
  const value = readEnv(ENV.libPath);
  if (value === undefined) return undefined;
  const path = resolve(value);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new Deno.errors.NotCapable(
        `${ENV.libPath} is "${value}", but mmap may not read "${path}": requires read access, run again with --allow-read=${path} (a scoped --allow-read must also cover the native library's location)`,
        { cause: error },
      );
    }
    throw new Deno.errors.NotFound(
      `${ENV.libPath} is "${value}", but there is no file at "${path}": set it to the native library's path, or unset it`,
      { cause: error },
    );
  }
  if (!info.isFile) {
    throw new Deno.errors.NotFound(
      `${ENV.libPath} is "${value}", which is not a file: set it to the native library's path, or unset it`,
    );
  }
  checkLibrary(path, `set by ${ENV.libPath}`);
  return path;
}

/** Candidate dev builds, in the order they are tried. */
function devCandidates(asset: string): string[] {
  // No Array.prototype methods before the library is loaded: a caller may
  // have replaced them (see _intrinsics.ts).
  const candidates: string[] = [];
  let cwd: string | undefined;
  try {
    cwd = resolve("dist", asset);
    append(candidates, cwd);
  } catch {
    // No read permission for the current directory: skip it.
  }
  const here = new URL(`../dist/${asset}`, import.meta.url);
  if (here.protocol === "file:") {
    const path = fileURLToPath(here);
    if (path !== cwd) append(candidates, path);
  }
  return candidates;
}

/** A library found locally, or the plan for the cache and download steps. */
type Found = { path: string } | {
  plan: Plan;
  /** What is wrong with the cache, for messages. */
  problem: string;
  /** True if the cached file exists but does not match its hash. */
  corrupt: boolean;
};

function locate(): Found {
  const explicit = explicitLibrary();
  if (explicit !== undefined) return { path: explicit };
  const { asset } = platformAsset();
  const hidden: string[] = [];
  const candidates = devCandidates(asset);
  let dev: string | undefined;
  for (let i = 0; dev === undefined && i < candidates.length; i++) {
    if (isFile(candidates[i], hidden)) dev = candidates[i];
  }
  if (dev !== undefined) {
    checkLibrary(dev, "a local build");
    return { path: dev };
  }

  const expected = expectedSha256(asset);
  if (expected === undefined) {
    // A clone before a release: the build in dist/ is the only library.
    requireVisible(hidden, asset);
    throw new Deno.errors.NotFound(
      `mmap native library "${asset}" has no SHA-256 in the checksums.json of @riaskov/mmap ${VERSION} (as in a clone of the repository before a release is built), so it will not be downloaded or loaded from the cache: build it with "deno task build" in a clone of the repository, or set ${ENV.libPath} to its path`,
    );
  }
  const directory = cacheDirectory();
  if (directory === undefined) {
    const variables = cacheVariables();
    throw new Deno.errors.NotFound(
      `mmap cannot locate its cache for "${asset}": none of ${
        variables.join(", ")
      } is set and readable (allow reading them with --allow-env=${
        variables.join(",")
      }), or set ${ENV.libPath} to the library's path`,
    );
  }
  const plan: Plan = {
    asset,
    sha256: expected,
    path: resolve(directory, asset),
    url: downloadUrl(asset),
  };
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(plan.path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return {
        plan,
        problem: `is not cached at "${plan.path}"`,
        corrupt: false,
      };
    }
    if (error instanceof Deno.errors.NotCapable) {
      throw hiddenFrom(
        error,
        "read",
        directory,
        `read its cached native library at "${plan.path}" in`,
      );
    }
    throw error;
  }
  const actual = sha256(bytes);
  if (actual === plan.sha256) return { path: plan.path };
  return {
    plan,
    corrupt: true,
    problem:
      `is cached at "${plan.path}", but that file's SHA-256 is ${actual} where checksums.json expects ${plan.sha256}`,
  };
}

/**
 * Resolves the library path without any network access.
 *
 * @returns The path to pass to `Deno.dlopen`.
 * @throws {Deno.errors.NotFound} When `MMAP_LIB_PATH` names no file, or the
 * library is neither built locally nor cached intact; the message says to
 * call an async function first, set `MMAP_LIB_PATH` or seed the cache.
 * @throws {Deno.errors.NotSupported} On a platform with no release asset.
 */
export function resolveLibrarySync(): string {
  const found = locate();
  if ("path" in found) return found.path;
  const { plan, problem } = found;
  throw new Deno.errors.NotFound(
    `mmap native library "${plan.asset}" ${problem}, and a synchronous call cannot download it: call an async function such as open() once first (it downloads from ${plan.url}), set ${ENV.libPath} to the library's path, or put a verified copy at "${plan.path}"`,
  );
}

let pending: Promise<string> | undefined;

/**
 * Resolves the library path, downloading the library into the cache if it
 * is not there intact. Concurrent calls share one download.
 *
 * @returns The path to pass to `Deno.dlopen`.
 * @throws {Error} When the download fails or its hash does not match; the
 * message names the URL, the HTTP status or both hashes.
 */
export function resolveLibrary(): Promise<string> {
  pending ??= resolveOrDownload().finally(() => pending = undefined);
  return pending;
}

async function resolveOrDownload(): Promise<string> {
  const found = locate();
  if ("path" in found) return found.path;
  const { plan, problem } = found;
  if (found.corrupt) {
    note(`mmap: "${plan.asset}" ${problem}; replacing it`);
  }
  return await download(plan);
}
