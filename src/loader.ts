/**
 * Finds the native library: `MMAP_LIB_PATH`, then a dev build in
 * `./dist/<asset>` (the current directory, then next to this module).
 *
 * @module
 */

import { platformAsset } from "./platform.ts";

/** Reads an environment variable only if access to it is already granted. */
function envVar(name: string): string | undefined {
  const { state } = Deno.permissions.querySync({ name: "env", variable: name });
  return state === "granted" ? Deno.env.get(name) : undefined;
}

/** True if `path` is an existing file we may read. */
function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Candidate dev builds, in the order they are tried. */
function devCandidates(asset: string): string[] {
  const candidates = [`./dist/${asset}`];
  const here = new URL(`../dist/${asset}`, import.meta.url);
  if (here.protocol === "file:") {
    candidates.push(
      decodeURIComponent(here.pathname.replace(/^\/(\w:)/, "$1")),
    );
  }
  return candidates;
}

/**
 * Resolves the library path without any network access.
 *
 * @throws {Deno.errors.NotFound} When no library is available locally.
 */
export function resolveLibrarySync(): string {
  const explicit = envVar("MMAP_LIB_PATH");
  if (explicit !== undefined && explicit !== "") {
    if (!isFile(explicit)) {
      throw new Deno.errors.NotFound(
        `MMAP_LIB_PATH points to "${explicit}", which is not a readable file`,
      );
    }
    return explicit;
  }
  const { asset } = platformAsset();
  const dev = devCandidates(asset).find(isFile);
  if (dev !== undefined) return dev;
  throw new Deno.errors.NotFound(
    `mmap native library "${asset}" not found: build it with "deno task build" or set MMAP_LIB_PATH to its path`,
  );
}

/** Resolves the library path. */
export function resolveLibrary(): Promise<string> {
  return Promise.resolve().then(resolveLibrarySync);
}
