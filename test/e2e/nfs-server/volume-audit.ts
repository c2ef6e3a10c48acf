/**
 * Everything the in-cluster server keeps of its volumes, read from outside it: the data
 * directory (records, images, mountpoints, export files, journal, archive), the mount table
 * of the server's mount namespace, the host's loop devices backed by files under the data
 * directory, and the export ids the running ganesha serves (asked over its D-Bus bus).
 * server-env.ts's `state()` lists names; this audit reads what the invariants of a crash burst
 * need besides (records, image sizes, which loop device backs which mount).
 * {@link auditProblems} compares that with the claims that should be live and the
 * ones that were deleted; it is pure, so a failure lists every difference at once.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { runCommand } from '../../../src/runtime/core/command';
import { parseMountInfo } from '../../../src/runtime/local/mountinfo';
import { ExportControl } from '../../../src/runtime/nfs-server/export-control';
import type { JournalNote, VolumeRecord } from '../../../src/runtime/nfs-server/volume-record';

/** A loop device and the file behind it, as `losetup --list` reports it. */
export interface LoopDevice {
  readonly name: string;
  /** The backing file; ends with ` (deleted)` when it was unlinked while attached. */
  readonly backFile: string;
}

export interface VolumeAudit {
  /** `volumes/<pv>` folders, with what each holds. */
  readonly volumes: ReadonlyMap<string, { readonly record?: VolumeRecord; readonly imageBytes?: number }>;
  /** Entries of `mounts/`. */
  readonly mountpoints: readonly string[];
  /** `<pv>` of each `exports.d/<pv>.conf`. */
  readonly exportFiles: readonly string[];
  /** Journal notes by volume name. */
  readonly notes: ReadonlyMap<string, JournalNote>;
  /** Entries of `archived/` and of `staging/`. */
  readonly archived: readonly string[];
  readonly staging: readonly string[];
  /** Mounts below `mounts/` in the server's mount namespace: volume name and source device. */
  readonly mounts: ReadonlyArray<{ readonly pv: string; readonly source: string }>;
  /** Loop devices whose backing file is under the data directory. */
  readonly loops: readonly LoopDevice[];
  /** Export ids ganesha serves (its pseudo root, 0, left out); undefined when it cannot be asked. */
  readonly servedExportIds?: readonly number[];
}

/** Loop devices of the host whose backing file is under `dir`. */
export function loopDevicesUnder(dir: string): LoopDevice[] {
  const out = execFileSync('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' }).trim();
  if (out === '') return [];
  const devices = (JSON.parse(out).loopdevices ?? []) as Array<{ 'name': string; 'back-file': string | null }>;
  const prefix = `${path.resolve(dir).replace(/\/$/, '')}/`;
  return devices
    .filter((d) => d['back-file']?.startsWith(prefix))
    .map((d) => ({ name: d.name, backFile: d['back-file']! }));
}

/** Reads the server's state; `serverPid` is a process in its mount namespace, `busSocket` ganesha's bus. */
export async function auditVolumes(dataDir: string, serverPid: number | undefined, busSocket: string): Promise<VolumeAudit> {
  const list = (sub: string) => (fs.existsSync(path.join(dataDir, sub)) ? fs.readdirSync(path.join(dataDir, sub)).sort() : []);
  const volumes = new Map<string, { record?: VolumeRecord; imageBytes?: number }>();
  for (const pv of list('volumes')) {
    const record = path.join(dataDir, 'volumes', pv, 'volume.json');
    const image = path.join(dataDir, 'volumes', pv, 'image');
    volumes.set(pv, {
      record: fs.existsSync(record) ? JSON.parse(fs.readFileSync(record, 'utf8')) : undefined,
      imageBytes: fs.existsSync(image) ? fs.statSync(image).size : undefined,
    });
  }
  const notes = new Map<string, JournalNote>();
  for (const name of list('journal')) notes.set(name.replace(/\.json$/, ''), JSON.parse(fs.readFileSync(path.join(dataDir, 'journal', name), 'utf8')));
  const mountsDir = `${path.join(dataDir, 'mounts')}/`;
  const mounts = serverPid === undefined ? [] : parseMountInfo(fs.readFileSync(`/proc/${serverPid}/mountinfo`, 'utf8'))
    .filter((m) => m.mountPoint.startsWith(mountsDir))
    .map((m) => ({ pv: m.mountPoint.slice(mountsDir.length), source: m.source }));
  let servedExportIds: number[] | undefined;
  try {
    servedExportIds = (await new ExportControl(`unix:path=${busSocket}`, runCommand).list()).filter((id) => id !== 0).sort((a, b) => a - b);
  } catch {
    servedExportIds = undefined;
  }
  return {
    volumes,
    mountpoints: list('mounts'),
    exportFiles: list('exports.d').map((f) => f.replace(/\.conf$/, '')),
    notes,
    archived: list('archived'),
    staging: list('staging'),
    mounts,
    loops: loopDevicesUnder(dataDir),
    servedExportIds,
  };
}

