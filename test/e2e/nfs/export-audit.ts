/**
 * Orphans and duplicates of one NFS deployment, read from the API and from its
 * export directory as they are now: what no crash may ever leave behind.
 *
 * - orphan: a volume directory no existing claim owns (none is named after it
 *   and no PV of an existing claim points at it), or a PV whose claim is gone;
 * - duplicate: a claim with more than one PV, a claim with more than one
 *   directory (the one named after it and those its PVs point at), or a
 *   directory more than one PV points at.
 *
 * Volume directories are `<claims namespace>/<claim name>` (the crash
 * scenarios' pathPattern); anything else at the top of the export other than
 * the controller's notes directory counts as an orphan too.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NfsDeployment, subdirectories } from './fixture';
import { UNFINISHED_DIR } from '../../../src/runtime/nfs/journal';
import { KubeObject, paths } from '../support';

export interface ExportAudit {
  readonly orphans: string[];
  readonly duplicates: string[];
}

export async function auditExport(d: NfsDeployment): Promise<ExportAudit> {
  const ns = d.claimsNamespace;
  const claims = await d.env.kube.list(paths.pvc(ns));
  const volumes = await d.volumes();
  return findOrphansAndDuplicates(claims, volumes, volumeDirectories(d.root, ns), ns, (pv) => path.posix.relative(d.exportPath, pv.spec?.nfs?.path ?? ''));
}

/** Directories under the export that hold (or held) volumes, relative to it. */
function volumeDirectories(root: string, ns: string): string[] {
  const top = fs.existsSync(root) ? fs.readdirSync(root).filter((e) => e !== ns && e !== UNFINISHED_DIR) : [];
  return [...subdirectories(path.join(root, ns)).map((name) => `${ns}/${name}`), ...top];
}

export function findOrphansAndDuplicates(
  claims: KubeObject[],
  volumes: KubeObject[],
  directories: string[],
  ns: string,
  directoryOf: (pv: KubeObject) => string,
): ExportAudit {
  const orphans: string[] = [];
  const duplicates: string[] = [];
  const liveUids = new Set(claims.map((c) => c.metadata.uid));
  const owned = new Set<string>();

  for (const pv of volumes) {
    const claimRef = pv.spec?.claimRef ?? {};
    if (liveUids.has(claimRef.uid)) {
      owned.add(directoryOf(pv));
    } else {
      orphans.push(`PV ${pv.metadata.name} (${pv.status?.phase ?? 'no phase'}) of claim ${claimRef.name ?? '?'}, which is gone`);
    }
  }
  for (const c of claims) {
    const own = `${ns}/${c.metadata.name}`;
    owned.add(own);
    const pvs = volumes.filter((pv) => pv.spec?.claimRef?.uid === c.metadata.uid);
    if (pvs.length > 1) duplicates.push(`claim ${c.metadata.name} has ${pvs.length} PVs: ${pvs.map((pv) => pv.metadata.name).join(', ')}`);
    const dirs = new Set([...pvs.map(directoryOf), ...(directories.includes(own) ? [own] : [])]);
    if (dirs.size > 1) duplicates.push(`claim ${c.metadata.name} has ${dirs.size} directories: ${[...dirs].join(', ')}`);
  }
  for (const dir of directories) {
    if (!owned.has(dir)) orphans.push(`directory ${dir}`);
  }
  const pointedAt = new Map<string, string[]>();
  for (const pv of volumes) pointedAt.set(directoryOf(pv), [...(pointedAt.get(directoryOf(pv)) ?? []), pv.metadata.name]);
  for (const [dir, names] of pointedAt) {
    if (names.length > 1) duplicates.push(`directory ${dir} is used by ${names.length} PVs: ${names.join(', ')}`);
  }
  return { orphans, duplicates };
}
