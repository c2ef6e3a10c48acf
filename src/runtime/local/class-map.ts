/**
 * Loads and validates the class map (`classes.json`) the LocalStaticProvisioner construct
 * writes into the agent's ConfigMap. Every problem is reported as one line naming the class,
 * the field, the bad value and what is expected, so a broken ConfigMap is fixed from the
 * pod's log without reading code.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import type { LocalAgentConfig, LocalClassConfig } from '../../contract/controller-config';
import { isDnsLabel, isDnsSubdomain } from '../../contract/names';
import { isSameOrInside } from '../../contract/path-containment';
import { BLOCK_CLEANER_KINDS } from '../../contract/values';

/** Thrown for a class map the agent cannot work with. */
export class LocalConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalConfigError';
  }
}

/** Reads and validates the class map at `file`. */
export async function loadLocalAgentConfig(file: string): Promise<LocalAgentConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new LocalConfigError(`cannot read the local class map ${file}: ${(err as Error).message}`);
  }
  return parseLocalAgentConfig(text, file);
}

/** Validates the JSON text of a class map; `source` names it in error messages. */
export function parseLocalAgentConfig(text: string, source: string): LocalAgentConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LocalConfigError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(raw) || !Array.isArray(raw.classes)) {
    throw new LocalConfigError(`${source}: expected an object {"classes": [...]}, got ${preview(raw)}`);
  }
  const provisioner = parseProvisioner(raw.provisioner, 'provisioner', source);
  const formerProvisioner = parseProvisioner(raw.formerProvisioner, 'formerProvisioner', source);
  const classes = raw.classes.map((c, i) => parseClass(c, `${source}: classes[${i}]`));
  checkNoOverlap(classes, source);
  return {
    ...(provisioner !== undefined ? { provisioner } : {}),
    ...(formerProvisioner !== undefined ? { formerProvisioner } : {}),
    classes,
  };
}

/** `<namespace>/<name>`: the provisioner's namespace (DNS label) and construct id as a name (DNS subdomain). */
function parseProvisioner(raw: unknown, key: string, source: string): string | undefined {
  if (raw === undefined) return undefined;
  const [namespace, name, ...rest] = typeof raw === 'string' ? raw.split('/') : [];
  if (namespace === undefined || name === undefined || rest.length > 0 || !isDnsLabel(namespace) || !isDnsSubdomain(name)) {
    throw new LocalConfigError(`${source}: ${key} is ${preview(raw)}; expected "<namespace>/<name>" of the LocalStaticProvisioner (its namespace and construct id), e.g. "storage/local-disks"`);
  }
  return `${namespace}/${name}`;
}

function parseClass(raw: unknown, where: string): LocalClassConfig {
  if (!isObject(raw)) throw new LocalConfigError(`${where}: expected an object, got ${preview(raw)}`);
  const name = requiredString(raw, 'storageClassName', where);
  where = `${where} (${name})`;
  const hostDir = absolutePath(raw, 'hostDir', where);
  const mountDir = absolutePath(raw, 'mountDir', where);
  const volumeMode = oneOf(raw, 'volumeMode', ['Filesystem', 'Block'] as const, where);
  const reclaimPolicy = oneOf(raw, 'reclaimPolicy', ['Delete', 'Retain'] as const, where);
  const namePattern = raw.namePattern === undefined ? '*' : requiredString(raw, 'namePattern', where);
  if (namePattern.includes('/')) {
    throw new LocalConfigError(`${where}: namePattern ${JSON.stringify(namePattern)} contains '/'; it matches one entry name, e.g. "disk-*"`);
  }
  const fsType = raw.fsType === undefined ? undefined : requiredString(raw, 'fsType', where);
  const mountOptions = stringList(raw, 'mountOptions', where);
  const blockCleaner = parseCleaner(raw.blockCleaner, where);
  if (volumeMode === 'Block' && reclaimPolicy === 'Delete' && !blockCleaner) {
    throw new LocalConfigError(`${where}: a Block class with reclaimPolicy Delete needs a blockCleaner (one of ${BLOCK_CLEANER_KINDS.join(', ')})`);
  }
  return {
    storageClassName: name,
    hostDir,
    mountDir,
    volumeMode,
    reclaimPolicy,
    namePattern,
    ...(fsType !== undefined ? { fsType } : {}),
    ...(mountOptions !== undefined ? { mountOptions } : {}),
    ...(blockCleaner !== undefined ? { blockCleaner } : {}),
  };
}

