/**
 * Downloading a release asset into the cache: hashed in memory, written to
 * a temp file, renamed into place only when the hash matches.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { isIntact } from "./_cache.ts";
import { ENV, sha256 } from "./_release.ts";

/** What the cache and download steps need to know. */
export interface Plan {
  asset: string;
  /** Expected SHA-256 from `checksums.json`. */
  sha256: string;
  /** Where the verified file lives in the cache. */
  path: string;
  url: string;
}

/** One line on stderr (the only output the loader ever writes). */
export function note(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`));
}

/** A download taking longer than this is abandoned. */
const DOWNLOAD_TIMEOUT_MS = 120_000;
/** A release asset is well under 1 MiB; anything past this is not one. */
const MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024;

/** The response body, or `undefined` once it exceeds `limit` bytes. */
async function readAtMost(
  response: Response,
  limit: number,
): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of response.body ?? []) {
    length += chunk.length;
    // Leaving the loop cancels the stream.
    if (length > limit) return undefined;
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/**
 * Downloads `plan.url`, checks its SHA-256 in memory, and renames it into
 * the cache only once it matches.
 *
 * @returns The cached path.
 */
export async function download(plan: Plan): Promise<string> {
  const directory = dirname(plan.path);
  const offline =
    `set ${ENV.libPath} to a copy of the library, or put a verified copy at "${plan.path}"`;
  note(`mmap: downloading ${plan.asset} from ${plan.url} to ${directory}`);
  const failed = (error: unknown): Error => {
    if (error instanceof Deno.errors.NotCapable) {
      const reason = error.message.charAt(0).toLowerCase() +
        error.message.slice(1);
      return new Deno.errors.NotCapable(
        `mmap cannot download its native library from "${plan.url}": ${reason} (--allow-net is needed on the first run only; later runs load the copy cached at "${plan.path}"), or ${offline}`,
        { cause: error },
      );
    }
    return new Error(
      `mmap could not download "${plan.url}": ${
        innermost(error)
      }: if this machine is offline or behind a proxy, ${offline}`,
      { cause: error },
    );
  };
  let response: Response;
  const signal = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
  try {
    response = await fetch(plan.url, { redirect: "follow", signal });
  } catch (error) {
    throw failed(error);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(
      `mmap could not download "${plan.url}": HTTP ${response.status} ${response.statusText}`
        .trimEnd(),
    );
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readAtMost(response, MAX_DOWNLOAD_BYTES);
  } catch (error) {
    throw failed(error);
  }
  if (bytes === undefined) {
    throw new Error(
      `mmap refused the download from "${plan.url}": it is larger than ${MAX_DOWNLOAD_BYTES} bytes, which no release asset is; nothing was cached`,
    );
  }
  const actual = sha256(bytes);
  if (actual !== plan.sha256) {
    throw new Error(
      `mmap refused the download from "${plan.url}": its SHA-256 is ${actual}, but checksums.json expects ${plan.sha256}; nothing was cached`,
    );
  }
  try {
    await Deno.mkdir(directory, { recursive: true });
  } catch (error) {
    throw unwritable(error, directory);
  }
  // A temp file in the same directory, renamed into place only once
  // complete: a reader sees the old file or the new one, never half of one.
  const temp = `${plan.path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeFile(temp, bytes);
    await Deno.rename(temp, plan.path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    if (error instanceof Deno.errors.NotCapable) {
      throw unwritable(error, directory);
    }
    // Windows refuses to replace a library another process has loaded; if
    // that process put a good copy there, use it.
    if (isIntact(plan.path, plan.sha256)) return plan.path;
    throw error;
  }
  await sweepStaleTemps(plan);
  return plan.path;
}

/** A cache directory the flags do not let the loader write, named. */
function unwritable(error: unknown, directory: string): unknown {
  if (!(error instanceof Deno.errors.NotCapable)) return error;
  return new Deno.errors.NotCapable(
    `mmap cannot cache its native library in "${directory}": requires write access, run again with --allow-write=${directory} (a scoped --allow-write must also cover the cache; needed on the first run only), or set ${ENV.libPath} to the library's path`,
    { cause: error },
  );
}

/** Temp files older than this were left by a process that died. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Removes temp files of `plan.asset` left behind by crashed downloads. */
async function sweepStaleTemps(plan: Plan): Promise<void> {
  const directory = dirname(plan.path);
  try {
    for await (const entry of Deno.readDir(directory)) {
      const name = entry.name;
      if (!name.startsWith(`${plan.asset}.`) || !name.endsWith(".tmp")) {
        continue;
      }
      const path = resolve(directory, name);
      const { mtime } = await Deno.stat(path);
      if (mtime !== null && Date.now() - mtime.getTime() > STALE_TEMP_MS) {
        await Deno.remove(path);
      }
    }
  } catch {
    // Best effort: another process may be sweeping too.
  }
}

/** The message of the last error in a `cause` chain (fetch nests them). */
function innermost(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) {
    current = current.cause;
  }
  return current instanceof Error ? current.message : String(current);
}
