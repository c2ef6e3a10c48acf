/**
 * Names of the API in README.md and docs/*.md exist in the jsii assembly. TypeScript in the
 * docs (fenced `ts` blocks, and code spans that parse as TypeScript) is parsed, not run, and
 * checked where it can be checked precisely:
 *
 * - `import { ... } from 'cdk8s-storage'`: each name is exported;
 * - `Type.member` on one of our types: the member exists (`BlockCleaner.quickReset()`);
 *   on another PascalCase name: it is cdk8s, cdk8s-plus-28, constructs or a JavaScript global;
 * - `new Type(scope, id, { ... })`, `Type.method({ ... })` and `x.addStorageClass(id, { ... })`:
 *   each key of an object literal is a prop of the struct that parameter takes, nested
 *   structs (`autoGrow: { ... }`) included;
 * - a code span that names a type in our naming (`NfsServer`, `LocalStorageClass`, ...): the type exists;
 * - README's construct table: the props it lists exist on that construct's props.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { JsiiApi } from './jsii-api';
import { codeIn, CodeSnippet, rootDir, userDocs } from './markdown';

const api = new JsiiApi();

/** PascalCase names users may write that are not ours. */
const EXTERNAL = new Set<string>([
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ...['cdk8s', 'cdk8s-plus-28', 'constructs'].flatMap((m) => Object.keys(require(m))),
  ...Object.getOwnPropertyNames(globalThis),
]);

/** How our type names start: a code span starting like this must name one of our types. */
// (Not `AutoGrow...`: event reasons such as `AutoGrowing` share it.)
const OUR_NAMING = /^I?(Nfs|LocalStatic|LocalStorage|Resizable|BlockCleaner|StorageClassRef)[A-Za-z]*$/;
const PASCAL = /^[A-Z][a-z][A-Za-z0-9]*$/;

function parse(code: string): ts.SourceFile | undefined {
  const file = ts.createSourceFile('snippet.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const diagnostics = (file as unknown as { parseDiagnostics: ts.Diagnostic[] }).parseDiagnostics;
  return diagnostics.length === 0 ? file : undefined;
}

function keyName(property: ts.ObjectLiteralElementLike): string | undefined {
  if ((ts.isPropertyAssignment(property) || ts.isShorthandPropertyAssignment(property) || ts.isMethodDeclaration(property))
    && (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name))) {
    return property.name.text;
  }
  return undefined;
}

/** Problems in one snippet, each naming what is wrong. */
export function problemsIn(snippet: CodeSnippet): string[] {
  const file = parse(snippet.code);
  if (!file) return [];
  const problems: string[] = [];
  const report = (node: ts.Node, message: string) => problems.push(`${snippet.where}: \`${node.getText(file)}\`: ${message}`);

  /** Keys of an object literal against the struct(s) it may be. */
  const checkStruct = (literal: ts.ObjectLiteralExpression, refs: { fqn?: string }[]) => {
    const structs = refs.map((r) => api.struct(r)).filter((s) => s !== undefined);
    if (structs.length === 0) return;
    for (const property of literal.properties) {
      const key = keyName(property);
      if (key === undefined) continue;
      const props = structs.flatMap((s) => api.members(s)).filter((p) => p.name === key);
      if (props.length === 0) {
        report(property, `no prop \`${key}\` in ${structs.map((s) => s.name).sort().join(' or ')}`);
      } else if (ts.isPropertyAssignment(property) && ts.isObjectLiteralExpression(property.initializer)) {
        checkStruct(property.initializer, props.map((p) => p.type ?? {}));
      }
    }
  };
  const checkArguments = (args: readonly ts.Expression[], candidates: { parameters?: { type: { fqn?: string } }[] }[]) => {
    args.forEach((arg, i) => {
      if (ts.isObjectLiteralExpression(arg)) checkStruct(arg, candidates.map((c) => c.parameters?.[i]?.type ?? {}));
    });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && node.moduleSpecifier.text === 'cdk8s-storage') {
      const bindings = node.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          if (!api.type(element.name.text)) report(element, 'not exported by cdk8s-storage');
        }
      }
    }
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression)) {
      const type = api.type(node.expression.text);
      if (type?.kind === 'class' && type.initializer) checkArguments(node.arguments ?? [], [type.initializer]);
      else if (!type && OUR_NAMING.test(node.expression.text)) report(node.expression, 'no such class in the API');
    }
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && PASCAL.test(node.expression.text)) {
      const owner = node.expression.text;
      const type = api.type(owner);
      if (type) {
        if (!api.members(type).some((m) => m.name === node.name.text)) report(node, `${owner} has no member \`${node.name.text}\``);
      } else if (!EXTERNAL.has(owner)) {
        report(node.expression, 'not in the API, nor in cdk8s, cdk8s-plus-28 or constructs');
      }
    }
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const target = node.expression.expression;
      const method = node.expression.name.text;
      const type = ts.isIdentifier(target) ? api.type(target.text) : undefined;
      const candidates = type ? api.members(type).filter((m) => m.name === method) : api.instanceMethods(method);
      checkArguments(node.arguments, candidates);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);

  const whole = snippet.code.trim();
  if (snippet.lang === 'inline' && OUR_NAMING.test(whole) && !api.type(whole)) {
    problems.push(`${snippet.where}: \`${whole}\`: no such type in the API`);
  }
  return problems;
}

