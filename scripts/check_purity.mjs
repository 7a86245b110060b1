// `npm run check:purity`: fails when a package source breaks the runtime
// purity rules (see _purity.mjs): Web APIs only in mod.ts, src/,
// dashboard/, adapters/upstash/ and adapters/dynamodb/, and no imports
// beyond each adapter's vendor client.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkSources, isShippedSource } from "./_purity.mjs";
import { findFiles, root } from "./_tools.mjs";

const paths = [
  "mod.ts",
  ...findFiles("src", ".ts"),
  ...findFiles("testing", ".ts"),
  ...findFiles("adapters", ".ts"),
  ...findFiles("dashboard", ".ts"),
]
  .filter(isShippedSource);
const violations = checkSources(
  paths.map((path) => ({ path, text: readFileSync(join(root, path), "utf8") })),
);
for (const v of violations) {
  console.error(`${v.path}:${v.line}:${v.column} ${v.message}`);
}
if (violations.length > 0) {
  console.error(
    `purity: ${violations.length} violations in ${paths.length} files`,
  );
  process.exit(1);
}
console.log(`purity: ${paths.length} package sources use Web APIs only`);
