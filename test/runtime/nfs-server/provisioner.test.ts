/**
 * The in-cluster server's provisioner against an in-memory API and an in-memory volume
 * store: which claims become volumes, the PV it writes (cluster IP, pseudo path, the
 * recorded onDelete), deletes per that record, crash recovery and the orphan sweep. The
 * volume manager itself runs for real (loop images, XFS, ganesha) in server.test.ts.
 */
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { K8S, PV_ANNOTATIONS } from '../../../src/contract/keys';
import type { OnDeleteValue } from '../../../src/contract/values';
import { claimKey, ReportedError, volumeKey } from '../../../src/runtime/nfs/controller';
import { PSEUDO_ROOT, ServerProvisioner, ServerVolumes, SWEEP_ORPHANS_KEY } from '../../../src/runtime/nfs-server/provisioner';
import { MIB, XFS_LOG_BYTES, imageRequestForClaim } from '../../../src/runtime/nfs-server/sizes';
import type { NewVolume } from '../../../src/runtime/nfs-server/volume-manager';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { Metrics } from '../../../src/runtime/ops/metrics';
import { claim, PROVISIONER, storageClass } from '../nfs/fixtures';
import { MemoryApi } from '../support/memory-api';

const CLUSTER_IP = '10.96.0.20';

/** The volume manager's contract, kept in memory: what exists and what each removal did. */
class MemoryVolumes implements ServerVolumes {
  readonly live = new Map<string, NewVolume>();
  readonly removed: Array<{ pv: string; onDelete: OnDeleteValue }> = [];
  failCreate?: Error;

  requestForClaim(claimBytes: number): number {
    return imageRequestForClaim(claimBytes);
  }

  async create(pv: string, spec: NewVolume): Promise<unknown> {
    if (this.failCreate) throw this.failCreate;
    if (!this.live.has(pv)) this.live.set(pv, spec);
    return this.live.get(pv);
  }

  async remove(pv: string): Promise<'removed' | 'missing'> {
    const spec = this.live.get(pv);
    if (!spec) return 'missing';
    this.live.delete(pv);
    this.removed.push({ pv, onDelete: spec.onDelete });
    return 'removed';
  }

  async list(): Promise<string[]> {
    return [...this.live.keys()].sort();
  }
}

let cluster: MemoryApi;
let store: MemoryVolumes;
let events: Array<{ kind: string; name: string; type: string; reason: string; message: string }>;

function provisioner(api = cluster.clusterPorts().volumeWriter()): ServerProvisioner {
  return new ServerProvisioner({
    identity: { provisionerName: PROVISIONER, server: CLUSTER_IP, exportPath: PSEUDO_ROOT },
    claims: cluster.claims.lookup(),
    volumes: cluster.volumes.lookup(),
    classes: cluster.classes.lookup(),
    api,
    store,
    events: { emit: (ref, type, reason, message) => events.push({ kind: ref.kind, name: ref.name, type, reason, message }) },
    metrics: new Metrics(),
    log: new JsonLogger(() => undefined),
  });
}

beforeEach(() => {
  cluster = new MemoryApi();
  store = new MemoryVolumes();
  events = [];
  cluster.classes.put(storageClass({ parameters: { onDelete: 'DELETE' } }));
});

