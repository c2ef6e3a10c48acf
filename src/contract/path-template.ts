/**
 * The `pathPattern` engine: which directory under the provisioner root a claim gets.
 *
 * A pattern is text with variables, `/` separating directory levels:
 *
 *   ${.PVC.namespace}        the claim's namespace
 *   ${.PVC.name}             the claim's name
 *   ${.PVC.labels.<key>}     a label of the claim (it must be set)
 *   ${.PVC.annotations.<key>} an annotation of the claim (it must be set)
 *   ${.PV.name}              the volume's name (`pvc-<claim uid>`, unique per claim)
 *
 * Values come from objects any namespace user can write, so they are hostile: a value may
 * not contain `/` (it would add directory levels) or control characters, may not be empty,
 * and every rendered segment must be a plain name (not `.`/`..`, at most 255 bytes). The
 * construct validates the pattern at synth time; the controller renders it per claim and
 * then proves the result stays under its root with {@link resolveUnderRoot}.
 *
 * Two namespaces must never render one directory. Text around the namespace can be forged
 * from the other side of it (`${.PVC.namespace}-${.PVC.name}` gives `payments-prod-db` for
 * both `payments-prod/db` and `payments/prod-db`), so a pattern must either make the
 * namespace a directory level of its own or contain `${.PV.name}`, which is unique per
 * claim. And a rendered path may never begin where the controller keeps its own things:
 * archives (`archived-*`) and its notes (`.cdk8s-storage-*`) at the top of the export.
 *
 * Pure functions: no file system access here.
 */
import * as path from 'path';
import { quote } from '../constructs/common/errors';

/** The pattern used when a class sets none: one flat directory per claim, never reused. */
export const DEFAULT_PATH_PATTERN = '${.PVC.namespace}-${.PVC.name}-${.PV.name}';

/** Longest file name most file systems (and NFS) accept, in bytes. */
export const MAX_SEGMENT_BYTES = 255;
/** Longest path Linux accepts (PATH_MAX), in bytes. */
export const MAX_PATH_BYTES = 4096;
/** Prefix of archived volume directories directly under the root: never rendered for a claim. */
export const ARCHIVE_PREFIX = 'archived-';
/** Prefix of the controller's own directories directly under the root (its notes): never rendered for a claim. */
export const CONTROLLER_DIR_PREFIX = '.cdk8s-storage-';
/**
 * The fewest bytes each variable renders to, for finding patterns that can never render:
 * a value is never empty, and a PV name is `pvc-` and a 36-character UID.
 */
const MIN_VALUE_BYTES: Readonly<Record<PatternToken['kind'], number>> = {
  literal: 0, namespace: 1, name: 1, label: 1, annotation: 1, pvName: 40,
};

/** A part of a parsed pattern. */
export type PatternToken =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'namespace' | 'name' | 'pvName' }
  | { readonly kind: 'label' | 'annotation'; readonly key: string };

