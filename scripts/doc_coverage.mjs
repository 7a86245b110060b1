// `npm run doc:coverage`: how much of the public API is documented, as JSR
// scores it, from `deno doc --json` of every entry point in deno.json.
//
// - Every entry point must open with a module doc (`@module`) holding an
//   `@example` with a code block.
// - Exported symbols with JSDoc: the share is printed with each undocumented
//   symbol; below 80% (JSR's bar for full marks) the gate fails. The target
//   is 100%, which `deno doc --lint` enforces separately.
// - Public members (class and interface fields and methods) are reported the
//   same way, for information.
//
//   node scripts/doc_coverage.mjs [--min=80]
import { spawnSync } from "node:child_process";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { denoBin, entryFiles, root } from "./_tools.mjs";

const min = Number(
  process.argv.find((a) => a.startsWith("--min="))?.slice(6) ?? 80,
);
const entries = entryFiles();
const out = spawnSync(denoBin(), ["doc", "--json", ...entries], {
  cwd: root,
  encoding: "utf8",
  maxBuffer: 256 * 1024 * 1024,
});
if (out.status !== 0) {
  console.error(out.stderr);
  console.error("doc coverage: deno doc failed");
  process.exit(1);
}
const doc = JSON.parse(out.stdout);
if (doc.version !== 2 || typeof doc.nodes !== "object") {
  console.error(
    `doc coverage: unknown \`deno doc --json\` format (version ${doc.version})`,
  );
  process.exit(1);
}

const where = (location) =>
  location
    ? `${relative(root, fileURLToPath(location.filename))}:${location.line}`
    : "?";
const hasDoc = (jsDoc) => Boolean(jsDoc?.doc?.trim());
const problems = [];

// Module docs of the entry points.
for (const entry of entries) {
  const url = new URL(entry, `file://${root}/`).href;
  const moduleDoc = doc.nodes[url]?.module_doc;
  const tags = moduleDoc?.tags ?? [];
  if (!hasDoc(moduleDoc) || !tags.some((t) => t.kind === "module")) {
    problems.push(`${entry} has no module doc marked @module`);
  } else if (
    !tags.some((t) => t.kind === "example" && /```/.test(t.doc ?? ""))
  ) {
    problems.push(`${entry}'s module doc has no @example with a code block`);
  }
}

// Symbols and members, each counted once however many entries export it.
const symbols = new Map();
const members = new Map();
const references = [];
const isPublicMember = (m) =>
  m.accessibility !== "private" && m.accessibility !== "protected" &&
  !String(m.name).startsWith("#") && !String(m.name).startsWith("_");
for (const [url, node] of Object.entries(doc.nodes)) {
  for (const symbol of node.symbols ?? []) {
    for (const decl of symbol.declarations ?? []) {
      if (decl.kind === "import" || decl.kind === "moduleDoc") continue;
      if (decl.kind === "reference") {
        // A symbol another entry point already exports: counted once, where
        // it is declared.
        references.push(`${symbol.name}@${where(decl.def?.target)}`);
        continue;
      }
      const key = `${symbol.name}@${where(decl.location)}`;
      const seen = symbols.get(key);
      const documented = hasDoc(decl.jsDoc) || Boolean(seen?.documented);
      symbols.set(key, {
        label: `${symbol.name} (${decl.kind}, ${where(decl.location)})`,
        documented,
        entry: relative(root, fileURLToPath(url)),
      });
      const def = decl.def ?? {};
      const owned = [
        ...(def.properties ?? []),
        ...(def.methods ?? []),
        ...(def.callSignatures ?? []).map((s) => ({ ...s, name: "()" })),
        ...(def.indexSignatures ?? []).map((s) => ({ ...s, name: "[]" })),
      ].filter(isPublicMember);
      if (decl.kind === "class") {
        for (const ctor of def.constructors ?? []) {
          if (ctor.accessibility === "private") continue;
          owned.push({ ...ctor, name: "constructor" });
        }
      }
      for (const member of owned) {
        const memberKey = `${key}#${member.name}@${where(member.location)}`;
        members.set(memberKey, {
          label: `${symbol.name}.${member.name} (${
            where(member.location ?? decl.location)
          })`,
          documented: hasDoc(member.jsDoc) ||
            Boolean(members.get(memberKey)?.documented),
        });
      }
    }
  }
}

for (const key of references) {
  if (!symbols.has(key)) {
    problems.push(`re-export ${key} points to no documented declaration`);
  }
}

function report(title, items) {
  const all = [...items.values()];
  const documented = all.filter((i) => i.documented).length;
  const share = all.length === 0 ? 100 : (100 * documented) / all.length;
  console.log(
    `doc coverage: ${title}: ${documented}/${all.length} documented (${
      share.toFixed(1)
    }%)`,
  );
  for (const item of all.filter((i) => !i.documented)) {
    console.log(`  undocumented: ${item.label}`);
  }
  return share;
}

const symbolShare = report("exported symbols", symbols);
report("public members", members);
if (symbolShare < min) {
  problems.push(
    `only ${
      symbolShare.toFixed(1)
    }% of exported symbols have JSDoc; at least ${min}% is required`,
  );
}
for (const p of problems) console.error(`doc coverage: ${p}`);
process.exit(problems.length > 0 ? 1 : 0);
