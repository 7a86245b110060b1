// Fails when the package identity or exports of deno.json, jsr.json and (when
// built) npm/package.json disagree. deno.json is the source of truth.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./_tools.mjs";

const read = (file) => JSON.parse(readFileSync(join(root, file), "utf8"));
const deno = read("deno.json");
const jsr = read("jsr.json");
const problems = [];

for (const field of ["name", "version", "license"]) {
  if (deno[field] !== jsr[field]) {
    problems.push(
      `jsr.json ${field} is ${JSON.stringify(jsr[field])}, deno.json says ${
        JSON.stringify(deno[field])
      }`,
    );
  }
}
const same = (a, b) =>
  JSON.stringify(Object.entries(a).sort()) ===
    JSON.stringify(Object.entries(b).sort());
if (!same(deno.exports, jsr.exports)) {
  problems.push(
    `jsr.json exports ${JSON.stringify(jsr.exports)} differ from deno.json ${
      JSON.stringify(deno.exports)
    }`,
  );
}
if (JSON.stringify(deno.publish) !== JSON.stringify(jsr.publish)) {
  problems.push("jsr.json publish differs from deno.json publish");
}
for (const [subpath, file] of Object.entries(deno.exports)) {
  if (!existsSync(join(root, file))) {
    problems.push(`export ${subpath} points to missing ${file}`);
  }
}

const npmManifest = join(root, "npm", "package.json");
if (existsSync(npmManifest)) {
  const npm = read("npm/package.json");
  if (npm.name !== deno.name || npm.version !== deno.version) {
    problems.push(
      `npm/package.json is ${npm.name}@${npm.version}, deno.json says ${deno.name}@${deno.version}`,
    );
  }
  const npmSubpaths = Object.keys(npm.exports ?? {}).filter((k) =>
    k !== "./package.json"
  ).sort();
  const denoSubpaths = Object.keys(deno.exports).sort();
  if (JSON.stringify(npmSubpaths) !== JSON.stringify(denoSubpaths)) {
    problems.push(
      `npm/package.json exports ${
        npmSubpaths.join(", ")
      } differ from deno.json ${denoSubpaths.join(", ")}`,
    );
  }
  // Each npm export must be the compiled form of the same source file, with
  // its declarations, and both files must exist in the build.
  for (const [subpath, file] of Object.entries(deno.exports)) {
    const target = npm.exports?.[subpath];
    if (!target) continue;
    const js = file.replace(/\.ts$/, ".js");
    const dts = file.replace(/\.ts$/, ".d.ts");
    if (target.default !== js || target.types !== dts) {
      problems.push(
        `npm/package.json export ${subpath} is ${
          JSON.stringify(target)
        }, expected { types: ${dts}, default: ${js} } from deno.json's ${file}`,
      );
    }
    for (const out of [js, dts]) {
      if (!existsSync(join(root, "npm", out))) {
        problems.push(`npm export ${subpath} points to missing npm/${out}`);
      }
    }
  }
  // The fallbacks for resolvers without `exports` name the same files.
  const rootExport = npm.exports?.["."];
  if (
    rootExport &&
    (npm.main !== rootExport.default || npm.types !== rootExport.types)
  ) {
    problems.push(
      `npm/package.json main ${npm.main} and types ${npm.types} differ from its "." export ${
        JSON.stringify(rootExport)
      }`,
    );
  }
  const fallbacks = npm.typesVersions?.["*"] ?? {};
  for (const subpath of denoSubpaths.filter((s) => s !== ".")) {
    const listed = fallbacks[subpath.slice(2)];
    const types = npm.exports?.[subpath]?.types;
    if (!Array.isArray(listed) || listed.length !== 1 || listed[0] !== types) {
      problems.push(
        `npm/package.json typesVersions for ${subpath} is ${
          JSON.stringify(listed)
        }, expected [${JSON.stringify(types)}]`,
      );
    }
  }
  const extra = Object.keys(fallbacks).filter((k) =>
    !denoSubpaths.includes(`./${k}`)
  );
  if (extra.length > 0) {
    problems.push(
      `npm/package.json typesVersions maps ${
        extra.join(", ")
      }, which deno.json does not export`,
    );
  }
  if (npm.exports?.["./package.json"] !== "./package.json") {
    problems.push("npm/package.json does not export ./package.json");
  }
  if (npm.dependencies && Object.keys(npm.dependencies).length > 0) {
    problems.push(
      `npm/package.json has runtime dependencies: ${
        Object.keys(npm.dependencies).join(", ")
      }`,
    );
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(`export parity: ${p}`);
  process.exit(1);
}
console.log(
  `export parity: ${Object.keys(deno.exports).length} entry points agree`,
);
