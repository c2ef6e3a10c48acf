/**
 * docs/migrate-from-nfs-subdir.md, held to what it says: a PV that nfs-subdir-external-provisioner
 * made is left alone by the controller (no resize, no delete, no event) until it is adopted
 * with the annotations the guide gives; an adopted PV is resized and, once released, archived
 * (or deleted) like one of our own; an adoption whose directory does not match the PV's NFS
 * path is refused without touching the export.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { claim, IDENTITY, PROVISIONER, storageClass } from './fixtures';
import { K8S, PV_ANNOTATIONS } from '../../../src/contract/keys';
import { decideDelete } from '../../../src/runtime/nfs/delete';
import { parseNfsConfig } from '../../../src/runtime/nfs/flags';
import { decideResize } from '../../../src/runtime/nfs/resize';
import { runNfs } from '../../../src/runtime/nfs/run';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { until } from '../core/until';
import { MemoryApi } from '../support/memory-api';

/** The provisioner name the nfs-subdir Helm chart gives by default. */
const SUBDIR = 'cluster.local/nfs-subdir-external-provisioner';
/** The class the guide replaces: same name, now served by this controller. */
const CLASS = 'nfs-client';

/** A bound claim and its PV as nfs-subdir made them: directory `<namespace>-<claim>-<pv>` under the export. */
function subdirPair(namespace: string, name: string): { claim: V1PersistentVolumeClaim; volume: V1PersistentVolume; directory: string } {
  const uid = `uid-${name}`;
  const pvName = `pvc-${uid}`;
  const directory = `${namespace}-${name}-${pvName}`;
  const bound = claim({ uid, name, namespace, className: CLASS, provisioner: SUBDIR });
  bound.spec = { ...bound.spec, volumeName: pvName };
  bound.status = { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteMany'] };
  const volume: V1PersistentVolume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: pvName, uid: `pv-${uid}`, annotations: { [K8S.provisionedBy]: SUBDIR } },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteMany'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: CLASS,
      nfs: { server: IDENTITY.server, path: `${IDENTITY.exportPath}/${directory}` },
      claimRef: { kind: 'PersistentVolumeClaim', namespace, name, uid },
    },
    status: { phase: 'Bound' },
  };
  return { claim: bound, volume, directory };
}

/**
 * What the guide's `kubectl annotate` does: the provisioner name of this controller, the
 * directory (the PV's NFS path without the export path) and the onDelete policy.
 */
function adopt(volume: V1PersistentVolume, onDelete: string): V1PersistentVolume {
  const directory = volume.spec!.nfs!.path.slice(`${IDENTITY.exportPath}/`.length);
  return {
    ...volume,
    metadata: {
      ...volume.metadata,
      annotations: {
        ...volume.metadata?.annotations,
        [K8S.provisionedBy]: PROVISIONER,
        [PV_ANNOTATIONS.directory]: directory,
        [PV_ANNOTATIONS.onDelete]: onDelete,
      },
    },
  };
}

describe('decisions', () => {
  const { claim: bound, volume } = subdirPair('team', 'db');
  const grown = { ...bound, spec: { ...bound.spec, resources: { requests: { storage: '2Gi' } } } };
  const released = { ...volume, status: { phase: 'Released' } };

  test('a PV nfs-subdir made is neither resized nor deleted', () => {
    expect(decideResize({ claim: grown, volume, provisionerName: PROVISIONER, now: new Date() }))
      .toEqual({ action: 'skip', reason: 'the volume was not provisioned by us' });
    expect(decideDelete(released, IDENTITY)).toEqual({ action: 'skip', reason: 'not provisioned by us' });
  });

  test('adopted, it is resized and deleted as the guide says', () => {
    expect(decideResize({ claim: grown, volume: adopt(volume, 'ARCHIVE'), provisionerName: PROVISIONER, now: new Date() }).action).toBe('resize');
    expect(decideDelete(adopt(released, 'ARCHIVE'), IDENTITY))
      .toEqual({ action: 'delete', relativePath: 'team-db-pvc-uid-db', onDelete: 'ARCHIVE' });
  });

  test('with only the provisioner name changed, it is resized but its delete is refused', () => {
    const named = { ...volume, metadata: { ...volume.metadata, annotations: { [K8S.provisionedBy]: PROVISIONER } } };
    expect(decideResize({ claim: grown, volume: named, provisionerName: PROVISIONER, now: new Date() }).action).toBe('resize');
    const decision = decideDelete({ ...named, status: { phase: 'Released' } }, IDENTITY);
    expect(decision).toMatchObject({ action: 'fail', message: expect.stringContaining(`annotation ${PV_ANNOTATIONS.directory} is missing`) });
  });

  test('adopted with a directory that is not its NFS path, its delete is refused and nothing is touched', () => {
    const wrong = adopt(released, 'DELETE');
    wrong.metadata!.annotations![PV_ANNOTATIONS.directory] = 'team-other-pvc-uid-other';
    const decision = decideDelete(wrong, IDENTITY);
    expect(decision.action).toBe('fail');
    expect(decision).toMatchObject({ message: expect.stringContaining('does not match its recorded directory') });
  });
});

