// Compiles the package with the TypeScript compiler API, using the options of
// tsconfig.npm.json. Used by the npm build and by the Node test run, so that
// both see the code exactly as a Node user will.
import { join, relative } from "node:path";
import ts from "typescript";
import { denoConfig, root } from "./_tools.mjs";

/** Compiler options of tsconfig.npm.json, with `overrides` applied. */
export function npmCompilerOptions(overrides = {}) {
  const path = join(root, "tsconfig.npm.json");
  const read = ts.readConfigFile(path, ts.sys.readFile);
  if (read.error) throw new Error(formatDiagnostics([read.error]));
  const parsed = ts.convertCompilerOptionsFromJson(
    { ...read.config.compilerOptions, ...overrides },
    root,
    path,
  );
  if (parsed.errors.length > 0) {
    throw new Error(formatDiagnostics(parsed.errors));
  }
  return parsed.options;
}

/**
 * Names of deno.json compilerOptions whose value differs in
 * tsconfig.npm.json: the two must type-check the same code the same way.
 */
export function compilerOptionDrift() {
  const path = join(root, "tsconfig.npm.json");
  const tsconfig = ts.readConfigFile(path, ts.sys.readFile).config
    .compilerOptions;
  const deno = denoConfig().compilerOptions ?? {};
  return Object.keys(deno).filter((key) =>
    JSON.stringify(deno[key]) !== JSON.stringify(tsconfig[key])
  );
}

const host = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => root,
  getNewLine: () => "\n",
};

/** Formats diagnostics as `file:line:col - error TSnnnn: message`. */
export function formatDiagnostics(diagnostics) {
  return ts.formatDiagnostics(diagnostics, host).trimEnd();
}

// Parsed source files (the libs, @types/node, the package) are shared by
// every program this process creates, so a second pass parses nothing again.
const parsed = new Map();
function cachingHost(options) {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const version = typeof languageVersion === "object"
      ? JSON.stringify(languageVersion)
      : String(languageVersion);
    const key = `${version}:${fileName}`;
    let file = parsed.get(key);
    if (!file || shouldCreate) {
      file = getSourceFile(fileName, languageVersion, onError, shouldCreate);
      if (file) parsed.set(key, file);
    }
    return file;
  };
  return host;
}

/**
 * Type-checks `rootNames` (paths relative to the repository) and, unless
 * `noEmit` is set, writes the output. Resolves to the diagnostics and the
 * files written (relative to the repository).
 */
export function compile(rootNames, options) {
  const program = ts.createProgram(
    rootNames.map((f) => join(root, f)),
    options,
    cachingHost(options),
  );
  const written = [];
  const emit = options.noEmit ? { diagnostics: [] } : program.emit(
    undefined,
    (file, text, bom) => {
      const out = file.endsWith(".d.ts")
        ? rewriteDeclarationImports(text)
        : text;
      ts.sys.writeFile(file, out, bom);
      written.push(relative(root, file));
    },
  );
  const diagnostics = ts.sortAndDeduplicateDiagnostics([
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getSyntacticDiagnostics(),
    ...program.getSemanticDiagnostics(),
    ...program.getDeclarationDiagnostics(),
    ...emit.diagnostics,
  ]);
  const sources = program.getSourceFiles()
    .filter((f) =>
      !f.isDeclarationFile || !f.fileName.includes("/node_modules/")
    )
    .map((f) => relative(root, f.fileName));
  return { diagnostics, written, sources };
}

/**
 * tsc rewrites relative `.ts` imports to `.js` in JavaScript but keeps `.ts`
 * in declaration files. TypeScript resolves either, but other tools that read
 * declarations (editors, bundlers following `types`) expect the file that
 * exists next to them, so declarations get the same `.js` specifiers.
 */
export function rewriteDeclarationImports(text) {
  const source = ts.createSourceFile("x.d.ts", text, ts.ScriptTarget.Latest);
  const edits = [];
  const visit = (node) => {
    let literal;
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)
    ) {
      literal = node.moduleSpecifier;
    } else if (
      ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      literal = node.argument.literal;
    }
    if (literal && /^\.\.?\//.test(literal.text)) {
      const rewritten = literal.text.replace(/\.([cm]?)tsx?$/, ".$1js");
      if (rewritten !== literal.text) {
        edits.push({
          start: literal.getStart(source) + 1,
          end: literal.getEnd() - 1,
          text: rewritten,
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  let out = text;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  }
  return out;
}