/** README's construct table: `| \`Construct\` ... | what | \`prop\`, \`prop\` (...) |`. */
function tableProblems(file: string): string[] {
  const problems: string[] = [];
  fs.readFileSync(path.join(rootDir, file), 'utf8').split('\n').forEach((line, i) => {
    const cells = line.split('|').slice(1, -1);
    const construct = /^\s*`([A-Za-z]+)`/.exec(cells[0] ?? '')?.[1];
    const type = construct ? api.type(construct) : undefined;
    if (cells.length < 3 || type?.kind !== 'class') return;
    const props = [`${construct}Props`, `${construct}Options`].map((n) => api.type(n)).filter((t) => t !== undefined).flatMap((t) => api.members(t));
    // Spans in parentheses are examples of values, not props.
    const listed = cells[cells.length - 1].replace(/\([^)]*\)/g, '');
    for (const m of listed.matchAll(/`([a-z][A-Za-z]*)`/g)) {
      if (!props.some((p) => p.name === m[1])) problems.push(`${file}:${i + 1}: \`${m[1]}\` is not a prop of ${construct}`);
    }
  });
  return problems;
}

test('every name of the API the docs use exists', () => {
  const snippets = userDocs().flatMap(codeIn).filter((s) => s.lang === 'inline' || s.lang === 'ts' || s.lang === 'typescript');
  expect(snippets.length).toBeGreaterThan(100);
  expect([...snippets.flatMap(problemsIn), ...tableProblems('README.md')]).toEqual([]);
});

test('the check finds misnamed methods, types, props and imports', () => {
  const check = (code: string, lang = 'ts') => problemsIn({ where: 'x.md:1', code, lang });
  expect(check('BlockCleaner.quickReset()', 'inline')).toEqual([]);
  expect(check('BlockCleaner.quick()', 'inline')).toEqual(['x.md:1: `BlockCleaner.quick`: BlockCleaner has no member `quick`']);
  expect(check('StorageClassRefs.fromName("x")', 'inline')).toHaveLength(1);
  expect(check('Size.gibibytes(1)', 'inline')).toEqual([]);
  expect(check('NfsServerz', 'inline')).toEqual(['x.md:1: `NfsServerz`: no such type in the API']);
  expect(check("import { NfsProvisioner, NfsServers } from 'cdk8s-storage';")).toEqual(['x.md:1: `NfsServers`: not exported by cdk8s-storage']);
  expect(check("new ResizableClaim(chart, 'c', { storage: s, autoGrow: { thresholdPercent: 80, step: s } });"))
    .toEqual(['x.md:1: `step: s`: no prop `step` in AutoGrowPolicy']);
  expect(check("nfs.addStorageClass('a', { hostDir: '/x', pathPattern: 'y', size: 1 });"))
    .toEqual(['x.md:1: `size: 1`: no prop `size` in LocalStorageClassOptions or NfsStorageClassOptions']);
  expect(check("NfsServer.external({ host: 'h', path: '/p', port: 1 })")).toEqual(['x.md:1: `port: 1`: no prop `port` in NfsExternalServerOptions']);
  // Not TypeScript: nothing to check.
  expect(check('kubectl get pvc data -o yaml', 'inline')).toEqual([]);
});
