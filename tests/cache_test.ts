// Where the verified copy of the native library is cached, per OS.

import assert from "node:assert/strict";
import { cacheDirectory } from "../src/_cache.ts";
import { type EnvReader, VERSION } from "../src/_release.ts";

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
