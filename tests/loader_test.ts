// The loader, end to end: a real HTTP server on 127.0.0.1, real subprocesses
// that import a copy of the package (its own checksums.json, no dist/ beside
// it), and library variants built once per run in a temp dir.

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FULL_FLAGS, type Output, runDeno, withTempDir } from "./_helpers.ts";
import { platformAsset, PLATFORMS } from "../src/platform.ts";
import { cacheDirectory } from "../src/_cache.ts";
import {
  CHECKSUMS,
  type Checksums,
  downloadUrl,
  type EnvReader,
  expectedSha256,
  releaseBaseUrl,
  sha256,
  VERSION,
} from "../src/_release.ts";

const ROOT = new URL("../", import.meta.url);
const ASSET = platformAsset().asset;
/** Built by `deno task build`, which `deno task test` runs first. */
const LIBRARY = await Deno.readFile(new URL(`dist/${ASSET}`, ROOT));
const HASH = sha256(LIBRARY);
const ENV_FLAG = "--allow-env=MMAP_LIB_PATH,MMAP_CACHE_DIR,MMAP_DOWNLOAD_URL";
const NET_FLAG = "--allow-net=127.0.0.1";

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
function packageCopy(assets: Record<string, string>): Promise<string> {
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
const released = () => packageCopy({ [ASSET]: HASH });

/** A library built with a cargo feature, once per run. */
function variant(feature: string): Promise<string> {
  return once(`variant:${feature}`, async () => {
    const out = join(shared, `${feature}_${ASSET}`);
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
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
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    return out;
  });
}

/** A file server on 127.0.0.1 that counts requests. */
interface Server {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Paths requested, in order. */
  requests: string[];
}

/**
 * Serves `/files/<asset>` (the library), `/redirect/<asset>` (a redirect to
 * it), `/corrupt/<asset>` (the library with one bit flipped); 404 otherwise.
 */
async function withServer(fn: (server: Server) => Promise<void>) {
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
function mapScript(mod: string): string {
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
function syncScript(mod: string): string {
  return `
import { openWriteWithSizeSync } from "${mod}";
using m = openWriteWithSizeSync(Deno.args[0], 4096);
m.writeSync(new Uint8Array([7]), 0);
console.log("mapped");
`;
}

/** Runs `script` in `dir` with a private cache and the given download URL. */
function runIn(
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

function cachedPath(dir: string): string {
  const cache = cacheDirectory((name) =>
    name === "MMAP_CACHE_DIR" ? `${dir}/cache` : undefined
  );
  return join(cache!, ASSET);
}

/** Every file under `dir` (relative paths), or [] if it does not exist. */
function filesUnder(dir: string, prefix = ""): string[] {
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

function assertOk(out: Output): void {
  assert.equal(out.code, 0, `exit ${out.code}\n${out.stderr}`);
  assert.equal(out.stdout.trim(), "mapped");
}

function assertFailed(out: Output, ...fragments: string[]): void {
  assert.notEqual(out.code, 0, out.stdout);
  for (const fragment of fragments) {
    assert.ok(
      out.stderr.includes(fragment),
      `stderr lacks ${JSON.stringify(fragment)}:\n${out.stderr}`,
    );
  }
}

Deno.test("resolveLibrary() downloads through a redirect, verifies, caches and loads", async () => {
  const mod = await released();
  await withTempDir((dir) =>
    withServer(async ({ base, requests }) => {
      const env = { MMAP_DOWNLOAD_URL: `${base}/redirect` };
      const first = await runIn(dir, mapScript(mod), env);
      assertOk(first);
      assert.deepEqual(requests, [`/redirect/${ASSET}`, `/files/${ASSET}`]);
      const lines = first.stderr.trim().split("\n");
      assert.equal(lines.length, 1, first.stderr);
      assert.match(lines[0]!, /^mmap: downloading /);
      assert.ok(lines[0]!.includes(`${base}/redirect/${ASSET}`), lines[0]);
      assert.deepEqual(filesUnder(`${dir}/cache`), [`${VERSION}/${ASSET}`]);
      assert.equal(sha256(await Deno.readFile(cachedPath(dir))), HASH);

      // A second process loads from the cache: no request, no output.
      const second = await runIn(dir, mapScript(mod), env);
      assertOk(second);
      assert.equal(second.stderr, "");
      assert.equal(requests.length, 2);
    })
  );
});

Deno.test("resolveLibrarySync() never downloads, and loads an intact cached copy", async () => {
  const mod = await released();
  await withTempDir((dir) =>
    withServer(async ({ base, requests }) => {
      const env = { MMAP_DOWNLOAD_URL: `${base}/files` };
      const cold = await runIn(dir, syncScript(mod), env);
      assertFailed(
        cold,
        "is not cached",
        "call an async function",
        "MMAP_LIB_PATH",
        cachedPath(dir),
      );
      assert.equal(requests.length, 0);

      // Seeding the cache by hand is enough.
      await Deno.mkdir(`${dir}/cache/${VERSION}`, { recursive: true });
      await Deno.writeFile(cachedPath(dir), LIBRARY);
      assertOk(await runIn(dir, syncScript(mod), env));
      assert.equal(requests.length, 0);
    })
  );
});

Deno.test("resolveLibrary() replaces a corrupted cached copy and sweeps stale temp files", async () => {
  const mod = await released();
  await withTempDir((dir) =>
    withServer(async ({ base, requests }) => {
      await Deno.mkdir(`${dir}/cache/${VERSION}`, { recursive: true });
      const bad = LIBRARY.slice(0, 4096);
      await Deno.writeFile(cachedPath(dir), bad);
      const env = { MMAP_DOWNLOAD_URL: `${base}/files` };
      // A crashed download's temp file, old enough to be swept; a fresh
      // one (another process may be writing it) stays.
      const stale = `${cachedPath(dir)}.0000.tmp`;
      const fresh = `${cachedPath(dir)}.1111.tmp`;
      await Deno.writeFile(stale, bad);
      await Deno.writeFile(fresh, bad);
      const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
      await Deno.utime(stale, twoHoursAgo, twoHoursAgo);

      // The sync path refuses it and names both hashes.
      assertFailed(
        await runIn(dir, syncScript(mod), env),
        sha256(bad),
        HASH,
      );
      const out = await runIn(dir, mapScript(mod), env);
      assertOk(out);
      assert.ok(out.stderr.includes("replacing it"), out.stderr);
      assert.deepEqual(requests, [`/files/${ASSET}`]);
      assert.equal(sha256(await Deno.readFile(cachedPath(dir))), HASH);
      assert.deepEqual(filesUnder(`${dir}/cache`).sort(), [
        `${VERSION}/${ASSET}`,
        `${VERSION}/${ASSET}.1111.tmp`,
      ]);
    })
  );
});

Deno.test("resolveLibrary() rejects a corrupted download with both hashes and caches nothing", async () => {
  const mod = await released();
  await withTempDir((dir) =>
    withServer(async ({ base }) => {
      const out = await runIn(dir, mapScript(mod), {
        MMAP_DOWNLOAD_URL: `${base}/corrupt`,
      });
      const bad = LIBRARY.slice();
      bad[bad.length >> 1]! ^= 1;
      assertFailed(
        out,
        `${base}/corrupt/${ASSET}`,
        `SHA-256 is ${sha256(bad)}`,
        `expects ${HASH}`,
        "nothing was cached",
      );
      assert.deepEqual(filesUnder(`${dir}/cache`), []);
    })
  );
});

Deno.test("resolveLibrary() reports an HTTP error with the URL and status", async () => {
  const mod = await released();
  await withTempDir((dir) =>
    withServer(async ({ base }) => {
      const out = await runIn(dir, mapScript(mod), {
        MMAP_DOWNLOAD_URL: `${base}/missing/`,
      });
      assertFailed(out, `"${base}/missing/${ASSET}"`, "HTTP 404");
      assert.deepEqual(filesUnder(`${dir}/cache`), []);
    })
  );
});

Deno.test("resolveLibrary() offline says how to use MMAP_LIB_PATH or seed the cache", async () => {
  const mod = await released();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  await withTempDir(async (dir) => {
    const out = await runIn(dir, mapScript(mod), {
      MMAP_DOWNLOAD_URL: `http://127.0.0.1:${port}/files`,
    });
    assertFailed(
      out,
      `http://127.0.0.1:${port}/files/${ASSET}`,
      "Connection refused",
      "offline",
      "MMAP_LIB_PATH",
      `put a verified copy at "${cachedPath(dir)}"`,
    );
    assert.deepEqual(filesUnder(`${dir}/cache`), []);
  });
});

Deno.test("resolveLibrary() in two racing processes: both load, one file stays", async () => {
  const mod = await released();
  await withTempDir((dir) =>
    withServer(async ({ base, requests }) => {
      const env = { MMAP_DOWNLOAD_URL: `${base}/files` };
      await Deno.mkdir(`${dir}/a`);
      await Deno.mkdir(`${dir}/b`);
      const run = (sub: string) =>
        runDeno(mapScript(mod), [...FULL_FLAGS, ENV_FLAG, NET_FLAG], {
          args: [`${dir}/${sub}/data.bin`],
          cwd: dir,
          env: { MMAP_LIB_PATH: "", MMAP_CACHE_DIR: `${dir}/cache`, ...env },
        });
      const [a, b] = await Promise.all([run("a"), run("b")]);
      assertOk(a);
      assertOk(b);
      assert.ok(requests.length >= 1 && requests.length <= 2);
      assert.deepEqual(filesUnder(`${dir}/cache`), [`${VERSION}/${ASSET}`]);
      assert.equal(sha256(await Deno.readFile(cachedPath(dir))), HASH);
    })
  );
});

Deno.test("resolveLibrary() shares one download between concurrent calls in a process", async () => {
  const mod = await released();
  const script = `
import { openWriteWithSize } from "${mod}";
const handles = await Promise.all(
  ["a", "b", "c"].map((name) => openWriteWithSize(Deno.args[0] + name, 64)),
);
for (const h of handles) await h.close();
console.log("mapped");
`;
  await withTempDir((dir) =>
    withServer(async ({ base, requests }) => {
      const out = await runIn(dir, script, {
        MMAP_DOWNLOAD_URL: `${base}/files`,
      });
      assertOk(out);
      assert.deepEqual(requests, [`/files/${ASSET}`]);
      assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
    })
  );
});

Deno.test("resolveLibrary() refuses an asset that checksums.json does not list", async () => {
  const mod = await packageCopy({});
  await withTempDir((dir) =>
    withServer(async ({ base, requests }) => {
      await Deno.mkdir(`${dir}/cache/${VERSION}`, { recursive: true });
      await Deno.writeFile(cachedPath(dir), LIBRARY);
      const out = await runIn(dir, mapScript(mod), {
        MMAP_DOWNLOAD_URL: `${base}/files`,
      });
      assertFailed(out, `"${ASSET}" has no SHA-256`, "MMAP_LIB_PATH");
      assert.equal(requests.length, 0);
    })
  );
});

Deno.test("resolveLibrary() without env access never prompts and says which variables it needs", async () => {
  const mod = await released();
  await withTempDir(async (dir) => {
    const out = await runIn(dir, mapScript(mod), {
      MMAP_LIB_PATH: `${dir}/nowhere.so`,
    }, [...FULL_FLAGS, NET_FLAG]);
    // MMAP_LIB_PATH is not readable, so it is not used.
    const variables = ["MMAP_CACHE_DIR", ...cacheVariablesHere()];
    assertFailed(out, "cannot locate its cache", variables.join(","));
  });
});

function cacheVariablesHere(): string[] {
  const seen: string[] = [];
  cacheDirectory((name) => {
    if (name !== "MMAP_CACHE_DIR") seen.push(name);
    return undefined;
  });
  return seen;
}

Deno.test("MMAP_LIB_PATH naming a missing file is an error naming the variable", async () => {
  const mod = await released();
  await withTempDir(async (dir) => {
    const out = await runIn(dir, mapScript(mod), {
      MMAP_LIB_PATH: `${dir}/nowhere.so`,
    });
    assertFailed(out, "MMAP_LIB_PATH", `${dir}/nowhere.so`);
  });
});

Deno.test("MMAP_LIB_PATH to a library of another interface version is refused, naming both versions", async () => {
  const [mod, wrong] = await Promise.all([
    released(),
    variant("abi-mismatch"),
  ]);
  await withTempDir(async (dir) => {
    const out = await runIn(dir, mapScript(mod), { MMAP_LIB_PATH: wrong });
    assertFailed(out, wrong, "interface version 1001", "needs version 1");
    assert.deepEqual(filesUnder(`${dir}/cache`), []);
  });
});

Deno.test("openWriteWithSize() without the native export still creates and grows, never shrinks", async () => {
  const [mod, old] = await Promise.all([
    released(),
    variant("no-open-write-with-size"),
  ]);
  const script = `
import assert from "node:assert/strict";
import { openWriteWithSize } from "${mod}";
// The library really lacks the export.
const lib = Deno.dlopen(Deno.env.get("MMAP_LIB_PATH"), {
  mmap_open_write_with_size: {
    parameters: ["buffer", "u32", "f64", "buffer"],
    result: "i32",
    optional: true,
  },
});
assert.equal(lib.symbols.mmap_open_write_with_size, null);
lib.close();

const dir = Deno.args[0] + "/..";
const sizes = [];
// Creates.
{
  await using m = await openWriteWithSize(dir + "/new.bin", 4096);
  assert.equal(m.len, 4096);
  await m.write(new Uint8Array([9]), 4095);
}
sizes.push(Deno.statSync(dir + "/new.bin").size);
// Grows, keeping the contents.
Deno.writeFileSync(dir + "/small.bin", new Uint8Array(100).fill(5));
{
  await using m = await openWriteWithSize(dir + "/small.bin", 8192);
  assert.equal(m.len, 8192);
  assert.equal(m.view(0, 100).every((b) => b === 5), true);
}
sizes.push(Deno.statSync(dir + "/small.bin").size);
// Never shrinks.
Deno.writeFileSync(dir + "/big.bin", new Uint8Array(10000));
{
  await using m = await openWriteWithSize(dir + "/big.bin", 10);
  assert.equal(m.len, 10000);
}
sizes.push(Deno.statSync(dir + "/big.bin").size);
assert.deepEqual(sizes, [4096, 8192, 10000]);
console.log("mapped");
`;
  await withTempDir(async (dir) => {
    assertOk(await runIn(dir, script, { MMAP_LIB_PATH: old }));
  });
});

Deno.test("platformAsset() on an unsupported platform lists the supported ones", () => {
  assert.throws(
    () => platformAsset("freebsd", "x86_64"),
    (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotSupported);
      assert.ok(error.message.includes("freebsd-x86_64"), error.message);
      for (const p of PLATFORMS) {
        assert.ok(error.message.includes(`${p.os}-${p.arch}`), error.message);
      }
      assert.ok(error.message.includes("MMAP_LIB_PATH"));
      return true;
    },
  );
  assert.deepEqual(
    PLATFORMS.map((p) => p.asset),
    [
      "mmap_ffi-windows-x86_64.dll",
      "mmap_ffi-linux-x86_64.so",
      "mmap_ffi-macos-aarch64.dylib",
      "mmap_ffi-macos-x86_64.dylib",
      "mmap_ffi-linux-aarch64.so",
    ],
  );
});

Deno.test("cacheDirectory() follows each OS's convention and MMAP_CACHE_DIR", () => {
  const env = (vars: Record<string, string>): EnvReader => (name) => vars[name];
  const v = VERSION;
  assert.equal(
    cacheDirectory(env({ XDG_CACHE_HOME: "/x", HOME: "/h" }), "linux"),
    `/x/mmap/${v}`,
  );
  assert.equal(
    cacheDirectory(env({ XDG_CACHE_HOME: "rel", HOME: "/h" }), "linux"),
    `/h/.cache/mmap/${v}`,
  );
  assert.equal(
    cacheDirectory(env({ HOME: "/Users/u" }), "darwin"),
    `/Users/u/Library/Caches/mmap/${v}`,
  );
  assert.equal(
    cacheDirectory(env({ MMAP_CACHE_DIR: "/c", HOME: "/h" }), "linux"),
    `/c/${v}`,
  );
  assert.equal(cacheDirectory(env({}), "linux"), undefined);
  assert.equal(cacheDirectory(env({ HOME: "/h" }), "windows"), undefined);
  // Each OS's rule joins paths its own way, whatever the host is.
  assert.equal(
    cacheDirectory(
      env({ LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }),
      "windows",
    ),
    `C:\\Users\\u\\AppData\\Local\\mmap\\cache\\${v}`,
  );
});

Deno.test("downloadUrl() points at this version's GitHub Release or MMAP_DOWNLOAD_URL", () => {
  assert.equal(
    downloadUrl(ASSET, () => undefined),
    `https://github.com/riaskov/mmap/releases/download/v${VERSION}/${ASSET}`,
  );
  assert.equal(releaseBaseUrl("1.2.3").endsWith("/download/v1.2.3"), true);
  assert.equal(
    downloadUrl(ASSET, () => "http://mirror.example/m/"),
    `http://mirror.example/m/${ASSET}`,
  );
});

Deno.test("expectedSha256() only trusts well-formed hashes of this version", () => {
  const hash = "ab".repeat(32);
  const table = { version: VERSION, assets: { [ASSET]: hash } };
  assert.equal(expectedSha256(ASSET, table), hash);
  assert.equal(expectedSha256("other.so", table), undefined);
  assert.equal(expectedSha256("toString", table), undefined);
  assert.equal(
    expectedSha256(ASSET, { ...table, version: "0.0.0-other" }),
    undefined,
  );
  assert.equal(
    expectedSha256(ASSET, { version: VERSION, assets: { [ASSET]: "AB" } }),
    undefined,
  );
  // The committed checksums.json belongs to this version.
  assert.equal(CHECKSUMS.version, VERSION);
});

Deno.test("gen_checksums_json.ts writes the checksums.json the loader reads", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/${ASSET}`, LIBRARY);
    await Deno.writeTextFile(`${dir}/unrelated.txt`, "not an asset");
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        fileURLToPath(new URL("scripts/gen_checksums_json.ts", ROOT)),
        dir,
        `${dir}/checksums.json`,
        "--txt",
        `${dir}/checksums.txt`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const written: Checksums = JSON.parse(
      await Deno.readTextFile(`${dir}/checksums.json`),
    );
    assert.deepEqual(written, { version: VERSION, assets: { [ASSET]: HASH } });
    assert.equal(expectedSha256(ASSET, written), HASH);
    assert.equal(
      await Deno.readTextFile(`${dir}/checksums.txt`),
      `${HASH}  ${ASSET}\n`,
    );
  });
});

Deno.test("release tooling names the same targets and assets as src/platform.ts", async () => {
  const table = PLATFORMS.map((p) => `${p.target} ${p.asset}`).sort();
  const ps1 = await Deno.readTextFile(
    new URL("scripts/build-release.ps1", ROOT),
  );
  const fromPs1 = [...ps1.matchAll(/^\s*"([\w-]+)"\s*=\s*"([\w.-]+)"$/gm)]
    .map(([, target, asset]) => `${target} ${asset}`).sort();
  assert.deepEqual(fromPs1, table);
  const yml = await Deno.readTextFile(
    new URL(".github/workflows/release.yml", ROOT),
  );
  const fromYml = [
    ...yml.matchAll(/^\s+target: ([\w-]+)\n\s+asset: ([\w.-]+)$/gm),
  ].map(([, target, asset]) => `${target} ${asset}`).sort();
  assert.deepEqual(fromYml, table);
});
