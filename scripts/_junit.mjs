// Counts leaf test results in a JUnit XML report written by `deno test` or
// `bun test`. Deno reports a `describe` block and its steps as separate
// test cases; only the leaves are counted, so every runtime counts the same
// tests the same way.
import { existsSync, readFileSync } from "node:fs";

const decode = (text) =>
  text.replaceAll("&gt;", ">").replaceAll("&lt;", "<").replaceAll("&quot;", '"')
    .replaceAll("&apos;", "'").replaceAll("&amp;", "&");

export function countJunit(path) {
  if (!existsSync(path)) {
    return { passed: 0, failed: 0, skipped: 0, failures: [], missing: true };
  }
  const xml = readFileSync(path, "utf8");
  const cases = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const match of xml.matchAll(re)) {
    const attrs = match[1];
    const body = match[3] ?? "";
    const name = decode(/\bname="([^"]*)"/.exec(attrs)?.[1] ?? "");
    const classname = decode(/\bclassname="([^"]*)"/.exec(attrs)?.[1] ?? "");
    const failure = /<(failure|error)\b([^>]*)>/.exec(body);
    const message = failure
      ? decode(/message="([^"]*)"/.exec(failure[2])?.[1] ?? "")
      : "";
    cases.push({
      name,
      full: `${classname} > ${name}`,
      failed: Boolean(failure),
      stepFailure: /^\d+ test steps? failed/.test(message),
      skipped: /<skipped\b/.test(body),
      message,
    });
  }
  const names = cases.map((c) => c.name);
  let passed = 0, failed = 0, skipped = 0;
  const failures = [];
  for (const c of cases) {
    const isParent = names.some((n) => n.startsWith(`${c.name} > `));
    if (isParent) {
      // A parent counts only when it failed on its own (a hook, a leak), not
      // because one of its steps did.
      if (c.failed && !c.stepFailure) {
        failed++;
        failures.push(c);
      }
      continue;
    }
    if (c.skipped) skipped++;
    else if (c.failed) {
      failed++;
      failures.push(c);
    } else passed++;
  }
  return { passed, failed, skipped, failures, missing: false };
}
