// Where the native library comes from, in order: MMAP_LIB_PATH, a local
// build, the verified cache (the sync API never downloads), and what each
// failure says. Real subprocesses import a published copy of the package and
// library variants built once per run (see _package.ts).

import assert from "node:assert/strict";
import { withTempDir } from "./_helpers.ts";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FULL_FLAGS, lastJson, MOD_URL, runDeno } from "./_subprocess.ts";
import {
  assertFailed,
  assertOk,
  ASSET,
  cachedPath,
  ENV_FLAG,
  filesUnder,
  LIBRARY,
  mapScript,
  NET_FLAG,
  packageCopy,
  released,
  runIn,
  syncScript,
  variant,
  withServer,
} from "./_package.ts";
import { cacheDirectory } from "../src/_cache.ts";
import { libraryProblem } from "../src/_library_check.ts";
import { VERSION } from "../src/_release.ts";

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

/** Copies of the built library cut at a few points, in `dir`. */
function truncatedCopies(dir: string): string[] {
  const points = [
    0,
    3,
    40,
    100,
    4096,
    LIBRARY.length >> 2,
    LIBRARY.length >> 1,
    LIBRARY.length - 4097,
    LIBRARY.length - 1,
  ];
  return points.map((size) => {
    const path = `${dir}/cut_${size}_${ASSET}`;
    Deno.writeFileSync(path, LIBRARY.subarray(0, size));
    return path;
  });
}

Deno.test("a truncated library is an error naming the file, never a signal", async () => {
  const mod = await released();
  await withTempDir(async (dir) => {
    const copies = truncatedCopies(dir);
    // One child tries them all: a failed load leaves nothing loaded, so the
    // next call looks for the library again.
    const script = `
import { openSync } from "${mod}";
const results = [];
for (const path of JSON.parse(Deno.args[1])) {
  Deno.env.set("MMAP_LIB_PATH", path);
  try {
    openSync(Deno.args[0], { write: true, create: true, size: 10 }).close();
    results.push("loaded " + path);
  } catch (e) {
    results.push(e.message);
  }
}
console.log(JSON.stringify(results));
`;
    const out = await runDeno(script, [...FULL_FLAGS, "--allow-env"], {
      args: [`${dir}/data.bin`, JSON.stringify(copies)],
      cwd: dir,
      env: { MMAP_CACHE_DIR: `${dir}/cache` },
    });
    assert.equal(out.signal, null, `killed by ${out.signal}: ${out.stderr}`);
    const results = lastJson<string[]>(out);
    copies.forEach((path, i) => {
      assert.match(results[i]!, /cannot be loaded: it (is|has)/, path);
      assert.ok(
        results[i]!.includes(`"${resolve(path)}" (set by MMAP_LIB_PATH)`),
        results[i],
      );
    });
    assert.match(
      results.at(-1)!,
      /is truncated to \d+ bytes: .* needs bytes up to \d+/,
    );
  });
});

Deno.test("a half-written build in dist/ is an error naming the file, never a signal", async () => {
  const mod = await released();
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/dist`);
    const path = `${dir}/dist/${ASSET}`;
    await Deno.writeFile(path, LIBRARY.subarray(0, LIBRARY.length >> 1));
    const out = await runIn(dir, mapScript(mod), {});
    assert.equal(out.signal, null, `killed by ${out.signal}: ${out.stderr}`);
    assertFailed(out, resolve(path), "a local build", "is truncated");
  });
});

Deno.test("a scoped --allow-read that hides dist/ names the flag instead of the missing checksum", async () => {
  await withTempDir(async (dir) => {
    // The repository itself: a clone, whose checksums.json lists nothing.
    const hidden = fileURLToPath(new URL(`../dist/${ASSET}`, import.meta.url));
    const out = await runIn(dir, mapScript(MOD_URL), {}, [
      "--allow-ffi",
      "--unstable-ffi",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      ENV_FLAG,
    ]);
    assertFailed(out, "NotCapable", `--allow-read=${hidden}`);
    assert.doesNotMatch(out.stderr, /SHA-256/);
  });
});

/** A minimal 64-bit Mach-O: one LC_SEGMENT_64 covering its 200 bytes. */
function machO(): Uint8Array {
  const bytes = new Uint8Array(200);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, 0xfeedfacf, true);
  v.setUint32(16, 1, true); // ncmds
  v.setUint32(20, 72, true); // sizeofcmds
  v.setUint32(32, 0x19, true); // LC_SEGMENT_64
  v.setUint32(36, 72, true);
  v.setBigUint64(32 + 40, 0n, true); // fileoff
  v.setBigUint64(32 + 48, 200n, true); // filesize
  return bytes;
}

/** `inner` in a universal (fat) file as its one architecture, at byte 28. */
function universal(inner: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(28 + inner.length);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, 0xcafebabe);
  v.setUint32(4, 1);
  v.setUint32(8 + 8, 28);
  v.setUint32(8 + 12, inner.length);
  bytes.set(inner, 28);
  return bytes;
}

Deno.test("libraryProblem() accepts complete files (the built library, Mach-O, universal) and names what a cut one lacks", () => {
  const built = { windows: "PE", darwin: "Mach-O" }[Deno.build.os as string];
  const cases: [string, Uint8Array][] = [
    [built ?? "ELF", LIBRARY],
    ["Mach-O", machO()],
    ["universal Mach-O", universal(machO())],
  ];
  for (const [name, bytes] of cases) {
    assert.equal(libraryProblem(bytes), undefined, name);
    for (const size of [1, 10, bytes.length >> 1, bytes.length - 1]) {
      const problem = libraryProblem(bytes.subarray(0, size));
      assert.ok(problem !== undefined, `${name} cut to ${size}`);
      if (size >= 10) assert.match(problem, new RegExp(`\\(${name}\\)`));
    }
  }
  assert.equal(libraryProblem(new Uint8Array()), "it is empty");
  assert.match(
    libraryProblem(new TextEncoder().encode("#!/bin/sh\n"))!,
    /not a shared library .* starts with 23 21 2f 62/,
  );
});
