// Reads a `deno test --junit-path` report and a known-failures table
// (known_failures_*.tsv) and prints one line per failure plus the counts.
// Exit code 0 when every failure is a known one failing in the known way.
// Usage: node junit_summary.mjs REPORT.xml KNOWN.tsv
import { readFileSync } from "node:fs";

const [report, knownFile] = process.argv.slice(2);
const xml = readFileSync(report, "utf8");
const unescape = (s) =>
  s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">").replace(
      /&#(\d+);/g,
      (_, n) => String.fromCodePoint(+n),
    )
    .replace(/&amp;/g, "&");
const known = readFileSync(knownFile, "utf8").split("\n")
  .filter((line) => line.trim() && !line.startsWith("#"))
  .map((line) => {
    const [name, text, why] = line.split("\t");
    return { name: new RegExp(name), text, why, seen: false };
  });

let passed = 0, failed = 0, skipped = 0, ignored = 0;
const cases = xml.matchAll(
  /<testcase name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g,
);
for (const [, rawName, , body = ""] of cases) {
  const name = unescape(rawName);
  if (/<skipped/.test(body)) {
    ignored++;
    continue;
  }
  const failure = body.match(
    /<failure[^>]*>([\s\S]*?)<\/failure>|<failure[^>]*\/>/,
  );
  for (const k of known) if (k.name.test(name)) k.ran = true;
  if (!failure) {
    passed++;
    continue;
  }
  const text = unescape(failure[0]);
  const entry = known.find((k) => k.name.test(name));
  if (entry && text.includes(entry.text)) {
    entry.seen = true;
    skipped++;
    console.log(`SKIP ${name}: ${entry.why}`);
  } else {
    failed++;
    console.log(
      `FAIL ${name}${entry ? " (listed, but failed differently)" : ""}`,
    );
    console.log(
      text.split("\n").slice(0, 8).map((l) => `     ${l}`).join("\n"),
    );
  }
}
for (const entry of known.filter((k) => k.ran && !k.seen)) {
  console.log(
    `NOTE no known failure matched ${entry.name} (fixed? then drop the line)`,
  );
}
console.log(
  `summary: ${passed} ok, ${failed} failing, ${skipped} known failures, ${ignored} ignored`,
);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