/** What a claim offers to a pattern. */
export interface PathContext {
  readonly namespace: string;
  readonly name: string;
  /** The PV name (`pvc-<uid>`). */
  readonly pvName: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type RenderResult =
  | { readonly ok: true; readonly relativePath: string; readonly segments: readonly string[] }
  | { readonly ok: false; readonly reason: string };

const KNOWN_VARIABLES = '${.PVC.namespace}, ${.PVC.name}, ${.PVC.labels.<key>}, ${.PVC.annotations.<key>}, ${.PV.name}';

/**
 * Checks a pattern; returns one message per problem (empty when the pattern is usable).
 * Messages quote the pattern and say how to fix it.
 */
export function validatePathPattern(pattern: string): string[] {
  return parse(pattern).errors;
}

/**
 * The claim label and annotation keys a pattern renders (`${.PVC.labels.<key>}`,
 * `${.PVC.annotations.<key>}`), each once: a claim without one of them cannot be
 * provisioned. Empty lists for an invalid pattern.
 */
export function patternClaimKeys(pattern: string): { labels: string[]; annotations: string[] } {
  const { segments, errors } = parse(pattern);
  const tokens = errors.length > 0 ? [] : segments.flat();
  const keysOf = (kind: 'label' | 'annotation') => [...new Set(tokens.flatMap((t) => (t.kind === kind ? [t.key] : [])))];
  return { labels: keysOf('label'), annotations: keysOf('annotation') };
}

/**
 * Parses a pattern into segments (split at `/`) of tokens.
 *
 * @throws Error listing every problem when the pattern is invalid.
 */
export function parsePathPattern(pattern: string): PatternToken[][] {
  const { segments, errors } = parse(pattern);
  if (errors.length > 0) throw new Error(errors.join('; '));
  return segments;
}

/**
 * Renders a pattern for one claim. Never throws: a bad pattern or a bad value gives
 * `{ ok: false, reason }`, with a reason a person can act on.
 */
export function renderPath(pattern: string, ctx: PathContext): RenderResult {
  const parsed = parse(pattern);
  if (parsed.errors.length > 0) {
    return { ok: false, reason: `the StorageClass pathPattern is invalid: ${parsed.errors.join('; ')}` };
  }
  const segments: string[] = [];
  for (const tokens of parsed.segments) {
    let segment = '';
    for (const token of tokens) {
      const value = valueOf(token, ctx);
      if (!value.ok) return value;
      segment += value.text;
    }
    const problem = segmentProblem(segment) ?? (segments.length === 0 ? reservedProblem(segment) : undefined);
    if (problem) return { ok: false, reason: `pathPattern ${quote(pattern)} renders the directory name ${quote(segment)}, which ${problem}` };
    segments.push(segment);
  }
  const relativePath = segments.join('/');
  const bytes = Buffer.byteLength(relativePath, 'utf8');
  if (bytes > MAX_PATH_BYTES) {
    return { ok: false, reason: `pathPattern ${quote(pattern)} renders a path of ${bytes} bytes; the limit is ${MAX_PATH_BYTES}: use shorter names or a shorter pattern` };
  }
  return { ok: true, relativePath, segments };
}

/**
 * Joins a relative path onto an absolute root and proves the result is strictly inside the
 * root (lexically: symlinks are the caller's job). Returns the absolute path.
 *
 * @throws Error when the root is not absolute, the path is absolute, empty or has a NUL,
 *   or the joined path is the root itself or outside it.
 */
export function resolveUnderRoot(root: string, relativePath: string): string {
  if (!path.posix.isAbsolute(root) || root.includes('\0')) {
    throw new Error(`root ${quote(root)} must be an absolute path without NUL`);
  }
  if (relativePath.length === 0 || path.posix.isAbsolute(relativePath) || relativePath.includes('\0')) {
    throw new Error(`path ${quote(relativePath)} must be a non-empty relative path without NUL`);
  }
  const base = path.posix.resolve(root);
  const resolved = path.posix.resolve(base, relativePath);
  const prefix = base === '/' ? '/' : `${base}/`;
  if (!resolved.startsWith(prefix) || resolved.length <= prefix.length) {
    throw new Error(`path ${quote(relativePath)} resolves to ${quote(resolved)}, which is not inside ${quote(base)}`);
  }
  if (Buffer.byteLength(resolved, 'utf8') >= MAX_PATH_BYTES) {
    throw new Error(`path ${quote(resolved)} is longer than ${MAX_PATH_BYTES - 1} bytes`);
  }
  return resolved;
}

interface Parsed {
  readonly segments: PatternToken[][];
  readonly errors: string[];
}

function parse(pattern: string): Parsed {
  const errors: string[] = [];
  if (typeof pattern !== 'string' || pattern.length === 0) {
    return { segments: [], errors: ['pathPattern is empty: give a pattern such as "${.PVC.namespace}/${.PVC.name}"'] };
  }
  const where = `pathPattern ${quote(pattern)}`;
  if (pattern.startsWith('/')) {
    errors.push(`${where} is absolute: directories are created under the export, so remove the leading "/"`);
  }
  if (/[\u0000-\u001f\u007f]/.test(pattern)) {
    errors.push(`${where} contains a control character (NUL, newline, ...): remove it`);
  }

  const segments: PatternToken[][] = [[]];
  // Levels that already have an error: no second message about the same text.
  const reported = new Set<number>();
  let i = 0;
  let literal = '';
  const flush = () => {
    if (literal) segments[segments.length - 1].push({ kind: 'literal', text: literal });
    literal = '';
  };
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '$' && pattern[i + 1] === '{') {
      const end = pattern.indexOf('}', i + 2);
      const nested = pattern.indexOf('${', i + 2);
      if (end < 0 || (nested >= 0 && nested < end)) {
        errors.push(`${where} has a "\${" at character ${i + 1} without its closing "}": close it or remove it`);
        reported.add(segments.length - 1);
        i += 2;
        continue;
      }
      const body = pattern.slice(i + 2, end);
      const token = variable(body);
      if (token) {
        flush();
        segments[segments.length - 1].push(token);
      } else {
        errors.push(`${where} uses the unknown variable "\${${body}}": known variables are ${KNOWN_VARIABLES}`);
        reported.add(segments.length - 1);
      }
      i = end + 1;
    } else if (c === '}') {
      errors.push(`${where} has a "}" at character ${i + 1} with no "\${" before it: remove it or add the "\${"`);
      reported.add(segments.length - 1);
      i++;
    } else if (c === '/') {
      flush();
      segments.push([]);
      i++;
    } else {
      literal += c;
      i++;
    }
  }
  flush();

  if (!pattern.startsWith('/')) {
    segments.forEach((tokens, n) => {
      if (reported.has(n)) return;
      if (tokens.length === 0) {
        errors.push(`${where} has an empty directory level (segment ${n + 1}; "//" or a trailing "/"): remove the extra "/"`);
      } else if (tokens.length === 1 && tokens[0].kind === 'literal' && (tokens[0].text === '.' || tokens[0].text === '..')) {
        errors.push(`${where} has a "${tokens[0].text}" directory level: patterns may not walk up or stay in place, remove it`);
      } else if (minimumBytes(tokens) > MAX_SEGMENT_BYTES) {
        errors.push(`${where} has a directory level (segment ${n + 1}) of at least ${minimumBytes(tokens)} bytes even with the shortest values; `
          + `the limit is ${MAX_SEGMENT_BYTES}, so no claim could ever be provisioned: shorten its text`);
      }
    });
    const leading = segments[0][0];
    if (leading?.kind === 'literal') {
      const reserved = reservedProblem(leading.text);
      if (reserved) errors.push(`${where} begins with ${quote(leading.text)}, which ${reserved}`);
    }
    const shortest = segments.reduce((sum, tokens) => sum + minimumBytes(tokens), segments.length - 1);
    if (shortest >= MAX_PATH_BYTES) {
      errors.push(`${where} renders at least ${shortest} bytes even with the shortest values; a path must stay below ${MAX_PATH_BYTES} bytes: shorten the pattern`);
    }
  }

  if (errors.length === 0 && !isolatesNamespaces(segments)) {
    errors.push(`${where} lets claims of two namespaces render one directory: values around \${.PVC.namespace} can be forged from the other side `
      + '(with "${.PVC.namespace}-${.PVC.name}", payments-prod/db and payments/prod-db both get "payments-prod-db"): '
      + 'make \${.PVC.namespace} a directory level of its own ("\${.PVC.namespace}/\${.PVC.name}") or add \${.PV.name}, which is unique per claim');
  }
  return { segments, errors };
}