function parseCleaner(raw: unknown, where: string): LocalClassConfig['blockCleaner'] {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) throw new LocalConfigError(`${where}: blockCleaner: expected {"kind": ..., "passes"?: n}, got ${preview(raw)}`);
  const kind = oneOf(raw, 'kind', BLOCK_CLEANER_KINDS, `${where}: blockCleaner`);
  if (raw.passes === undefined) return { kind };
  const passes = raw.passes;
  if (typeof passes !== 'number' || !Number.isInteger(passes) || passes < 1 || passes > 100) {
    throw new LocalConfigError(`${where}: blockCleaner.passes is ${preview(passes)}; expected a whole number from 1 to 100`);
  }
  if (kind !== 'SHRED' && kind !== 'ZERO') {
    throw new LocalConfigError(`${where}: blockCleaner.passes is set but ${kind} takes no passes; remove it or use SHRED or ZERO`);
  }
  return { kind, passes };
}

/** Two classes discovering the same directory would publish every volume twice. */
function checkNoOverlap(classes: LocalClassConfig[], source: string): void {
  const seen = new Map<string, string>();
  for (const c of classes) {
    if (seen.has(c.storageClassName)) {
      throw new LocalConfigError(`${source}: storage class ${c.storageClassName} appears twice; give each class its own entry`);
    }
    seen.set(c.storageClassName, c.storageClassName);
  }
  // Nested directories too: the outer class would publish the inner directory as a volume.
  for (const a of classes) {
    for (const b of classes) {
      if (a === b) continue;
      const dir = isSameOrInside(a.mountDir, b.mountDir) ? a.mountDir : isSameOrInside(a.hostDir, b.hostDir) ? a.hostDir : undefined;
      if (dir !== undefined) {
        throw new LocalConfigError(`${source}: classes ${a.storageClassName} and ${b.storageClassName} share the directory ${dir}; each class needs its own discovery directory, not nested in another`);
      }
    }
  }
}

function requiredString(obj: Record<string, unknown>, key: string, where: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0) {
    throw new LocalConfigError(`${where}: ${key} is ${preview(v)}; expected a non-empty string`);
  }
  return v;
}

function absolutePath(obj: Record<string, unknown>, key: string, where: string): string {
  const v = requiredString(obj, key, where);
  const trimmed = v.replace(/\/+$/, '');
  if (!path.isAbsolute(v) || trimmed === '' || path.normalize(trimmed) !== trimmed) {
    throw new LocalConfigError(`${where}: ${key} is ${JSON.stringify(v)}; expected a normalized absolute directory other than /, e.g. "/mnt/disks"`);
  }
  return trimmed;
}

function oneOf<T extends string>(obj: Record<string, unknown>, key: string, values: readonly T[], where: string): T {
  const v = obj[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new LocalConfigError(`${where}: ${key} is ${preview(v)}; expected one of ${values.join(', ')}`);
  }
  return v as T;
}

function stringList(obj: Record<string, unknown>, key: string, where: string): string[] | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some(s => typeof s !== 'string' || s.length === 0)) {
    throw new LocalConfigError(`${where}: ${key} is ${preview(v)}; expected a list of non-empty strings`);
  }
  return v as string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function preview(v: unknown): string {
  const text = v === undefined ? 'missing' : JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
