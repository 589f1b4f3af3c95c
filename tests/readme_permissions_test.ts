// The README's permission lines, pasted as they are: a first run that
// downloads the library (from a local server on 127.0.0.1 standing in for
// GitHub Releases), later runs from the cache it filled, the scoped example,
// and scoped grants that hide the library, which must name the missing
// permission and the exact flag. Runs a published copy of the package (its
// own checksums.json, nothing in dist/), with the release URL pointed at the
// local server.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { withTempDir } from "./_helpers.ts";
import { type Output, runDenoArgs } from "./_subprocess.ts";
import { ASSET, HASH, LIBRARY, ROOT } from "./_package.ts";
import { VERSION } from "../src/_release.ts";

const README = Deno.readTextFileSync(new URL("README.md", ROOT));

/** The flags of the README's Linux lines: `[first run, later runs]`. */
function readmeLines(): [string[], string[]] {
  const block = README.match(/Linux:\n\n```sh\n([\s\S]*?)```/)?.[1];
  assert.ok(block, "README has a Linux block of permission lines");
  const lines = block.trim().split("\n").map((line) => {
    const words = line.replace(/#.*$/, "").trim().split(/\s+/);
    assert.deepEqual(words.slice(0, 2), ["deno", "run"], line);
    assert.equal(words.at(-1), "main.ts", line);
    return words.slice(2, -1);
  });
  assert.equal(lines.length, 2, block);
  assert.match(block, /# first run/);
  assert.match(block, /# later runs/);
  return [lines[0]!, lines[1]!];
}

/** The README's scoped example, `$HOME` as the shell would expand it. */
function scopedExample(home: string): string[] {
  const line = README.match(
    /`(--allow-read=\.\/data,\$HOME\S*) (--allow-write=\S*)`/,
  );
  assert.ok(line, "README has the scoped example");
  return [line[1]!, line[2]!].map((flag) => flag.replaceAll("$HOME", home));
}

const PROGRAM = (mod: string) => `
import { openSync, openWriteWithSize } from ${JSON.stringify(mod)};
{
  await using m = await openWriteWithSize("./data/out.bin", 4096);
  await m.write(new Uint8Array([1, 2, 3]), 100);
}
using r = openSync("./data/out.bin");
if (r.view(100, 3).join() !== "1,2,3") throw new Error("bad contents");
console.log("mapped");
`;

/**
 * A project dir: `main.ts`, `data/`, a `home/` for `$HOME`, and a published
 * copy of the package whose release URL is `base` (the local server).
 */
async function project(dir: string, base: string): Promise<void> {
  const pkg = join(dir, "pkg");
  const copy = async (from: URL, to: string): Promise<void> => {
    if ((await Deno.stat(from)).isFile) return await Deno.copyFile(from, to);
    await Deno.mkdir(to);
    for await (const { name } of Deno.readDir(from)) {
      await copy(new URL(`${from.href}/${name}`), join(to, name));
    }
  };
  await Deno.mkdir(pkg);
  for (const name of ["mod.ts", "deno.json", "src"]) {
    await copy(new URL(name, ROOT), join(pkg, name));
  }
  await Deno.writeTextFile(
    join(pkg, "checksums.json"),
    JSON.stringify({ version: VERSION, assets: { [ASSET]: HASH } }),
  );
  const release = join(pkg, "src", "_release.ts");
  const source = await Deno.readTextFile(release);
  const github = `"https://github.com/riaskov/mmap"`;
  assert.ok(source.includes(github));
  await Deno.writeTextFile(
    release,
    source.replace(github, JSON.stringify(base)),
  );
  await Deno.mkdir(join(dir, "data"));
  await Deno.mkdir(join(dir, "home"));
  await Deno.writeTextFile(
    join(dir, "main.ts"),
    PROGRAM(pathToFileURL(join(pkg, "mod.ts")).href),
  );
}

/** `deno run <flags> main.ts` in `dir`, with `$HOME` at `dir/home`. */
function run(dir: string, flags: string[]): Promise<Output> {
  return runDenoArgs(["run", "--quiet", ...flags, "main.ts"], {
    cwd: dir,
    env: { HOME: join(dir, "home"), XDG_CACHE_HOME: "" },
  });
}

/** GitHub's shape: the release URL redirects to an asset URL. */
async function withReleases(
  fn: (base: string, requests: string[]) => Promise<void>,
): Promise<void> {
  const requests: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      const { pathname } = new URL(request.url);
      requests.push(pathname);
      if (pathname === `/gh/releases/download/v${VERSION}/${ASSET}`) {
        return Response.redirect(new URL(`/assets/${ASSET}`, request.url), 302);
      }
      if (pathname === `/assets/${ASSET}`) return new Response(LIBRARY);
      return new Response("not found", { status: 404 });
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/gh`, requests);
  } finally {
    await server.shutdown();
  }
}

const LINUX = Deno.build.os === "linux";
const cacheDir = (dir: string) => join(dir, "home", ".cache", "mmap", VERSION);

Deno.test({
  name:
    "the README's pasted lines work: first run downloads, later runs load from the cache",
  ignore: !LINUX,
  fn: async () => {
    const [first, later] = readmeLines();
    assert.ok(first.includes("--allow-net") && !later.includes("--allow-net"));
    await withTempDir((dir) =>
      withReleases(async (base, requests) => {
        await project(dir, base);
        const one = await run(dir, first);
        assert.equal(one.code, 0, one.stderr);
        assert.equal(one.stdout.trim(), "mapped");
        assert.match(one.stderr, /^mmap: downloading /);
        assert.equal(requests.length, 2, requests.join());
        assert.ok(Deno.statSync(join(cacheDir(dir), ASSET)).isFile);

        const two = await run(dir, later);
        assert.equal(two.code, 0, two.stderr);
        assert.equal(two.stdout.trim(), "mapped");
        assert.equal(two.stderr, "");
        assert.equal(requests.length, 2, "no request from the cache");

        const scoped = await run(dir, [
          "--allow-ffi",
          ...scopedExample(join(dir, "home")),
          "--allow-env=HOME,XDG_CACHE_HOME",
        ]);
        assert.equal(scoped.code, 0, scoped.stderr);
        assert.equal(scoped.stdout.trim(), "mapped");
      })
    );
  },
});

Deno.test({
  name:
    "a scoped --allow-read that excludes the cached library gets an error naming the permission and the flag",
  ignore: !LINUX,
  fn: async () => {
    const [first] = readmeLines();
    await withTempDir((dir) =>
      withReleases(async (base) => {
        await project(dir, base);
        assert.equal((await run(dir, first)).code, 0);
        const out = await run(dir, [
          "--allow-ffi",
          "--allow-read=./data",
          "--allow-write=./data",
          "--allow-env=HOME,XDG_CACHE_HOME",
        ]);
        assert.notEqual(out.code, 0);
        assert.match(out.stderr, /NotCapable/);
        assert.ok(
          out.stderr.includes(`--allow-read=${cacheDir(dir)}`),
          out.stderr,
        );
        assert.match(out.stderr, /cover the native library's location/);
        assert.doesNotMatch(out.stderr, /SHA-256|checksums\.json/);
      })
    );
  },
});

Deno.test({
  name:
    "a first run whose --allow-write excludes the cache, or without --allow-net, names the flag",
  ignore: !LINUX,
  fn: async () => {
    await withTempDir((dir) =>
      withReleases(async (base) => {
        await project(dir, base);
        const noWrite = await run(dir, [
          "--allow-ffi",
          "--allow-read",
          "--allow-write=./data",
          "--allow-env=HOME,XDG_CACHE_HOME",
          "--allow-net",
        ]);
        assert.notEqual(noWrite.code, 0);
        assert.ok(
          noWrite.stderr.includes(`--allow-write=${cacheDir(dir)}`),
          noWrite.stderr,
        );
        const noNet = await run(dir, [
          "--allow-ffi",
          "--allow-read",
          "--allow-write",
          "--allow-env=HOME,XDG_CACHE_HOME",
        ]);
        assert.notEqual(noNet.code, 0);
        assert.match(
          noNet.stderr,
          /NotCapable: mmap cannot download its native library/,
        );
        assert.match(noNet.stderr, /--allow-net/);
        const noEnv = await run(dir, [
          "--allow-ffi",
          "--allow-read",
          "--allow-write",
          "--allow-net",
        ]);
        assert.notEqual(noEnv.code, 0);
        assert.match(
          noEnv.stderr,
          /--allow-env=MMAP_CACHE_DIR,XDG_CACHE_HOME,HOME/,
        );
      })
    );
  },
});
