// @ts-self-types="./_purity.d.mts"
// The runtime-purity rules of the package sources, checked on the syntax tree
// (so a word in a comment, a string or a JSDoc example is never a use):
//
// - mod.ts and src/ use Web APIs only: they import nothing but other package
//   sources, never an adapter, never testing/, and never dashboard/.
// - dashboard/ (the "./dashboard" entry) uses Web APIs only too: it imports
//   the core and its own files, and nothing else.
// - testing/ (the "./testing" entry: conformance suites that register
//   tests) imports package sources and the test runner every runtime
//   provides: node:test and node:assert.
// - An adapter imports package sources, its own files and its vendor client
//   only (adapters/libsql: @libsql/client and @libsql/client/web;
//   adapters/upstash: @upstash/redis; adapters/dynamodb: nothing, since it
//   takes an AWS SDK client typed structurally and otherwise uses fetch).
// - No shipped file imports a Node built-in (`node:fs` or bare `fs`) or a
//   registry or URL specifier (`npm:`, `jsr:`, `https:`), or refers to a
//   runtime's own globals (`Deno`, `Bun`, `process`, `Buffer`, `require`, ...)
//   or to `import.meta` beyond `url` and `resolve`.
import { builtinModules } from "node:module";
import { posix } from "node:path";
import ts from "typescript";

/** Vendor packages each adapter may import, by adapter directory. */
export const ADAPTER_IMPORTS = {
  "adapters/libsql/": ["@libsql/client", "@libsql/client/web"],
  "adapters/upstash/": ["@upstash/redis"],
  "adapters/dynamodb/": [],
};

/** Modules the conformance suites in testing/ may import. */
export const TESTING_IMPORTS = [
  "node:test",
  "node:assert",
  "node:assert/strict",
];

/** Globals of a particular runtime that Web-only code never touches. */
export const RUNTIME_GLOBALS = [
  "Deno",
  "Bun",
  "process",
  "Buffer",
  "require",
  "module",
  "exports",
  "__dirname",
  "__filename",
  "global",
  "setImmediate",
  "clearImmediate",
];

const GLOBAL_OBJECTS = new Set(["globalThis", "self", "window"]);
const WEB_IMPORT_META = new Set(["url", "resolve"]);
const builtins = new Set(builtinModules);
const runtimeGlobals = new Set(RUNTIME_GLOBALS);

/** True for a package source that the purity rules apply to. */
export function isShippedSource(path) {
  return isPackageSource(path) &&
    /\.[cm]?tsx?$/.test(path) && !/\.d\.[cm]?ts$/.test(path) &&
    !/_(test|bench)\.[cm]?tsx?$/.test(path);
}

function area(path) {
  if (path.startsWith("testing/")) return "testing";
  if (path === "mod.ts" || path.startsWith("src/")) return "core";
  if (path.startsWith("dashboard/")) return "dashboard";
  const m = /^adapters\/[^/]+\//.exec(path);
  return m ? m[0] : "other";
}

function isPackageSource(path) {
  return path === "mod.ts" || path.startsWith("src/") ||
    path.startsWith("testing/") || path.startsWith("adapters/") ||
    path.startsWith("dashboard/");
}

/**
 * Checks sources given as `{ path, text }`, with paths relative to the
 * repository root. Returns one violation per offending use, each with the
 * path, 1-based line and column, and a message.
 */