describe('provisioning', () => {
  test('a 300Mi claim becomes its own volume, served at <cluster IP>:/<pv>, with the filesystem overhead added to the image', async () => {
    const c = cluster.claims.put(claim({ uid: 'u1', spec: { resources: { requests: { storage: '300Mi' } } } }));
    const p = provisioner();
    await p.handle(p.claimChanged(c)!);

    const pv = cluster.volumes.get('pvc-u1')!;
    expect(pv.spec?.nfs).toEqual({ server: CLUSTER_IP, path: '/pvc-u1', readOnly: false });
    expect(pv.spec?.capacity).toEqual({ storage: '300Mi' });
    expect(pv.spec?.claimRef).toMatchObject({ name: 'data', namespace: 'team-a', uid: 'u1' });
    expect(pv.metadata?.annotations).toMatchObject({ [K8S.provisionedBy]: PROVISIONER, [PV_ANNOTATIONS.onDelete]: 'DELETE', [PV_ANNOTATIONS.directory]: 'pvc-u1' });
    expect(store.live.get('pvc-u1')).toMatchObject({ requestBytes: imageRequestForClaim(300 * MIB), onDelete: 'DELETE' });
    expect(events.map((e) => e.reason)).toEqual(['Provisioning', 'ProvisioningSucceeded']);

    // Handled again (a resync before the cache shows the PV): nothing more.
    await p.handle(claimKey('team-a', 'data'));
    expect(store.live.size).toBe(1);
    expect(events).toHaveLength(2);
  });

  test('the image holds the claim plus the XFS log, so the filesystem is at least the claim', () => {
    expect(imageRequestForClaim(300 * MIB)).toBe(300 * MIB + XFS_LOG_BYTES + Math.ceil(300 * MIB / 2048));
    // A large claim: the log grows to ~1/2048 of the filesystem, and so does the overhead.
    expect(imageRequestForClaim(1024 * 1024 * MIB) - 1024 * 1024 * MIB).toBe(XFS_LOG_BYTES + 512 * MIB);
  });

  test('claims of other provisioners and classes of others are not touched', async () => {
    const foreign = cluster.claims.put(claim({ uid: 'u2', provisioner: 'example.com/other' }));
    const p = provisioner();
    expect(p.claimChanged(foreign)).toBeUndefined();
    cluster.classes.put(storageClass({ name: 'theirs', provisioner: 'example.com/other' }));
    cluster.claims.put(claim({ uid: 'u3', name: 'x', className: 'theirs' }));
    await p.handle(claimKey('team-a', 'x'));
    expect(store.live.size).toBe(0);
    expect(cluster.volumes.all()).toHaveLength(0);
  });

  test('a claim that cannot be provisioned is told why and nothing is made', async () => {
    cluster.claims.put(claim({ uid: 'u4', spec: { volumeMode: 'Block' } }));
    await expect(provisioner().handle(claimKey('team-a', 'data'))).rejects.toBeInstanceOf(ReportedError);
    expect(events).toEqual([expect.objectContaining({ kind: 'PersistentVolumeClaim', type: 'Warning', reason: 'ProvisioningFailed', message: expect.stringContaining('volumeMode: Block') })]);
    expect(store.live.size).toBe(0);
  });

  test('a volume the store cannot make: ProvisioningFailed naming the cause, no PV', async () => {
    cluster.claims.put(claim({ uid: 'u5' }));
    store.failCreate = new Error('mkfs.xfs: No space left on device');
    await expect(provisioner().handle(claimKey('team-a', 'data'))).rejects.toThrow('making the volume failed: mkfs.xfs: No space left on device');
    expect(cluster.volumes.all()).toHaveLength(0);
    expect(events.at(-1)).toMatchObject({ type: 'Warning', reason: 'ProvisioningFailed' });
  });

  test('a PV create that failed is retried with the same volume', async () => {
    cluster.claims.put(claim({ uid: 'u6' }));
    const writer = cluster.clusterPorts().volumeWriter();
    const failing = { ...writer, createVolume: async () => { throw new Error('connection refused'); } };
    await expect(provisioner(failing).handle(claimKey('team-a', 'data'))).rejects.toThrow('creating PersistentVolume pvc-u6 failed: connection refused');
    expect([...store.live.keys()]).toEqual(['pvc-u6']);

    await provisioner().handle(claimKey('team-a', 'data'));
    expect(cluster.volumes.get('pvc-u6')).toBeDefined();
    expect([...store.live.keys()]).toEqual(['pvc-u6']);
  });
});