/**
 * True when no two namespaces can render the same path: a level that is exactly the
 * namespace (so equal paths mean equal namespaces), or the PV name anywhere.
 */
function isolatesNamespaces(segments: readonly PatternToken[][]): boolean {
  return segments.some((tokens) => tokens.length === 1 && tokens[0].kind === 'namespace')
    || segments.some((tokens) => tokens.some((t) => t.kind === 'pvName'));
}

/** The fewest bytes a level renders to. */
function minimumBytes(tokens: readonly PatternToken[]): number {
  return tokens.reduce((sum, t) => sum + (t.kind === 'literal' ? Buffer.byteLength(t.text, 'utf8') : MIN_VALUE_BYTES[t.kind]), 0);
}

/** Why a name is not allowed as the first level under the root, or undefined. */
function reservedProblem(name: string): string | undefined {
  if (name.startsWith(ARCHIVE_PREFIX)) {
    return `starts with "${ARCHIVE_PREFIX}", the prefix of archived volumes (a claim must never be handed an archive or a name an archive may take): choose another first level`;
  }
  if (name.startsWith(CONTROLLER_DIR_PREFIX)) {
    return `starts with "${CONTROLLER_DIR_PREFIX}", the prefix of the controller's own directories: choose another first level`;
  }
  return undefined;
}

