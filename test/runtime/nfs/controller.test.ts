import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { claim, IDENTITY, storageClass, volume } from './fixtures';
import { PV_ANNOTATIONS } from '../../../src/contract/keys';
import { WorkQueue } from '../../../src/runtime/core/queue';
import { claimKey, NfsController, NfsControllerDeps, ReportedError, SWEEP_KEY, volumeKey } from '../../../src/runtime/nfs/controller';
import { FsError, NfsRootFs } from '../../../src/runtime/nfs/fs';
import { UNFINISHED_DIR } from '../../../src/runtime/nfs/journal';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { Metrics } from '../../../src/runtime/ops/metrics';
import type { EventType, ObjectRef } from '../../../src/runtime/ports/events';
import { until } from '../core/until';
import { MemoryApi, MemoryStore } from '../support/memory-api';

interface Recorded {
  ref: ObjectRef;
  type: EventType;
  reason: string;
  message: string;
}

let base: string;
let root: string;
let outside: string;
let claims: MemoryStore<V1PersistentVolumeClaim>;
let volumes: MemoryStore<V1PersistentVolume>;
let classes: MemoryStore<V1StorageClass>;
let created: V1PersistentVolume[];
let deleted: Array<{ name: string; uid?: string }>;
let events: Recorded[];
let metrics: Metrics;
let api: {
  createFails?: Error; createResult?: 'created' | 'exists'; deleteFails?: Error; latencyMs?: number; gate?: Promise<void>; active: number; peak: number;
};
let deps: NfsControllerDeps;
let controller: NfsController;

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-ctl-'));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  const cluster = new MemoryApi();
  claims = cluster.claims;
  volumes = cluster.volumes;
  classes = cluster.classes;
  created = [];
  deleted = [];
  events = [];
  metrics = new Metrics();
  api = { active: 0, peak: 0 };
  classes.put(storageClass());
  const track = async <T>(fn: () => T): Promise<T> => {
    api.active++;
    api.peak = Math.max(api.peak, api.active);
    try {
      if (api.latencyMs) await new Promise((r) => setTimeout(r, api.latencyMs));
      await api.gate;
      return fn();
    } finally {
      api.active--;
    }
  };
  deps = {
    identity: IDENTITY,
    root,
    claims: claims.lookup(),
    volumes: volumes.lookup(),
    classes: classes.lookup(),
    api: {
      createVolume: (pv) => track(() => {
        if (api.createFails) throw api.createFails;
        created.push(pv);
        return api.createResult ?? 'created';
      }),
      deleteVolume: (name, uid) => track(() => {
        if (api.deleteFails) throw api.deleteFails;
        deleted.push({ name, uid });
        return 'deleted' as const;
      }),
    },
    fs: new NfsRootFs(root),
    events: { emit: (ref, type, reason, message) => events.push({ ref, type, reason, message }) },
    metrics,
    log: new JsonLogger((line) => logLines.push(JSON.parse(line))),
  };
  logLines = [];
  controller = new NfsController(deps);
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

let logLines: Array<Record<string, unknown>>;
const reasons = () => events.map((e) => e.reason);
const mode = (p: string) => fs.statSync(p).mode % 0o10000;

async function operations(kind: string, result: string): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'cdk8s_storage_operations_total');
  const value = metric?.values.find((v) => v.labels.kind === kind && v.labels.result === result);
  return value?.value ?? 0;
}

/** Runs a claim through the controller the way the queue would. */
async function sync(c: V1PersistentVolumeClaim): Promise<void> {
  claims.put(c);
  await controller.handle(claimKey(c.metadata!.namespace!, c.metadata!.name!));
}

/** What the informer does when our PV shows up. */
function observe(pv: V1PersistentVolume): void {
  volumes.put(pv);
  controller.volumeChanged(pv);
}