describe('deleting', () => {
  async function provisionedAndReleased(onDelete: OnDeleteValue): Promise<V1PersistentVolume> {
    cluster.classes.put(storageClass({ parameters: { onDelete } }));
    const c = cluster.claims.put(claim({ uid: 'u7' }));
    await provisioner().handle(claimKey('team-a', 'data'));
    cluster.claims.remove(c.metadata!.name!, c.metadata!.namespace);
    cluster.setPhase('pvc-u7', 'Released');
    return cluster.volumes.get('pvc-u7')!;
  }

  test.each(['DELETE', 'ARCHIVE', 'RETAIN'] as const)('a Released PV is removed from the server per the onDelete %s it recorded, then deleted', async (onDelete) => {
    const pv = await provisionedAndReleased(onDelete);
    // The class changing later does not matter: the PV's record does.
    cluster.classes.put(storageClass({ parameters: { onDelete: 'RETAIN' } }));
    const p = provisioner();
    await p.handle(p.volumeChanged(pv)!);
    expect(store.removed).toEqual([{ pv: 'pvc-u7', onDelete }]);
    expect(cluster.volumes.get('pvc-u7')).toBeUndefined();
    const removed = events.filter((e) => e.reason === 'VolumeRemoved');
    // Where kept data is goes to the PV as an Event; a plain deletion is only logged and counted.
    if (onDelete === 'DELETE') expect(removed).toEqual([]);
    else expect(removed).toEqual([expect.objectContaining({ kind: 'PersistentVolume', message: expect.stringContaining(`onDelete ${onDelete}`) })]);
  });

  test('a PV whose NFS source does not match its record is refused and nothing is removed', async () => {
    const pv = await provisionedAndReleased('DELETE');
    cluster.volumes.put({ ...pv, spec: { ...pv.spec, nfs: { server: CLUSTER_IP, path: '/pvc-other' } } });
    await expect(provisioner().handle(volumeKey('pvc-u7'))).rejects.toBeInstanceOf(ReportedError);
    expect(store.removed).toEqual([]);
    expect(cluster.volumes.get('pvc-u7')).toBeDefined();
    expect(events.at(-1)).toMatchObject({ type: 'Warning', reason: 'VolumeFailedDelete' });
  });

  test('a Bound PV or one with reclaim policy Retain is left alone', async () => {
    const pv = await provisionedAndReleased('DELETE');
    cluster.volumes.put({ ...pv, spec: { ...pv.spec, persistentVolumeReclaimPolicy: 'Retain' } });
    await provisioner().handle(volumeKey('pvc-u7'));
    cluster.setPhase('pvc-u7', 'Bound');
    await provisioner().handle(volumeKey('pvc-u7'));
    expect(store.removed).toEqual([]);
  });
});

describe('the orphan sweep', () => {
  test('removes volumes no claim and no PV owns, keeps the rest', async () => {
    cluster.claims.put(claim({ uid: 'kept-claim' }));
    await provisioner().handle(claimKey('team-a', 'data'));
    await store.create('pvc-waiting', { requestBytes: 1, onDelete: 'DELETE', uid: 0, gid: 0, mode: 0o777 });
    cluster.claims.put(claim({ uid: 'waiting', name: 'waiting' }));
    await store.create('pvc-gone', { requestBytes: 1, onDelete: 'DELETE', uid: 0, gid: 0, mode: 0o777 });

    const p = provisioner();
    expect(p.allKeys()[0]).toBe(SWEEP_ORPHANS_KEY);
    await p.handle(SWEEP_ORPHANS_KEY);
    expect(store.removed.map((r) => r.pv)).toEqual(['pvc-gone']);
    expect(await store.list()).toEqual(['pvc-kept-claim', 'pvc-waiting']);
  });

  test('keeps a volume whose claim reached the cache while the volumes were being listed', async () => {
    const p = provisioner();
    const list = store.list.bind(store);
    // The claim arrives and its create starts between the sweep's start and the listing's answer.
    store.list = async () => {
      cluster.claims.put(claim({ uid: 'late', name: 'late' }));
      await store.create('pvc-late', { requestBytes: 1, onDelete: 'DELETE', uid: 0, gid: 0, mode: 0o777 });
      return list();
    };
    await p.handle(SWEEP_ORPHANS_KEY);
    expect(store.removed).toEqual([]);
    expect(await list()).toEqual(['pvc-late']);
  });
});
