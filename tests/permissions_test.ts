// Deno's permissions: `--allow-ffi` lets native code open any file, so the
// package asks for read (and, to write, write) permission for the exact path
// before anything native opens it. Each case runs a subprocess with
// restricted flags and reports what every call did.

import assert from "node:assert/strict";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { pattern, withTempDir } from "./_helpers.ts";
import { lastJson, MOD_URL, runDeno } from "./_subprocess.ts";
import { platformAsset } from "../src/platform.ts";

/** Where the dev build of the native library is; the loader must read it. */
const DIST = dirname(
  fileURLToPath(new URL(`../dist/${platformAsset().asset}`, import.meta.url)),
);

/**
 * Runs every call named in `calls` (source of an expression each, with
 * `base`, `mmap` and `probe` in scope) in a subprocess with `flags`, and
 * returns "ok" or the error's class name per call.
 */
async function tryAll(
  base: string,
  flags: string[],
  calls: Record<string, string>,
  cwd?: string,
): Promise<Record<string, string>> {
  const entries = Object.entries(calls).map(([name, source]) =>
    `[${JSON.stringify(name)}, async () => { ${source}; }]`
  );
  const out = await runDeno(
    `
import * as mmap from ${JSON.stringify(MOD_URL)};
const base = Deno.args[0];
/** Maps, checks the first byte, closes. */
async function probe(h: mmap.Mmap, first: number) {
  const b = new Uint8Array(1);
  h.readSync(b, 0);
  h.close();
  if (b[0] !== first) throw new Error("wrong byte " + b[0]);
}
const result: Record<string, string> = {};
for (const [name, call] of [${entries.join(",\n")}] as const) {
  try {
    await call();
    result[name] = "ok";
  } catch (e) {
    result[name] = (e as Error).name;
  }
}
console.log(JSON.stringify(result));
`,
    ["--unstable-ffi", "--no-prompt", ...flags],
    { args: [base], cwd },
  );
  return lastJson(out);
}

