// Counts leaf test results in a JUnit XML report written by `deno test`,
// `bun test` or `node --test`, so that every runtime counts the same tests
// the same way.
//
// - Deno reports a `describe` block and each of its steps as separate test
//   cases whose names already hold the path ("outer > inner"); only the
//   leaves are counted.
// - Bun and Node nest a <testsuite> per `describe` and name a leaf by its own
//   title; the path is rebuilt from the enclosing suites. Node reports a file
//   that fails to load as a failed test case named after the file.
import { existsSync, readFileSync } from "node:fs";

const decode = (text) =>
  text.replaceAll("&gt;", ">").replaceAll("&lt;", "<").replaceAll("&quot;", '"')
    .replaceAll("&apos;", "'").replaceAll("&#10;", "\n").replaceAll(
      "&amp;",
      "&",
    );

// One tag: its name and its attributes. Attribute values may hold a raw `>`
// (Node does not escape it), so attributes are matched as quoted strings.
const TAG =
  /<(\/?)(testsuites|testsuite|testcase|failure|error|skipped)\b((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
const ATTR = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

// Node escapes names twice (`&amp;quot;`); a second pass undoes that.
const decodeTwice = (text) => {
  const once = decode(text);
  return /&(amp|lt|gt|quot|apos);/.test(once) ? decode(once) : once;
};

function attributes(text) {
  const out = {};
  for (const m of text.matchAll(ATTR)) {
    out[m[1]] = decodeTwice(m[2] ?? m[3] ?? "");
  }
  return out;
}

/** Parses a JUnit report into leaf-candidate test cases, in document order. */
export function parseJunit(xml) {
  const cases = [];
  const suites = [];
  let current = null;
  for (const match of xml.matchAll(TAG)) {
    const [, closing, tag, rawAttrs, selfClosing] = match;
    if (tag === "testsuites") continue;
    if (tag === "testsuite") {
      if (closing) suites.pop();
      else if (!selfClosing) {
        const attrs = attributes(rawAttrs);
        // Bun and Deno open one suite per file; it is not part of a path.
        const isFile = attrs.file !== undefined && attrs.line === undefined ||
          /(_test|\.test)\.[cm]?[jt]s$/.test(attrs.name ?? "") ||
          (attrs.name ?? "").startsWith("ext:");
        suites.push(isFile ? null : attrs.name ?? "");
      }
      continue;
    }
    if (tag === "testcase") {
      if (closing) {
        if (current) cases.push(current);
        current = null;
        continue;
      }
      const attrs = attributes(rawAttrs);
      const path = suites.filter((s) => s !== null);
      const name = attrs.name ?? "";
      const entry = {
        name,
        full: [...path, name].join(" > "),
        failed: false,
        stepFailure: false,
        skipped: false,
        message: "",
      };
      if (selfClosing) cases.push(entry);
      else current = entry;
      continue;
    }
    if (!current || closing) continue;
    const attrs = attributes(rawAttrs);
    if (tag === "skipped") current.skipped = true;
    else {
      current.failed = true;
      current.message ||= attrs.message ?? "";
      current.stepFailure = /^\d+ (test steps?|subtests?) failed/.test(
        current.message,
      );
    }
  }
  return cases;
}

/**
 * Counts passed, failed and skipped leaves of the report at `path`. A parent
 * (a Deno `describe` reported as its own case) counts only when it failed on
 * its own (a hook, a leak), not because one of its steps did.
 */
export function countJunit(path) {
  if (!existsSync(path)) {
    return { passed: 0, failed: 0, skipped: 0, failures: [], missing: true };
  }
  const cases = parseJunit(readFileSync(path, "utf8"));
  const fulls = new Set(cases.map((c) => c.full));
  const prefixes = new Set();
  for (const full of fulls) {
    const parts = full.split(" > ");
    for (let i = 1; i < parts.length; i++) {
      prefixes.add(parts.slice(0, i).join(" > "));
    }
  }
  let passed = 0, failed = 0, skipped = 0;
  const failures = [];
  for (const c of cases) {
    if (prefixes.has(c.full)) {
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