describe('provisioning', () => {
  test('creates the directory with the class mode, then the PV, and reports both steps', async () => {
    classes.put(storageClass({ parameters: { directoryMode: '0770' } }));
    await sync(claim({ uid: 'u1', namespace: 'ns', name: 'db' }));
    const dir = path.join(root, 'ns-db-pvc-u1');
    expect(mode(dir)).toBe(0o770);
    expect(created).toHaveLength(1);
    expect(created[0].metadata?.name).toBe('pvc-u1');
    expect(created[0].spec?.nfs).toEqual({ server: '10.0.0.5', path: '/exports/k8s/ns-db-pvc-u1', readOnly: false });
    expect(created[0].metadata?.annotations?.[PV_ANNOTATIONS.directory]).toBe('ns-db-pvc-u1');
    expect(events.map((e) => [e.ref.kind, e.type, e.reason])).toEqual([
      ['PersistentVolumeClaim', 'Normal', 'ProvisioningSucceeded'],
    ]);
    expect(events[0].message).toBe('Successfully provisioned volume pvc-u1');
    expect(await operations('provision', 'succeeded')).toBe(1);
  });

  test('an attempt still running after announceAfterMs is announced with Provisioning first', async () => {
    controller = new NfsController({ ...deps, announceAfterMs: 0 });
    let open!: () => void;
    api.gate = new Promise((resolve) => { open = resolve; });
    const done = sync(claim({ uid: 'u1', namespace: 'ns', name: 'db' }));
    await until(() => events.length > 0);
    expect(reasons()).toEqual(['Provisioning']);
    expect(events[0].message).toBe('External provisioner is provisioning volume for claim "ns/db"');
    open();
    await done;
    expect(reasons()).toEqual(['Provisioning', 'ProvisioningSucceeded']);
  });

  test('a claim that is not ours is left alone without events', async () => {
    await sync(claim({ provisioner: 'other.io/x' }));
    expect(created).toEqual([]);
    expect(events).toEqual([]);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('crash after mkdir, before the PV: the directory is reused, not duplicated', async () => {
    // What a killed run leaves: its note, then the directory.
    await new NfsRootFs(root).recordUnfinished('pvc-u2', 'ns-db-pvc-u2');
    fs.mkdirSync(path.join(root, 'ns-db-pvc-u2'));
    await sync(claim({ uid: 'u2', namespace: 'ns', name: 'db' }));
    expect(fs.readdirSync(root)).toEqual(['ns-db-pvc-u2']);
    expect(created).toHaveLength(1);
    expect(events[0].message).toContain('reusing the directory');
  });

  test('crash after the PV was created: nothing is done again', async () => {
    observe(volume('pvc-u3', 'ns-db-pvc-u3', 'DELETE', 'Available'));
    await sync(claim({ uid: 'u3', namespace: 'ns', name: 'db' }));
    expect(created).toEqual([]);
    expect(events).toEqual([]);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('a re-sync before the cache shows the new PV does not provision twice', async () => {
    const c = claim({ uid: 'u4' });
    await sync(c);
    await sync(c);
    expect(created).toHaveLength(1);
    expect(reasons()).toEqual(['ProvisioningSucceeded']);
  });

  test('a PV that already exists on the server (409) counts as success', async () => {
    api.createResult = 'exists';
    await sync(claim());
    expect(reasons()).toEqual(['ProvisioningSucceeded']);
  });

  test('an API failure is reported, keeps the directory, and the retry reuses it', async () => {
    api.createFails = Object.assign(new Error('etcd timeout'), { code: 500 });
    const c = claim({ uid: 'u5', namespace: 'ns', name: 'db' });
    await expect(sync(c)).rejects.toBeInstanceOf(ReportedError);
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'ProvisioningFailed', message: 'cannot create PersistentVolume pvc-u5: etcd timeout' });
    expect(fs.existsSync(path.join(root, 'ns-db-pvc-u5'))).toBe(true);
    expect(await operations('provision', 'failed')).toBe(1);

    api.createFails = undefined;
    await sync(c);
    expect(created).toHaveLength(1);
    expect(fs.readdirSync(root)).toEqual(['ns-db-pvc-u5']);
  });

  test('a claim deleted before its PV was made leaves no directory behind', async () => {
    api.createFails = new Error('down');
    const c = claim({ uid: 'u6', namespace: 'ns', name: 'db' });
    await expect(sync(c)).rejects.toThrow();
    claims.remove(c.metadata!.name!, c.metadata!.namespace);
    expect(controller.claimRemoved(c)).toBe(claimKey('ns', 'db'));
    await controller.handle(claimKey('ns', 'db'));
    expect(fs.readdirSync(root)).toEqual([]);
    expect(controller.index.get('pvc-u6')).toBeUndefined();
  });

  describe('ensureDirectory fails after it made the directory (chmod refused)', () => {
    // As root, chmod on a directory just made cannot be made to fail on a real filesystem,
    // so the failure is injected after the real mkdir: the state is the one EPERM leaves.
    class ChmodRefused extends NfsRootFs {
      failures = 1;
      async ensureDirectory(relativePath: string, dirMode: number) {
        const made = await super.ensureDirectory(relativePath, dirMode);
        if (this.failures-- <= 0) return made;
        throw new FsError('permission', `permission denied writing ${relativePath} (EPERM)`, 'EPERM');
      }
    }
    let chmodRefused: ChmodRefused;
    beforeEach(() => {
      chmodRefused = new ChmodRefused(root);
      (controller as unknown as { deps: { fs: NfsRootFs } }).deps.fs = chmodRefused;
    });

    test('the note survives and the retry reuses the directory', async () => {
      const c = claim({ uid: 'u7', namespace: 'ns', name: 'db' });
      await expect(sync(c)).rejects.toBeInstanceOf(ReportedError);
      expect(fs.readdirSync(root).sort()).toEqual([UNFINISHED_DIR, 'ns-db-pvc-u7'].sort());
      expect((await chmodRefused.listUnfinished()).map((n) => n.pvName)).toEqual(['pvc-u7']);

      await sync(c);
      expect(created).toHaveLength(1);
      expect(events.at(-1)?.message).toContain('reusing the directory an earlier attempt created');
      expect(fs.readdirSync(root)).toEqual(['ns-db-pvc-u7']);
    });

    test('a claim deleted after the failure has its directory removed', async () => {
      const c = claim({ uid: 'u8', namespace: 'ns', name: 'db' });
      await expect(sync(c)).rejects.toBeInstanceOf(ReportedError);
      claims.remove(c.metadata!.name!, c.metadata!.namespace);
      expect(controller.claimRemoved(c)).toBe(claimKey('ns', 'db'));
      await controller.handle(claimKey('ns', 'db'));
      expect(fs.readdirSync(root)).toEqual([]);
      expect(controller.index.get('pvc-u8')).toBeUndefined();
    });

    test('a controller restarted after the failure reuses the directory too', async () => {
      const c = claim({ uid: 'u9', namespace: 'ns', name: 'db' });
      await expect(sync(c)).rejects.toBeInstanceOf(ReportedError);
      // A fresh run knows only the note on the export.
      (controller as unknown as { unfinished: Map<string, unknown> }).unfinished.clear();
      await sync(c);
      expect(created).toHaveLength(1);
      expect(fs.readdirSync(root)).toEqual(['ns-db-pvc-u9']);
    });
  });

  test('a missing StorageClass is reported on the claim', async () => {
    await expect(sync(claim({ className: 'gone' }))).rejects.toBeInstanceOf(ReportedError);
    expect(events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'ProvisioningFailed', message: expect.stringContaining('StorageClass "gone" does not exist') })]);
  });

  test('two claims rendering the same directory: the second fails and names the owner', async () => {
    classes.put(storageClass({ parameters: { pathPattern: '${.PVC.namespace}/${.PVC.labels.app}' } }));
    await sync(claim({ uid: 'a', name: 'one', namespace: 'ns', labels: { app: 'web' } }));
    fs.writeFileSync(path.join(root, 'ns/web/owned-by-one'), 'private');
    await expect(sync(claim({ uid: 'b', name: 'two', namespace: 'ns', labels: { app: 'web' } }))).rejects.toBeInstanceOf(ReportedError);
    const failure = events.find((e) => e.reason === 'ProvisioningFailed');
    expect(failure?.ref.name).toBe('two');
    expect(failure?.message).toMatch(/directory ns\/web is the directory of PersistentVolume pvc-a; each claim needs its own directory/);
    expect(created.map((pv) => pv.metadata?.name)).toEqual(['pvc-a']);
  });

  test('a directory inside or around another claim\'s directory is refused', async () => {
    classes.put(storageClass({ parameters: { pathPattern: '${.PVC.namespace}/${.PVC.annotations.dir}' } }));
    observe(volume('pvc-x', 'ns/data', 'DELETE', 'Bound'));
    await expect(sync(claim({ uid: 'c', name: 'n', namespace: 'ns', annotations: { dir: 'data' } }))).rejects.toThrow(/is the directory of PersistentVolume pvc-x/);
    classes.put(storageClass({ parameters: { pathPattern: '${.PVC.namespace}' } }));
    await expect(sync(claim({ uid: 'd', name: 'm', namespace: 'ns' }))).rejects.toThrow(/directory ns overlaps ns\/data of PersistentVolume pvc-x/);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('a symlink planted under the root is refused, nothing is written outside, and the name is free again', async () => {
    classes.put(storageClass({ parameters: { pathPattern: '${.PVC.namespace}/${.PVC.name}' } }));
    fs.symlinkSync(outside, path.join(root, 'ns'));
    const c = claim({ uid: 'e', name: 'db', namespace: 'ns' });
    await expect(sync(c)).rejects.toBeInstanceOf(ReportedError);
    expect(events.find((e) => e.reason === 'ProvisioningFailed')?.message).toMatch(/cannot create the volume directory: .*ns is a symbolic link/);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(created).toEqual([]);
    expect(controller.index.get('pvc-e')).toBeUndefined();
  });
});

describe('a class whose pattern breaks the namespace rule', () => {
  test('is reported on the claim naming the rule, and nothing is created', async () => {
    classes.put(storageClass({ parameters: { pathPattern: '${.PVC.namespace}-${.PVC.name}' } }));
    await expect(sync(claim({ uid: 'r1', namespace: 'payments-prod', name: 'db' }))).rejects.toBeInstanceOf(ReportedError);
    expect(events).toEqual([expect.objectContaining({
      type: 'Warning',
      reason: 'ProvisioningFailed',
      message: expect.stringMatching(/^StorageClass "nfs": pathPattern ".*" lets claims of two namespaces render one directory.*or add \$\{\.PV\.name\}, which is unique per claim$/),
    })]);
    expect(created).toEqual([]);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('a claim whose values render a name with the archive prefix is refused, and nothing is created', async () => {
    classes.put(storageClass({ parameters: { pathPattern: '${.PVC.annotations.dir}-${.PV.name}' } }));
    fs.mkdirSync(path.join(root, 'archived-ns-db-pvc-x'));
    await expect(sync(claim({ uid: 'x', namespace: 'ns', name: 'db', annotations: { dir: 'archived-ns-db' } }))).rejects.toBeInstanceOf(ReportedError);
    expect(events[0].message).toMatch(/renders the directory name "archived-ns-db-pvc-x", which starts with "archived-"/);
    expect(created).toEqual([]);
    expect(fs.readdirSync(root)).toEqual(['archived-ns-db-pvc-x']);
  });
});

describe('an existing directory goes only to a claim of the namespace it was made for', () => {
  // Two classes whose patterns render one path for claims of two namespaces:
  // payments/prod is claim "prod" of namespace payments in one, namespace prod of team payments in the other.
  beforeEach(() => {
    classes.put(storageClass({ name: 'by-namespace', parameters: { pathPattern: '${.PVC.namespace}/${.PVC.name}', onDelete: 'RETAIN' } }));
    classes.put(storageClass({ name: 'by-team', parameters: { pathPattern: '${.PVC.labels.team}/${.PVC.namespace}' } }));
  });

  /** Provisions, writes data, then releases the volume with RETAIN. */
  async function keep(c: V1PersistentVolumeClaim): Promise<string> {
    await sync(c);
    const pv = created[created.length - 1];
    const dir = pv.metadata!.annotations![PV_ANNOTATIONS.directory];
    fs.writeFileSync(path.join(root, dir, 'ledger'), 'private');
    observe({ ...pv, metadata: { ...pv.metadata, uid: `uid-${pv.metadata!.name}` }, status: { phase: 'Released' } });
    await controller.handle(volumeKey(pv.metadata!.name!));
    volumes.remove(pv.metadata!.name!, pv.metadata!.namespace);
    controller.volumeRemoved(pv);
    events.length = 0;
    return dir;
  }

  test('RETAIN notes whom the directory was kept for', async () => {
    expect(await keep(claim({ uid: 'k1', namespace: 'payments', name: 'prod', className: 'by-namespace' }))).toBe('payments/prod');
    expect(await new NfsRootFs(root).listRetained()).toEqual([{ pvName: 'pvc-k1', relativePath: 'payments/prod', namespace: 'payments', claim: 'prod' }]);
  });

  test('a claim of another namespace rendering a kept directory is refused with an event, and gets nothing', async () => {
    await keep(claim({ uid: 'k1', namespace: 'payments', name: 'prod', className: 'by-namespace' }));
    const intruder = claim({ uid: 'k2', namespace: 'prod', name: 'x', className: 'by-team', labels: { team: 'payments' } });
    await expect(sync(intruder)).rejects.toBeInstanceOf(ReportedError);
    expect(events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'ProvisioningFailed']]);
    expect(events[0].message).toBe(`directory ${root}/payments/prod already exists and was kept by onDelete RETAIN for claim payments/prod, of another namespace; `
      + 'an existing directory is handed only to a claim of the namespace it was made for: move or remove it on the server, or give its data to this claim with a PersistentVolume made by hand');
    expect(created.map((pv) => pv.metadata?.name)).toEqual(['pvc-k1']);
    expect(fs.readFileSync(path.join(root, 'payments/prod/ledger'), 'utf8')).toBe('private');
    // Nothing noted for the refused claim, and its path is free in the index.
    expect(await new NfsRootFs(root).listUnfinished()).toEqual([]);
    expect(controller.index.get('pvc-k2')).toBeUndefined();
  });

  test('a claim of the same namespace gets its kept directory back, and the note goes', async () => {
    await keep(claim({ uid: 'k1', namespace: 'payments', name: 'prod', className: 'by-namespace' }));
    await sync(claim({ uid: 'k3', namespace: 'payments', name: 'prod', className: 'by-namespace' }));
    expect(created.map((pv) => pv.metadata?.name)).toEqual(['pvc-k1', 'pvc-k3']);
    expect(events[events.length - 1].message).toBe('Successfully provisioned volume pvc-k3 (reusing the directory kept by onDelete RETAIN for claim payments/prod)');
    expect(fs.readFileSync(path.join(root, 'payments/prod/ledger'), 'utf8')).toBe('private');
    expect(fs.readdirSync(root)).toEqual(['payments']);
  });

  test('a directory nothing records (made by hand, kept before owners were recorded) is not handed out', async () => {
    fs.mkdirSync(path.join(root, 'payments/prod'), { recursive: true });
    fs.writeFileSync(path.join(root, 'payments/prod/ledger'), 'private');
    await expect(sync(claim({ uid: 'k4', namespace: 'payments', name: 'prod', className: 'by-namespace' }))).rejects.toBeInstanceOf(ReportedError);
    expect(events[events.length - 1].message).toMatch(/already exists and nothing records which namespace it was made for .*: move or remove it on the server/);
    expect(created).toEqual([]);
  });

  test('a directory another claim is being provisioned into (a note an earlier run left) is not handed out', async () => {
    await new NfsRootFs(root).recordUnfinished('pvc-other', 'payments/prod');
    fs.mkdirSync(path.join(root, 'payments/prod'), { recursive: true });
    await expect(sync(claim({ uid: 'k5', namespace: 'prod', name: 'x', className: 'by-team', labels: { team: 'payments' } }))).rejects.toBeInstanceOf(ReportedError);
    expect(events[events.length - 1].message).toMatch(/already exists and is being provisioned for PersistentVolume pvc-other;/);
    expect(created).toEqual([]);
    expect(await new NfsRootFs(root).listUnfinished()).toEqual([{ pvName: 'pvc-other', relativePath: 'payments/prod' }]);
  });

  test('a note of a directory kept for two namespaces in turn: only the last one\'s claims get it', async () => {
    await keep(claim({ uid: 'k1', namespace: 'payments', name: 'prod', className: 'by-namespace' }));
    // The kept directory is removed by hand; namespace prod's claim then gets a fresh one there and keeps it too.
    fs.rmSync(path.join(root, 'payments/prod'), { recursive: true });
    classes.put(storageClass({ name: 'by-team', parameters: { pathPattern: '${.PVC.labels.team}/${.PVC.namespace}', onDelete: 'RETAIN' } }));
    await keep(claim({ uid: 'k6', namespace: 'prod', name: 'x', className: 'by-team', labels: { team: 'payments' } }));
    await expect(sync(claim({ uid: 'k7', namespace: 'payments', name: 'prod', className: 'by-namespace' }))).rejects.toThrow(/kept by onDelete RETAIN for claim prod\/x/);
    await sync(claim({ uid: 'k8', namespace: 'prod', name: 'y', className: 'by-team', labels: { team: 'payments' } }));
    expect(created.map((pv) => pv.metadata?.name)).toEqual(['pvc-k1', 'pvc-k6', 'pvc-k8']);
  });

  test('a claim whose first attempt was killed between its note and the check still gets only what it may', async () => {
    // The retry of an attempt that noted the path and then found someone else's directory there
    // is refused too: a note is only written after the check passed.
    fs.mkdirSync(path.join(root, 'payments/prod'), { recursive: true });
    await expect(sync(claim({ uid: 'k9', namespace: 'payments', name: 'prod', className: 'by-namespace' }))).rejects.toBeInstanceOf(ReportedError);
    await expect(sync(claim({ uid: 'k9', namespace: 'payments', name: 'prod', className: 'by-namespace' }))).rejects.toBeInstanceOf(ReportedError);
    expect(await new NfsRootFs(root).listUnfinished()).toEqual([]);
    expect(created).toEqual([]);
  });
});

describe('deleting', () => {
  function released(name: string, dir: string, onDelete: string) {
    fs.mkdirSync(path.join(root, dir), { recursive: true });
    fs.writeFileSync(path.join(root, dir, 'data'), 'x');
    const pv = volume(name, dir, onDelete);
    observe(pv);
    return pv;
  }

  test('DELETE removes the tree and its empty parents, then the PV (with a uid precondition)', async () => {
    released('pvc-1', 'ns/db', 'DELETE');
    fs.mkdirSync(path.join(root, 'other'));
    await controller.handle(volumeKey('pvc-1'));
    expect(fs.readdirSync(root)).toEqual(['other']);
    expect(deleted).toEqual([{ name: 'pvc-1', uid: 'uid-pvc-1' }]);
    // Logged and counted, not sent as an Event (a write per volume nobody acts on).
    expect(events).toEqual([]);
    expect(logLines).toContainEqual(expect.objectContaining({ msg: 'delete succeeded', volume: 'pvc-1', outcome: 'DirectoryDeleted', directory: `${root}/ns/db` }));
    expect(controller.index.get('pvc-1')).toBeUndefined();
    expect(await operations('delete', 'succeeded')).toBe(1);
  });

  test('ARCHIVE never lands on a live volume\'s directory, so no claim is handed the archive', async () => {
    // A claim provisioned before archive names were refused got archived-ns-db-pvc-2, the name
    // pvc-2's archive would take; it is empty and live.
    fs.mkdirSync(path.join(root, 'archived-ns-db-pvc-2'));
    observe(volume('pvc-squatter', 'archived-ns-db-pvc-2', 'DELETE', 'Bound'));
    released('pvc-2', 'ns/db', 'ARCHIVE');
    await controller.handle(volumeKey('pvc-2'));
    expect(fs.readdirSync(path.join(root, 'archived-ns-db-pvc-2'))).toEqual([]);
    expect(fs.readFileSync(path.join(root, 'archived-ns-db-pvc-2-2/data'), 'utf8')).toBe('x');
    expect(events[0].message).toBe(`archived ${root}/ns/db as ${root}/archived-ns-db-pvc-2-2`);
  });

  test('ARCHIVE moves the tree to a unique name under the root', async () => {
    released('pvc-2', 'ns/db', 'ARCHIVE');
    await controller.handle(volumeKey('pvc-2'));
    expect(fs.readdirSync(root)).toEqual(['archived-ns-db-pvc-2']);
    expect(fs.readFileSync(path.join(root, 'archived-ns-db-pvc-2/data'), 'utf8')).toBe('x');
    expect(events[0]).toMatchObject({ reason: 'DirectoryArchived', message: `archived ${root}/ns/db as ${root}/archived-ns-db-pvc-2` });
    expect(deleted).toHaveLength(1);
  });

  test('RETAIN keeps the tree and deletes the PV', async () => {
    released('pvc-3', 'ns/db', 'RETAIN');
    await controller.handle(volumeKey('pvc-3'));
    expect(fs.readFileSync(path.join(root, 'ns/db/data'), 'utf8')).toBe('x');
    expect(events[0].reason).toBe('DirectoryRetained');
    expect(deleted).toHaveLength(1);
  });

  test('the policy recorded on the PV wins over the live StorageClass', async () => {
    classes.put(storageClass({ parameters: { onDelete: 'DELETE' } }));
    released('pvc-4', 'keep-me', 'RETAIN');
    await controller.handle(volumeKey('pvc-4'));
    expect(fs.existsSync(path.join(root, 'keep-me/data'))).toBe(true);
  });

  test('a directory that is already gone is reported and the PV is still deleted', async () => {
    observe(volume('pvc-5', 'ns/gone', 'DELETE'));
    await controller.handle(volumeKey('pvc-5'));
    expect(events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'DirectoryMissing', message: expect.stringContaining('was already gone') })]);
    expect(deleted).toHaveLength(1);
  });

  test('crash between removing the directory and deleting the PV: the retry finishes', async () => {
    released('pvc-6', 'vol', 'ARCHIVE');
    api.deleteFails = Object.assign(new Error('connection reset'), { code: 503 });
    await expect(controller.handle(volumeKey('pvc-6'))).rejects.toBeInstanceOf(ReportedError);
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'VolumeFailedDelete', message: expect.stringContaining('connection reset') });
    expect(fs.readdirSync(root)).toEqual(['archived-vol-pvc-6']);
    api.deleteFails = undefined;
    await controller.handle(volumeKey('pvc-6'));
    expect(deleted).toHaveLength(1);
    expect(events[1].reason).toBe('DirectoryMissing');
    expect(fs.readdirSync(root)).toEqual(['archived-vol-pvc-6']);
  });

  test('a tampered PV is refused and nothing is touched', async () => {
    const victim = path.join(root, 'other-tenant');
    fs.mkdirSync(victim);
    fs.writeFileSync(path.join(victim, 'data'), 'theirs');
    const pv = volume('pvc-7', 'mine', 'DELETE');
    pv.metadata!.annotations![PV_ANNOTATIONS.directory] = 'other-tenant';
    observe(pv);
    await expect(controller.handle(volumeKey('pvc-7'))).rejects.toBeInstanceOf(ReportedError);
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'VolumeFailedDelete' });
    expect(fs.readFileSync(path.join(victim, 'data'), 'utf8')).toBe('theirs');
    expect(deleted).toEqual([]);
    expect(await operations('delete', 'failed')).toBe(1);
  });

  test('a directory that overlaps another live volume is not deleted', async () => {
    observe(volume('pvc-inner', 'ns/db', 'DELETE', 'Bound'));
    released('pvc-outer', 'ns', 'DELETE');
    await expect(controller.handle(volumeKey('pvc-outer'))).rejects.toThrow(/overlaps ns\/db of PersistentVolume pvc-inner/);
    expect(fs.existsSync(path.join(root, 'ns/data'))).toBe(true);
  });

  test('a symlinked volume directory is refused on delete', async () => {
    fs.symlinkSync(outside, path.join(root, 'vol'));
    fs.writeFileSync(path.join(outside, 'secret'), 's');
    observe(volume('pvc-8', 'vol', 'DELETE'));
    await expect(controller.handle(volumeKey('pvc-8'))).rejects.toBeInstanceOf(ReportedError);
    expect(events[0].message).toMatch(/symbolic link/);
    expect(fs.readdirSync(outside)).toEqual(['secret']);
  });

  test('Bound or foreign PVs are not queued or touched', async () => {
    expect(controller.volumeChanged({ metadata: { name: 'foreign', annotations: {} } })).toBeUndefined();
    const pv = released('pvc-9', 'vol9', 'DELETE');
    volumes.put({ ...pv, status: { phase: 'Bound' } });
    await controller.handle(volumeKey('pvc-9'));
    expect(deleted).toEqual([]);
    expect(fs.existsSync(path.join(root, 'vol9/data'))).toBe(true);
  });
});