export function checkSources(sources) {
  const files = sources.filter((s) => isShippedSource(s.path));
  const texts = new Map(files.map((f) => [f.path, f.text]));
  const options = {
    noLib: true,
    noResolve: true,
    types: [],
    allowJs: true,
    target: ts.ScriptTarget.ESNext,
    module: ts.ModuleKind.ESNext,
  };
  const host = ts.createCompilerHost(options);
  host.getSourceFile = (name, language) =>
    texts.has(name)
      ? ts.createSourceFile(name, texts.get(name), language, true)
      : undefined;
  host.fileExists = (name) => texts.has(name);
  host.readFile = (name) => texts.get(name);
  host.getCurrentDirectory = () => "";
  host.getCanonicalFileName = (name) => name;
  host.writeFile = () => {};
  const program = ts.createProgram([...texts.keys()], options, host);
  const checker = program.getTypeChecker();

  const violations = [];
  for (const { path } of files) {
    const source = program.getSourceFile(path);
    if (!source) continue;
    const report = (node, message) => {
      const at = source.getLineAndCharacterOfPosition(node.getStart(source));
      violations.push({
        path,
        line: at.line + 1,
        column: at.character + 1,
        message,
      });
    };
    for (const ref of source.typeReferenceDirectives) {
      violations.push({
        path,
        ...lineColumn(source, ref.pos),
        message: `references the types of "${ref.fileName}"`,
      });
    }
    for (const ref of source.libReferenceDirectives) {
      if (!/^(dom|es|esnext)\b/i.test(ref.fileName)) {
        violations.push({
          path,
          ...lineColumn(source, ref.pos),
          message: `references the lib "${ref.fileName}"`,
        });
      }
    }
    const visit = (node) => {
      const specifier = moduleSpecifier(node);
      if (specifier) {
        const problem = importProblem(path, specifier.text);
        if (problem) report(specifier, problem);
      }
      if (ts.isIdentifier(node) && runtimeGlobals.has(node.text)) {
        if (refersToGlobal(node, checker)) {
          report(node, `uses the runtime global \`${node.text}\``);
        }
      }
      const viaGlobal = globalObjectMember(node);
      if (viaGlobal) report(node, `uses the runtime global \`${viaGlobal}\``);
      if (
        ts.isPropertyAccessExpression(node) &&
        ts.isMetaProperty(node.expression) &&
        node.expression.keywordToken === ts.SyntaxKind.ImportKeyword &&
        !WEB_IMPORT_META.has(node.name.text)
      ) {
        report(node, `uses \`import.meta.${node.name.text}\``);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return violations.sort((a, b) =>
    a.path.localeCompare(b.path) || a.line - b.line || a.column - b.column
  );
}

function lineColumn(source, pos) {
  const at = source.getLineAndCharacterOfPosition(pos);
  return { line: at.line + 1, column: at.character + 1 };
}

/** The string literal naming a module, for any form of import. */
function moduleSpecifier(node) {
  if (
    (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
    node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)
  ) {
    return node.moduleSpecifier;
  }
  if (
    ts.isImportEqualsDeclaration(node) &&
    ts.isExternalModuleReference(node.moduleReference) &&
    ts.isStringLiteral(node.moduleReference.expression)
  ) {
    return node.moduleReference.expression;
  }
  if (
    ts.isCallExpression(node) &&
    node.expression.kind === ts.SyntaxKind.ImportKeyword &&
    node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])
  ) {
    return node.arguments[0];
  }
  if (
    ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) &&
    ts.isStringLiteral(node.argument.literal)
  ) {
    return node.argument.literal;
  }
  return undefined;
}