/** A live claim as the API server shows it, with what the test expects of it. */
export interface LiveClaim {
  readonly name: string;
  readonly uid: string;
  readonly phase?: string;
  readonly volumeName?: string;
  /** Image bytes its volume must have at least (its request, grown or not). */
  readonly minImageBytes: number;
  /** The size the test last asked for (`300Mi`): the claim's request, its status and its PV must all say it. */
  readonly expectedSize: string;
  readonly requested?: string;
  readonly capacity?: string;
}

/** A PV of the server's provisioner. */
export interface ServerPv {
  readonly name: string;
  readonly claimUid?: string;
  readonly capacity?: string;
}

/**
 * Every difference between the server's state and the burst's expected end: each live
 * claim Bound to exactly its own PV, with one image, record, mount (a loop device backed by
 * its image), export file and served export; nothing of a deleted claim (PV, volume folder,
 * mount, mountpoint, export file, loop device, archived image: onDelete is DELETE); no
 * other volume, loop device or export; journal and staging empty; export ids unique.
 */
export function auditProblems(
  state: VolumeAudit,
  live: readonly LiveClaim[],
  deletedUids: readonly string[],
  pvs: readonly ServerPv[],
  dataDir: string,
): string[] {
  const problems: string[] = [];
  const expected = new Set(live.map((c) => `pvc-${c.uid}`));
  const volumesDir = path.join(path.resolve(dataDir), 'volumes');

  for (const claim of live) {
    const pv = `pvc-${claim.uid}`;
    if (claim.phase !== 'Bound' || claim.volumeName !== pv) problems.push(`claim ${claim.name} is ${claim.phase} on ${claim.volumeName ?? 'no volume'}, expected Bound on ${pv}`);
    const own = pvs.filter((p) => p.claimUid === claim.uid);
    if (own.length !== 1 || own[0].name !== pv) problems.push(`claim ${claim.name} has PVs [${own.map((p) => p.name).join(', ')}], expected exactly ${pv}`);
    if (claim.requested !== claim.expectedSize || claim.capacity !== claim.expectedSize || own[0]?.capacity !== claim.expectedSize) {
      problems.push(`claim ${claim.name} asks ${claim.requested}, has ${claim.capacity}, its PV ${own[0]?.capacity}; expected ${claim.expectedSize} for all three`);
    }
    const volume = state.volumes.get(pv);
    if (!volume?.record) problems.push(`claim ${claim.name}: volume ${pv} has no record`);
    if (volume?.imageBytes === undefined) problems.push(`claim ${claim.name}: volume ${pv} has no image`);
    else if (volume.record && volume.imageBytes !== volume.record.sizeBytes) problems.push(`claim ${claim.name}: image of ${pv} is ${volume.imageBytes} bytes, its record says ${volume.record.sizeBytes}`);
    if (volume?.imageBytes !== undefined && volume.imageBytes < claim.minImageBytes) problems.push(`claim ${claim.name}: image of ${pv} is ${volume.imageBytes} bytes, under the ${claim.minImageBytes} its request needs`);
    const mounts = state.mounts.filter((m) => m.pv === pv);
    if (mounts.length !== 1) problems.push(`claim ${claim.name}: ${mounts.length} mounts on mounts/${pv}, expected 1`);
    const image = path.join(volumesDir, pv, 'image');
    const loops = state.loops.filter((l) => l.backFile === image);
    if (loops.length !== 1) problems.push(`claim ${claim.name}: ${loops.length} loop devices backed by its image, expected 1`);
    else if (mounts.length === 1 && mounts[0].source !== loops[0].name) problems.push(`claim ${claim.name}: mounted from ${mounts[0].source}, but its image is on ${loops[0].name}`);
    if (!state.exportFiles.includes(pv)) problems.push(`claim ${claim.name}: no export file for ${pv}`);
    if (volume?.record && state.servedExportIds && !state.servedExportIds.includes(volume.record.exportId)) {
      problems.push(`claim ${claim.name}: ganesha does not serve export ${volume.record.exportId} of ${pv}`);
    }
  }

  for (const uid of deletedUids) {
    const pv = `pvc-${uid}`;
    const left = [
      pvs.some((p) => p.name === pv || p.claimUid === uid) && 'PV',
      state.volumes.has(pv) && 'volume folder',
      state.mountpoints.includes(pv) && 'mountpoint',
      state.mounts.some((m) => m.pv === pv) && 'mount',
      state.exportFiles.includes(pv) && 'export file',
      state.loops.some((l) => l.backFile.startsWith(path.join(volumesDir, pv, 'image'))) && 'loop device',
      state.archived.some((a) => a.startsWith(pv)) && 'archived image (onDelete is DELETE)',
      state.notes.has(pv) && 'journal note',
    ].filter((x): x is string => typeof x === 'string');
    if (left.length > 0) problems.push(`deleted claim ${uid}: ${left.join(', ')} left`);
  }

  const deletedPvs = new Set(deletedUids.map((uid) => `pvc-${uid}`));
  const unknown = (names: readonly string[]) => names.filter((n) => !expected.has(n) && !deletedPvs.has(n));
  for (const pv of unknown([...state.volumes.keys()])) problems.push(`volume folder ${pv} belongs to no claim of the burst`);
  for (const pv of unknown(state.mountpoints)) problems.push(`mountpoint ${pv} belongs to no claim of the burst`);
  for (const pv of unknown(state.exportFiles)) problems.push(`export file ${pv}.conf belongs to no claim of the burst`);
  for (const pv of unknown(pvs.map((p) => p.name))) problems.push(`PV ${pv} belongs to no claim of the burst`);
  for (const loop of state.loops) {
    const owner = path.relative(volumesDir, loop.backFile).split(path.sep)[0];
    if (!expected.has(owner) || loop.backFile !== path.join(volumesDir, owner, 'image')) problems.push(`loop device ${loop.name} is backed by ${loop.backFile}, no live claim's image`);
  }
  const ids = live.map((c) => state.volumes.get(`pvc-${c.uid}`)?.record?.exportId).filter((id): id is number => id !== undefined);
  if (new Set(ids).size !== ids.length) problems.push(`export ids are not unique: ${ids.join(', ')}`);
  if (state.servedExportIds === undefined) {problems.push('ganesha could not be asked for its exports over D-Bus');} else if (JSON.stringify([...state.servedExportIds].sort((a, b) => a - b)) !== JSON.stringify([...ids].sort((a, b) => a - b))) {
    problems.push(`ganesha serves exports [${state.servedExportIds.join(', ')}], the live claims' are [${[...ids].sort((a, b) => a - b).join(', ')}]`);
  }
  if (state.notes.size > 0) problems.push(`journal not empty: ${[...state.notes].map(([pv, n]) => `${n.op} ${pv}`).join(', ')}`);
  if (state.staging.length > 0) problems.push(`staging not empty: ${state.staging.join(', ')}`);
  if (state.archived.length > 0) problems.push(`archived/ holds ${state.archived.join(', ')} (every class here deletes)`);
  return problems;
}