/** in/a.bin ("A…"), out/b.bin ("B…") and a link in/link → out/b.bin. */
async function layout(base: string): Promise<void> {
  await Deno.mkdir(`${base}/in`);
  await Deno.mkdir(`${base}/out`);
  await Deno.writeFile(`${base}/in/a.bin`, new Uint8Array(100).fill(65));
  await Deno.writeFile(`${base}/out/b.bin`, new Uint8Array(100).fill(66));
  await Deno.writeFile(`${base}/in/secret.bin`, new Uint8Array(10).fill(83));
  if (Deno.build.os !== "windows") {
    await Deno.symlink(`${base}/out/b.bin`, `${base}/in/link`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("--allow-ffi without --allow-read: every open throws NotCapable and creates nothing", async () => {
  await withTempDir(async (base) => {
    await layout(base);
    const r = await tryAll(base, ["--allow-ffi"], {
      open: `await mmap.open(base + "/in/a.bin")`,
      openSync: `mmap.openSync(base + "/in/a.bin")`,
      private: `mmap.openSync(base + "/in/a.bin", { private: true })`,
      openWrite: `await mmap.openWrite(base + "/in/a.bin")`,
      openWriteSync: `mmap.openWriteSync(base + "/in/a.bin")`,
      withSize: `await mmap.openWriteWithSize(base + "/in/new.bin", 10)`,
      withSizeSync: `mmap.openWriteWithSizeSync(base + "/in/new.bin", 10)`,
      create:
        `mmap.openSync(base + "/in/new.bin", { write: true, create: true })`,
      openShared:
        `mmap.openSharedSync("mmap_perm_none", { create: true, size: 8 })`,
      openSharedAsync: `await mmap.openShared("mmap_perm_none")`,
      unlinkShared: `mmap.unlinkSharedSync("mmap_perm_none")`,
    });
    for (const [call, outcome] of Object.entries(r)) {
      assert.equal(outcome, "NotCapable", call);
    }
    assert.equal(await exists(`${base}/in/new.bin`), false);
  });
});

Deno.test("--allow-read=<dir> is honoured for the exact path, however it is spelled", async () => {
  await withTempDir(async (base) => {
    await layout(base);
    const r = await tryAll(
      base,
      ["--allow-ffi", `--allow-read=${base}/in,${DIST}`],
      {
        inside: `await probe(mmap.openSync(base + "/in/a.bin"), 65)`,
        insideUrl:
          `await probe(mmap.openSync(new URL("file://" + base + "/in/a.bin")), 65)`,
        relative: `await probe(mmap.openSync("a.bin"), 65)`,
        private: `await probe(mmap.openSync("a.bin", { private: true }), 65)`,
        window:
          `await probe(mmap.openSync("a.bin", { offset: 5, length: 5 }), 65)`,
        outside: `mmap.openSync(base + "/out/b.bin")`,
        outsideUrl: `mmap.openSync(new URL("file://" + base + "/out/b.bin"))`,
        dotDot: `mmap.openSync(base + "/in/../out/b.bin")`,
        relativeDotDot: `mmap.openSync("../out/b.bin")`,
        missingOutside: `mmap.openSync(base + "/out/none.bin")`,
        missingInside: `mmap.openSync(base + "/in/none.bin")`,
        // Write needs write permission, even inside the readable directory.
        write: `mmap.openSync("a.bin", { write: true })`,
        openWrite: `mmap.openWriteSync("a.bin")`,
        withSize: `mmap.openWriteWithSizeSync("new.bin", 10)`,
      },
      `${base}/in`,
    );
    assert.deepEqual(r, {
      inside: "ok",
      insideUrl: "ok",
      relative: "ok",
      private: "ok",
      window: "ok",
      outside: "NotCapable",
      outsideUrl: "NotCapable",
      dotDot: "NotCapable",
      relativeDotDot: "NotCapable",
      missingOutside: "NotCapable",
      missingInside: "NotFound",
      write: "NotCapable",
      openWrite: "NotCapable",
      withSize: "NotCapable",
    });
    assert.equal(await exists(`${base}/in/new.bin`), false);
    // The file was not changed by the refused write.
    assert.equal((await Deno.readFile(`${base}/in/a.bin`))[0], 65);
  });
});

Deno.test({
  name: "a symlink is judged like Deno.open judges it",
  ignore: Deno.build.os === "windows",
  async fn() {
    await withTempDir(async (base) => {
      await layout(base);
      const r = await tryAll(
        base,
        ["--allow-ffi", `--allow-read=${base}/in,${DIST}`],
        {
          deno: `Deno.openSync(base + "/in/link").close()`,
          mmap: `await probe(mmap.openSync(base + "/in/link"), 66)`,
        },
      );
      assert.equal(r.mmap, r.deno, JSON.stringify(r));
      console.log(r);
    });
  },
});

Deno.test("write-mapping with read-only permission throws NotCapable; --allow-write=<dir> is scoped", async () => {
  await withTempDir(async (base) => {
    await layout(base);
    const r = await tryAll(
      base,
      ["--allow-ffi", "--allow-read", `--allow-write=${base}/out`],
      {
        readIn: `await probe(mmap.openSync(base + "/in/a.bin"), 65)`,
        writeIn: `mmap.openSync(base + "/in/a.bin", { write: true })`,
        openWriteIn: `await mmap.openWrite(base + "/in/a.bin")`,
        createIn: `mmap.openWriteWithSizeSync(base + "/in/new.bin", 10)`,
        writeOut: `
          const h = mmap.openWriteSync(base + "/out/b.bin");
          h.writeSync(new Uint8Array([67]), 0);
          h.flushSync();
          h.close()`,
        createOut:
          `mmap.openWriteWithSizeSync(base + "/out/new.bin", 10).close()`,
      },
    );
    assert.deepEqual(r, {
      readIn: "ok",
      writeIn: "NotCapable",
      openWriteIn: "NotCapable",
      createIn: "NotCapable",
      writeOut: "ok",
      createOut: "ok",
    });
    assert.equal(await exists(`${base}/in/new.bin`), false);
    assert.equal((await Deno.readFile(`${base}/out/b.bin`))[0], 67);
    assert.equal((await Deno.stat(`${base}/out/new.bin`)).size, 10);
  });
});

Deno.test("--deny-read for one file wins over a broad --allow-read", async () => {
  await withTempDir(async (base) => {
    await layout(base);
    const r = await tryAll(
      base,
      ["--allow-ffi", "--allow-read", `--deny-read=${base}/in/secret.bin`],
      {
        secret: `mmap.openSync(base + "/in/secret.bin")`,
        other: `await probe(mmap.openSync(base + "/in/a.bin"), 65)`,
      },
    );
    assert.deepEqual(r, { secret: "NotCapable", other: "ok" });
  });
});

Deno.test("without --allow-ffi the library is not loaded: NotCapable", async () => {
  await withTempDir(async (base) => {
    await layout(base);
    const r = await tryAll(base, ["--allow-read", "--allow-write"], {
      open: `await mmap.open(base + "/in/a.bin")`,
      openSync: `mmap.openSync(base + "/in/a.bin")`,
    });
    assert.deepEqual(r, { open: "NotCapable", openSync: "NotCapable" });
  });
});

Deno.test({
  name:
    "named shared memory needs unrestricted read and write; a /dev/shm grant is not enough, a /dev/shm deny refuses",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await withTempDir(async (base) => {
      const name = `mmap_perm_${crypto.randomUUID()}`;
      const calls = {
        create: `mmap.openSharedSync(${
          JSON.stringify(name)
        }, { create: true, size: 8 }).close()`,
        unlink: `mmap.unlinkSharedSync(${JSON.stringify(name)})`,
        // open() of the same region by its path is judged as Deno.open
        // judges it: /dev needs --allow-all.
        byPath: `mmap.openSync("/dev/shm/" + ${JSON.stringify(name)})`,
      };
      const shm = `/dev/shm/${name}`;
      const cases: [string[], Record<string, string>][] = [
        [["--allow-read"], {
          create: "NotCapable",
          unlink: "NotCapable",
          byPath: "NotCapable",
        }],
        [["--allow-read", `--allow-write=${base}`], {
          create: "NotCapable",
          unlink: "NotCapable",
          byPath: "NotCapable",
        }],
        [[`--allow-read=${shm},${DIST}`, `--allow-write=${shm}`], {
          create: "NotCapable",
          unlink: "NotCapable",
          byPath: "NotCapable",
        }],
        [["--allow-read", "--allow-write", `--deny-write=${shm}`], {
          create: "NotCapable",
          unlink: "NotCapable",
          byPath: "NotCapable",
        }],
        [["--allow-read", "--allow-write"], {
          create: "ok",
          unlink: "ok",
          byPath: "NotCapable",
        }],
        [["--allow-all"], { create: "ok", unlink: "ok", byPath: "NotFound" }],
      ];
      try {
        for (const [flags, expected] of cases) {
          const all = flags[0] === "--allow-all";
          const r = await tryAll(
            base,
            all ? flags : ["--allow-ffi", ...flags],
            calls,
          );
          assert.deepEqual(r, expected, flags.join(" "));
        }
      } finally {
        await Deno.remove(shm).catch(() => {});
      }
    });
  },
});

Deno.test("without --allow-read, open() throws NotCapable before opening", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/secret.bin`;
    await Deno.writeFile(path, pattern(10));
    const lib = `${Deno.cwd()}/dist`;
    const out = await runDeno(
      `import { open, openSync } from ${JSON.stringify(MOD_URL)};
       for (const f of [() => open(Deno.args[0]), async () => openSync(Deno.args[0])]) {
         try { await f(); console.log("opened"); }
         catch (e) { console.log(e.constructor.name + ": " + e.message); }
       }`,
      ["--allow-ffi", "--unstable-ffi", `--allow-read=${lib}`],
      { args: [path] },
    );
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trim().split("\n");
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.match(
        line,
        /^NotCapable: .*requires read access to ".*secret\.bin"/,
      );
    }
  });
});