/** Why `path` may not import `specifier`, or undefined when it may. */
export function importProblem(path, specifier) {
  const from = area(path);
  if (specifier.startsWith("./") || specifier.startsWith("../")) {
    const target = posix.normalize(
      posix.join(posix.dirname(path), specifier),
    );
    if (!isPackageSource(target) || target.startsWith("../")) {
      return `imports "${specifier}", which is not a package source`;
    }
    const to = area(target);
    if (to === "testing" && from !== "testing") {
      return `imports the test helper "${specifier}": only testing/ may use it`;
    }
    if (to === "dashboard" && from !== "dashboard") {
      return `imports the dashboard file "${specifier}": only dashboard/ may use it`;
    }
    if (to.startsWith("adapters/") && to !== from) {
      return from.startsWith("adapters/")
        ? `imports "${specifier}" from another adapter`
        : `imports the adapter file "${specifier}": the core must not depend on an adapter`;
    }
    return undefined;
  }
  if (from === "testing" && TESTING_IMPORTS.includes(specifier)) {
    return undefined;
  }
  if (specifier.startsWith("node:") || builtins.has(specifier)) {
    return `imports the Node built-in "${specifier}"`;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) {
    return `imports "${specifier}": package sources import npm packages by bare name, mapped in deno.json`;
  }
  const allowed = ADAPTER_IMPORTS[from] ?? [];
  if (!allowed.includes(specifier)) {
    return !from.startsWith("adapters/")
      ? `imports the package "${specifier}": the ${
        from === "dashboard" ? "dashboard" : "core"
      } imports nothing outside the project`
      : `imports the package "${specifier}": ${from} may import only ${
        allowed.length > 0 ? allowed.join(", ") : "package sources"
      }`;
  }
  return undefined;
}

/**
 * True when the identifier `node` refers to a global of that name rather
 * than naming a property or a declaration, or referring to a local binding.
 */
function refersToGlobal(node, checker) {
  const parent = node.parent;
  if (!parent) return false;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) {
    return false;
  }
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if (
    (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent) ||
      ts.isPropertySignature(parent) || ts.isMethodDeclaration(parent) ||
      ts.isMethodSignature(parent) || ts.isGetAccessorDeclaration(parent) ||
      ts.isSetAccessorDeclaration(parent) || ts.isEnumMember(parent) ||
      ts.isVariableDeclaration(parent) || ts.isParameter(parent) ||
      ts.isFunctionDeclaration(parent) || ts.isFunctionExpression(parent) ||
      ts.isClassDeclaration(parent) || ts.isClassExpression(parent) ||
      ts.isInterfaceDeclaration(parent) || ts.isTypeAliasDeclaration(parent) ||
      ts.isEnumDeclaration(parent) || ts.isModuleDeclaration(parent) ||
      ts.isBindingElement(parent) || ts.isImportSpecifier(parent) ||
      ts.isImportClause(parent) || ts.isNamespaceImport(parent) ||
      ts.isExportSpecifier(parent) || ts.isTypeParameterDeclaration(parent) ||
      ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent) ||
      ts.isJsxAttribute?.(parent)) && parent.name === node
  ) return false;
  if (ts.isBindingElement(parent) && parent.propertyName === node) {
    return false;
  }
  if (ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent)) {
    return false;
  }
  if (ts.isShorthandPropertyAssignment(parent) && parent.name === node) {
    return !isDeclared(checker.getShorthandAssignmentValueSymbol(parent));
  }
  return !isDeclared(checker.getSymbolAtLocation(node));
}

// An unresolved name has no symbol, or (in a type position) the checker's
// placeholder symbol without declarations.
const isDeclared = (symbol) => (symbol?.declarations?.length ?? 0) > 0;

/** `globalThis.Deno`, `self["process"]`: the runtime global named, if any. */
function globalObjectMember(node) {
  let object;
  let name;
  if (ts.isPropertyAccessExpression(node)) {
    object = node.expression;
    name = node.name.text;
  } else if (
    ts.isElementAccessExpression(node) &&
    ts.isStringLiteralLike(node.argumentExpression)
  ) {
    object = node.expression;
    name = node.argumentExpression.text;
  } else return undefined;
  while (
    ts.isParenthesizedExpression(object) || ts.isAsExpression(object) ||
    ts.isNonNullExpression(object) || ts.isTypeAssertionExpression(object) ||
    ts.isSatisfiesExpression?.(object)
  ) object = object.expression;
  return ts.isIdentifier(object) && GLOBAL_OBJECTS.has(object.text) &&
      runtimeGlobals.has(name)
    ? `${object.text}.${name}`
    : undefined;
}