function variable(body: string): PatternToken | undefined {
  switch (body) {
    case '.PVC.namespace': return { kind: 'namespace' };
    case '.PVC.name': return { kind: 'name' };
    case '.PV.name': return { kind: 'pvName' };
  }
  for (const [prefix, kind] of [['.PVC.labels.', 'label'], ['.PVC.annotations.', 'annotation']] as const) {
    if (body.startsWith(prefix)) {
      const key = body.slice(prefix.length);
      return isQualifiedKey(key) ? { kind, key } : undefined;
    }
  }
  return undefined;
}

/** A label or annotation key: optional DNS-subdomain prefix and `/`, then a name of up to 63 chars. */
function isQualifiedKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !(prefix.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(prefix))) {
    return false;
  }
  return name.length > 0 && name.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name);
}

type ValueResult = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

function valueOf(token: PatternToken, ctx: PathContext): ValueResult {
  switch (token.kind) {
    case 'literal': return { ok: true, text: token.text };
    case 'namespace': return checked('the claim namespace', ctx.namespace);
    case 'name': return checked('the claim name', ctx.name);
    case 'pvName': return checked('the volume name', ctx.pvName);
    case 'label':
    case 'annotation': {
      const map = token.kind === 'label' ? ctx.labels : ctx.annotations;
      const what = `${token.kind} "${token.key}"`;
      if (!map || !Object.prototype.hasOwnProperty.call(map, token.key)) {
        return { ok: false, reason: `the pathPattern needs the ${what}, which is not set on the claim: add it to the PersistentVolumeClaim` };
      }
      return checked(`the ${what} of the claim`, map[token.key], `change the ${token.kind} value`);
    }
  }
}

function checked(what: string, value: string | undefined, fix = 'use another name'): ValueResult {
  if (typeof value !== 'string' || value.length === 0) {
    return { ok: false, reason: `${what} is empty, and an empty value would make claims share a directory: ${fix}` };
  }
  if (value.includes('/')) {
    return { ok: false, reason: `${what} is ${quote(value)}, which contains "/"; a value may not add directory levels: ${fix}` };
  }
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    return { ok: false, reason: `${what} is ${quote(value)}, which contains a control character (NUL, newline, ...): ${fix}` };
  }
  return { ok: true, text: value };
}

/** Why a rendered directory name is unusable, or undefined when it is fine. */
function segmentProblem(segment: string): string | undefined {
  if (segment.length === 0) return 'is empty';
  if (segment === '.' || segment === '..') return 'would leave the directory: values may not be "." or ".."';
  const bytes = Buffer.byteLength(segment, 'utf8');
  if (bytes > MAX_SEGMENT_BYTES) return `is ${bytes} bytes long; the limit is ${MAX_SEGMENT_BYTES}: use shorter values`;
  return undefined;
}
