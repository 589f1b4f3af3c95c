// The published package: every file the README links to is in deno.json's
// publish.include (so it resolves on the JSR page), and exists.
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

Deno.test("every relative link in the README is a published file", () => {
  const readme = Deno.readTextFileSync(new URL("README.md", ROOT));
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const include: string[] = config.publish.include;
  const links = [...readme.matchAll(/\]\(([^)#\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((link) => !/^[a-z]+:/.test(link))
    .map((link) => link.replace(/^\.\//, ""));
  assert.ok(links.length >= 2, links.join());
  for (const link of links) {
    const published = include.some((entry) =>
      entry === link || (entry.endsWith("/") && link.startsWith(entry))
    );
    assert.ok(published, `README links to ${link}, which is not published`);
    assert.ok(Deno.statSync(new URL(link, ROOT)).isFile, link);
  }
  // Named in the text, too.
  assert.ok(include.includes("bench/RESULTS.md"));
});
