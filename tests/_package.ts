// Fixtures of the loader and download tests: a copy of the package as it is
// published (its own checksums.json, nothing in dist/), library variants
// built once per test file, a file server on 127.0.0.1 that counts requests,
// and scripts that map a file through such a copy in a subprocess.

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  FULL_FLAGS,
  type Output,
  runDeno,
  runDenoArgs,
} from "./_subprocess.ts";
import { platformAsset } from "../src/platform.ts";
import { cacheDirectory } from "../src/_cache.ts";
import { type Checksums, sha256, VERSION } from "../src/_release.ts";

export const ROOT = new URL("../", import.meta.url);
export const ASSET = platformAsset().asset;
/** Built by `deno task build`, which `deno task test` runs first. */
export const LIBRARY = await Deno.readFile(new URL(`dist/${ASSET}`, ROOT));
export const HASH = sha256(LIBRARY);
export const ENV_FLAG =
  "--allow-env=MMAP_LIB_PATH,MMAP_CACHE_DIR,MMAP_DOWNLOAD_URL";
export const NET_FLAG = "--allow-net=127.0.0.1";

/** Fixtures shared by the whole file, removed when it ends. */
const shared = Deno.makeTempDirSync({ prefix: "mmap_loader_" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(shared, { recursive: true });
});

const memo = new Map<string, Promise<string>>();
function once(key: string, make: () => Promise<string>): Promise<string> {
  let value = memo.get(key);
  if (value === undefined) memo.set(key, value = make());
  return value;
}

/**
 * A copy of the package (mod.ts, src/, deno.json) with the given
 * checksums.json, as a published package would be: nothing in dist/.
 * Returns the URL of its mod.ts.
 */
export function packageCopy(assets: Record<string, string>): Promise<string> {
  const checksums: Checksums = { version: VERSION, assets };
  const key = JSON.stringify(checksums);
  return once(key, async () => {
    const dir = join(shared, `package_${memo.size}`);
    const copy = async (from: URL, to: string): Promise<void> => {
      if ((await Deno.stat(from)).isFile) return await Deno.copyFile(from, to);
      await Deno.mkdir(to);
      for await (const { name } of Deno.readDir(from)) {
        await copy(new URL(`${from.href}/${name}`), join(to, name));
      }
    };
    await Deno.mkdir(dir);
    for (const name of ["mod.ts", "deno.json", "src"]) {
      await copy(new URL(name, ROOT), join(dir, name));
    }
    await Deno.writeTextFile(join(dir, "checksums.json"), key);
    return pathToFileURL(join(dir, "mod.ts")).href;
  });
}

/** The package as released for this platform: its asset's hash pinned. */
export const released = (): Promise<string> => packageCopy({ [ASSET]: HASH });

/** A library built with a cargo feature, once per run. */
export function variant(feature: string): Promise<string> {
  return once(`variant:${feature}`, async () => {
    const out = join(shared, `${feature}_${ASSET}`);
    const { code, stderr } = await runDenoArgs([
      "run",
      "--quiet",
      "--allow-run=cargo",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      fileURLToPath(new URL("scripts/build.ts", ROOT)),
      "--features",
      feature,
      "--out",
      out,
      "--target-dir",
      `${shared}/target_${feature}`,
    ]);
    assert.equal(code, 0, stderr);
    return out;
  });
}

/** A file server on 127.0.0.1 that counts requests. */
export interface Server {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Paths requested, in order. */
  requests: string[];
}

/**
 * Serves `/files/<asset>` (the library), `/redirect/<asset>` (a redirect to
 * it), `/corrupt/<asset>` (the library with one bit flipped); 404 otherwise.
 */
export async function withServer(
  fn: (server: Server) => Promise<void>,
): Promise<void> {
  const requests: string[] = [];
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      const { pathname } = new URL(request.url);
      requests.push(pathname);
      if (pathname === `/redirect/${ASSET}`) {
        return Response.redirect(new URL(`/files/${ASSET}`, request.url), 302);
      }
      if (pathname === `/files/${ASSET}`) return new Response(LIBRARY);
      if (pathname === `/corrupt/${ASSET}`) {
        const bad = LIBRARY.slice();
        bad[bad.length >> 1]! ^= 1;
        return new Response(bad);
      }
      return new Response("no such asset", { status: 404 });
    },
  );
  try {
    await fn({ base: `http://127.0.0.1:${http.addr.port}`, requests });
  } finally {
    await http.shutdown();
  }
}

/** Maps a file through the async API (which may download), prints "mapped". */
export function mapScript(mod: string): string {
  return `
import { openSync, openWriteWithSize } from "${mod}";
const path = Deno.args[0];
{
  await using m = await openWriteWithSize(path, 4096);
  await m.write(new Uint8Array([1, 2, 3]), 100);
}
using r = openSync(path);
if (r.view(100, 3).join() !== "1,2,3") throw new Error("bad contents");
console.log("mapped");
`;
}

/** The same through the sync API only (which never downloads). */
export function syncScript(mod: string): string {
  return `
import { openWriteWithSizeSync } from "${mod}";
using m = openWriteWithSizeSync(Deno.args[0], 4096);
m.writeSync(new Uint8Array([7]), 0);
console.log("mapped");
`;
}

/** Runs `script` in `dir` with a private cache and the given download URL. */
export function runIn(
  dir: string,
  script: string,
  env: Record<string, string>,
  flags: string[] = [...FULL_FLAGS, ENV_FLAG, NET_FLAG],
): Promise<Output> {
  return runDeno(script, flags, {
    args: [`${dir}/data.bin`],
    cwd: dir,
    env: {
      MMAP_LIB_PATH: "",
      MMAP_CACHE_DIR: `${dir}/cache`,
      MMAP_DOWNLOAD_URL: "",
      ...env,
    },
  });
}

export function cachedPath(dir: string): string {
  const cache = cacheDirectory((name) =>
    name === "MMAP_CACHE_DIR" ? `${dir}/cache` : undefined
  );
  return join(cache!, ASSET);
}

/** Every file under `dir` (relative paths), or [] if it does not exist. */
export function filesUnder(dir: string, prefix = ""): string[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return entries.flatMap((e) =>
    e.isDirectory
      ? filesUnder(`${dir}/${e.name}`, `${prefix}${e.name}/`)
      : [`${prefix}${e.name}`]
  );
}

export function assertOk(out: Output): void {
  assert.equal(out.code, 0, `exit ${out.code}\n${out.stderr}`);
  assert.equal(out.stdout.trim(), "mapped");
}

export function assertFailed(out: Output, ...fragments: string[]): void {
  assert.notEqual(out.code, 0, out.stdout);
  for (const fragment of fragments) {
    assert.ok(
      out.stderr.includes(fragment),
      `stderr lacks ${JSON.stringify(fragment)}:\n${out.stderr}`,
    );
  }
}