describe('the nfs command', () => {
  let base: string;
  let cluster: MemoryApi;
  let stop: (signal: string) => void;
  let exit: Promise<number>;

  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'migrate-'));
    cluster = new MemoryApi();
    // The guide's first step: the old class is replaced by one of the same name that this controller serves.
    cluster.classes.put(storageClass({ name: CLASS, allowVolumeExpansion: true, parameters: { onDelete: 'ARCHIVE' } }));
    const config = parseNfsConfig([
      `--provisioner-name=${PROVISIONER}`, `--nfs-server=${IDENTITY.server}`, `--nfs-path=${IDENTITY.exportPath}`,
      `--root=${base}`, '--http-port=0', '--leader-elect=false',
    ], {});
    exit = runNfs(config, new JsonLogger(() => undefined), {
      shutdownSignal: new Promise((resolve) => { stop = resolve; }),
      connect: () => cluster.clusterPorts(),
    });
  });

  afterEach(async () => {
    stop('SIGTERM');
    await expect(exit).resolves.toBe(0);
    fs.rmSync(base, { recursive: true, force: true });
  });

  /** Puts a claim, its PV and its directory (with one file) in place, as nfs-subdir left them. */
  function existing(name: string, adopted: boolean): { pvName: string; directory: string } {
    const pair = subdirPair('team', name);
    fs.mkdirSync(path.join(base, pair.directory));
    fs.writeFileSync(path.join(base, pair.directory, 'data'), name);
    cluster.claims.put(pair.claim);
    cluster.volumes.put(adopted ? adopt(pair.volume, 'ARCHIVE') : pair.volume);
    return { pvName: pair.volume.metadata!.name!, directory: pair.directory };
  }

  function edit(name: string, size: string): void {
    const c = cluster.claims.get(name, 'team')!;
    cluster.claims.put({ ...c, spec: { ...c.spec, resources: { requests: { storage: size } } } });
  }

  function release(pvName: string, claimName: string): void {
    cluster.claims.remove(claimName, 'team');
    cluster.volumes.put({ ...cluster.volumes.get(pvName)!, status: { phase: 'Released' } });
  }

  const eventsAbout = (...names: string[]) => cluster.events.filter((e) => names.includes(e.involvedObject.name ?? ''));

  test('the adopted volume is resized, then archived on release; the other is left as it was', async () => {
    const left = existing('legacy', false);
    const taken = existing('app', true);

    // Each change goes to the one left alone first: had it been queued, it would have been handled first.
    edit('legacy', '2Gi');
    edit('app', '2Gi');
    await until(() => cluster.claims.get('app', 'team')?.status?.capacity?.storage === '2Gi');
    expect(cluster.volumes.get(taken.pvName)?.spec?.capacity).toEqual({ storage: '2Gi' });
    expect(cluster.claims.get('legacy', 'team')?.status?.capacity).toEqual({ storage: '1Gi' });
    expect(cluster.volumes.get(left.pvName)?.spec?.capacity).toEqual({ storage: '1Gi' });

    release(left.pvName, 'legacy');
    const leftVersion = cluster.volumes.get(left.pvName)?.metadata?.resourceVersion;
    release(taken.pvName, 'app');
    await until(() => !cluster.volumes.has(taken.pvName));
    expect(fs.readFileSync(path.join(base, `archived-${taken.directory}`, 'data'), 'utf8')).toBe('app');
    expect(cluster.events.map((e) => e.reason)).toContain('DirectoryArchived');

    expect(cluster.volumes.get(left.pvName)?.metadata?.resourceVersion).toBe(leftVersion);
    expect(fs.readFileSync(path.join(base, left.directory, 'data'), 'utf8')).toBe('legacy');
    expect(eventsAbout('legacy', left.pvName)).toEqual([]);
    expect(fs.readdirSync(base).filter((f) => !f.startsWith('.')).sort()).toEqual([`archived-${taken.directory}`, left.directory].sort());
  });
});