describe('informer hooks', () => {
  test('a new class of ours queues the unbound claims that wait for it', () => {
    claims.put(claim({ name: 'a', className: 'late' }));
    claims.put(claim({ name: 'b', className: 'late', spec: { volumeName: 'pv' } }));
    claims.put(claim({ name: 'c', className: 'other' }));
    expect(controller.classChanged(storageClass({ name: 'late' }))).toEqual([claimKey('team-a', 'a')]);
    expect(controller.classChanged(storageClass({ name: 'late', provisioner: 'x.io/y' }))).toEqual([]);
  });

  test('allKeys lists the sweep of provisioning notes, our volumes and the claims for our provisioner', () => {
    volumes.put(volume('pvc-1', 'd', 'DELETE'));
    claims.put(claim({ name: 'mine' }));
    claims.put(claim({ name: 'theirs', provisioner: 'x.io/y' }));
    expect(controller.allKeys()).toEqual([SWEEP_KEY, volumeKey('pvc-1'), claimKey('team-a', 'mine')]);
    expect(controller.index.get('pvc-1')).toBe('d');
  });
});

describe('a controller killed between directory and PV', () => {
  /** The next process: same cluster and export, nothing in memory. `beforeCreate` runs before each PV create. */
  function restarted(beforeCreate?: () => Promise<void>): NfsController {
    return new NfsController({
      identity: IDENTITY,
      root,
      claims: claims.lookup(),
      volumes: volumes.lookup(),
      classes: classes.lookup(),
      api: {
        createVolume: async (pv) => {
          await beforeCreate?.();
          created.push(pv);
          return 'created';
        },
        deleteVolume: async () => 'deleted',
      },
      fs: new NfsRootFs(root),
      events: { emit: (ref, type, reason, message) => events.push({ ref, type, reason, message }) },
      metrics,
      log: new JsonLogger(() => undefined),
    });
  }

  beforeEach(() => {
    classes.put(storageClass({ parameters: { pathPattern: '${.PVC.namespace}/${.PVC.name}' } }));
  });

  test('the next run removes the directory of a claim deleted meanwhile and provisions the one still waiting into its directory', async () => {
    api.createFails = new Error('killed before the PV was created');
    const gone = claim({ uid: 'k1', namespace: 'ns', name: 'gone' });
    const kept = claim({ uid: 'k2', namespace: 'ns', name: 'kept' });
    const deleting = claim({ uid: 'k3', namespace: 'ns', name: 'deleting' });
    for (const c of [gone, kept, deleting]) await expect(sync(c)).rejects.toThrow();
    expect(fs.readdirSync(path.join(root, 'ns')).sort()).toEqual(['deleting', 'gone', 'kept']);

    // While no controller runs: one claim is deleted, another is being deleted (a finalizer holds it).
    claims.remove(gone.metadata!.name!, gone.metadata!.namespace);
    claims.put({ ...deleting, metadata: { ...deleting.metadata, deletionTimestamp: new Date() } });
    const next = restarted();
    await next.sweepUnfinished();
    expect(fs.readdirSync(path.join(root, 'ns'))).toEqual(['kept']);

    await next.handle(claimKey('ns', 'kept'));
    expect(created.map((pv) => pv.metadata?.name)).toEqual(['pvc-k2']);
    expect(events[events.length - 1].message).toContain('reusing the directory');
    // Every note is gone with its volume or its directory.
    expect(fs.readdirSync(root)).toEqual(['ns']);
  });

  test('a directory with data in it, or one a newer volume uses, is never removed', async () => {
    api.createFails = new Error('killed before the PV was created');
    const written = claim({ uid: 'k4', namespace: 'ns', name: 'written' });
    const reused = claim({ uid: 'k5', namespace: 'ns', name: 'reused' });
    for (const c of [written, reused]) await expect(sync(c)).rejects.toThrow();
    fs.writeFileSync(path.join(root, 'ns/written/file'), 'data');
    claims.remove(written.metadata!.name!, written.metadata!.namespace);
    claims.remove(reused.metadata!.name!, reused.metadata!.namespace);
    // A new claim of the same name got the same directory while the notes were still there.
    observe(volume('pvc-k6', 'ns/reused', 'DELETE', 'Bound'));

    const next = restarted();
    for (const pv of volumes.all()) next.volumeChanged(pv);
    await next.sweepUnfinished();
    expect(fs.readdirSync(path.join(root, 'ns')).sort()).toEqual(['reused', 'written']);
    expect(fs.readFileSync(path.join(root, 'ns/written/file'), 'utf8')).toBe('data');
    expect(fs.existsSync(path.join(root, UNFINISHED_DIR))).toBe(false);
  });
  const notesDir = () => path.join(root, UNFINISHED_DIR);

  test('a claim still waiting when the notes are swept and deleted before its volume is made still loses its directory', async () => {
    api.createFails = new Error('killed before the PV was created');
    const late = claim({ uid: 'k7', namespace: 'ns', name: 'late' });
    await expect(sync(late)).rejects.toThrow();

    const next = restarted();
    await next.sweepUnfinished();
    expect(fs.readdirSync(path.join(root, 'ns'))).toEqual(['late']);

    // Deleted after the sweep, before the new process got to it: the informer reports the deletion.
    claims.remove(late.metadata!.name!, late.metadata!.namespace);
    const key = next.claimRemoved(late);
    expect(key).toBe(claimKey('ns', 'late'));
    await next.handle(key!);
    expect(fs.readdirSync(root)).toEqual([]);
    expect(created).toEqual([]);
  });

  test('while the sweep holds a waiting claim\'s directory, no other claim can take it', async () => {
    api.createFails = new Error('killed before the PV was created');
    await expect(sync(claim({ uid: 'k8', namespace: 'ns', name: 'first' }))).rejects.toThrow();
    const next = restarted();
    await next.sweepUnfinished();
    expect(next.index.get('pvc-k8')).toBe('ns/first');
    // Another claim rendering the same path (through a label) is refused, not handed the directory.
    classes.put(storageClass({ name: 'by-label', parameters: { pathPattern: '${.PVC.namespace}/${.PVC.labels.dir}' } }));
    claims.put(claim({ uid: 'k9', namespace: 'ns', name: 'second', className: 'by-label', labels: { dir: 'first' } }));
    await expect(next.handle(claimKey('ns', 'second'))).rejects.toThrow(/is the directory of PersistentVolume pvc-k8/);
    expect(created).toEqual([]);
  });

  test('a note that cannot be finished holds up neither the other notes nor the work, and the sweep is run again until it succeeds', async () => {
    const vfs = new NfsRootFs(root);
    // Sorted first: before each note was handled on its own, its failure ended the sweep here.
    await vfs.recordUnfinished('pvc-a-blocked', 'blocked/x');
    fs.symlinkSync(outside, path.join(root, 'blocked'));
    fs.mkdirSync(path.join(outside, 'x'));
    await vfs.recordUnfinished('pvc-b-gone', 'ns/gone');
    fs.mkdirSync(path.join(root, 'ns/gone'), { recursive: true });
    claims.put(claim({ uid: 'k10', namespace: 'ns', name: 'waiting' }));

    const next = restarted();
    const queue = new WorkQueue({ concurrency: 2, baseDelayMs: 5, maxDelayMs: 20, handler: (k) => next.handle(k) });
    next.allKeys().forEach((k) => queue.add(k));
    await until(() => queue.failureCount(SWEEP_KEY) >= 2);
    // The other note is finished and the claim provisioned while the blocked note keeps failing.
    expect(fs.existsSync(path.join(root, 'ns/gone'))).toBe(false);
    expect(created.map((pv) => pv.metadata?.name)).toEqual(['pvc-k10']);
    expect((await vfs.listUnfinished()).map((n) => n.pvName)).toEqual(['pvc-a-blocked']);
    expect(fs.readdirSync(outside)).toEqual(['x']); // never followed through the link

    // Once the export is fixed, a retry finishes it: no note and no directory are left.
    fs.unlinkSync(path.join(root, 'blocked'));
    fs.mkdirSync(path.join(root, 'blocked/x'), { recursive: true });
    await until(() => !fs.existsSync(notesDir()));
    await queue.stop();
    expect(fs.readdirSync(root).sort()).toEqual(['ns']);
    expect(fs.readdirSync(path.join(root, 'ns'))).toEqual(['waiting']);
  });

  test('a note whose writer was killed before it was in place is dropped', async () => {
    fs.mkdirSync(notesDir(), { mode: 0o700 });
    fs.writeFileSync(path.join(notesDir(), '.pvc-k11'), 'ns/ha');
    await restarted().sweepUnfinished();
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('a volume being provisioned when the notes are swept is left to that run, even if its claim is gone meanwhile', async () => {
    api.createFails = new Error('killed before the PV was created');
    const racing = claim({ uid: 'k12', namespace: 'ns', name: 'racing' });
    await expect(sync(racing)).rejects.toThrow();

    let release!: () => void;
    let creating = false;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const next = restarted(async () => {
      creating = true;
      await gate;
    });
    const provisioning = next.handle(claimKey('ns', 'racing'));
    await until(() => creating);
    claims.remove(racing.metadata!.name!, racing.metadata!.namespace); // the PV create is on its way: its directory must stay
    await next.sweepUnfinished();
    expect(fs.readdirSync(path.join(root, 'ns'))).toEqual(['racing']);

    release();
    await provisioning;
    expect(created.map((pv) => pv.metadata?.name)).toEqual(['pvc-k12']);
    expect(fs.readdirSync(path.join(root, 'ns'))).toEqual(['racing']);
    expect(fs.existsSync(notesDir())).toBe(false);
  });
});

describe('a burst of claims', () => {
  test('500 claims are provisioned concurrently, bounded by the worker count', async () => {
    api.latencyMs = 20;
    const queue = new WorkQueue({ concurrency: 16, handler: (key) => controller.handle(key) });
    for (let i = 0; i < 500; i++) {
      const c = claims.put(claim({ uid: `burst-${i}`, name: `c${i}`, namespace: 'load' }));
      queue.add(controller.claimChanged(c)!);
    }
    await queue.idle();
    expect(created).toHaveLength(500);
    expect(fs.readdirSync(root)).toHaveLength(500);
    expect(api.peak).toBeGreaterThan(1);
    expect(api.peak).toBeLessThanOrEqual(16);
    expect(await operations('provision', 'succeeded')).toBe(500);
  });
});
