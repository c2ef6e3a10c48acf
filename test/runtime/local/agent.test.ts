/**
 * The node agent end to end on this machine's real mounts and loop devices, against an
 * in-memory API (the real-control-plane suite covers the API server and scheduler side).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LocalAgentConfig, LocalClassConfig } from '../../../src/contract/controller-config';
import { LocalAgent, needsPass } from '../../../src/runtime/local/agent';
import { NodeCleanupRole } from '../../../src/runtime/local/node-cleanup';
import { localPvName } from '../../../src/runtime/local/pv';
import type { PvChange } from '../../../src/runtime/ports/local';
import { contains, readDevice, writeMarker } from '../../util/device-markers';
import { LoopLab, sh } from '../../util/loop-lab';
import { MemoryApi, memoryLogger } from '../support/memory-api';

const lab = new LoopLab('local-agent');
afterAll(() => lab.cleanup());

function fsClass(name: string, dir: string): LocalClassConfig {
  return { storageClassName: name, hostDir: `/mnt/${name}`, mountDir: dir, volumeMode: 'Filesystem', namePattern: 'vol*', reclaimPolicy: 'Delete', mountOptions: ['noatime'] };
}

function agentFor(cluster: MemoryApi, nodeName: string, config: LocalAgentConfig) {
  return new LocalAgent({
    nodeName,
    config,
    port: cluster.localPort(),
    log: memoryLogger(),
    pollMs: 100,
    debounceMs: 50,
    cleanupRetryMs: 0,
    resyncMs: 60_000,
  });
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 25));
  }
}

describe('filesystem class', () => {
  const disks = path.join(lab.root, 'fs-disks');
  const cls = fsClass('local-fast', disks);
  const cluster = new MemoryApi();
  cluster.addNode('node-a', 'host-a'); // hostname label deliberately differs from the node name
  const agent = agentFor(cluster, 'node-a', { classes: [cls] });
  const nameOf = (entry: string) => localPvName('node-a', 'local-fast', entry);

  beforeAll(() => {
    lab.mountFs(path.join(disks, 'vol1'));
    lab.mountFs(path.join(disks, 'vol2'));
    fs.mkdirSync(path.join(disks, 'vol-plain'));
    fs.writeFileSync(path.join(disks, 'vol-file'), '');
    fs.mkdirSync(path.join(disks, 'ignored'));
  });
  afterAll(() => agent.stop());

  test('publishes each mount point with name, capacity, affinity and class; reports the rest once', async () => {
    const report = await agent.pass();
    expect(report.errors).toEqual([]);
    expect(report.created.sort()).toEqual([nameOf('vol1'), nameOf('vol2')].sort());
    const pv = cluster.volumes.get(nameOf('vol1'))!;
    const sfs = fs.statfsSync(path.join(disks, 'vol1'));
    expect(pv.spec?.capacity?.storage).toBe(String(sfs.blocks * sfs.bsize));
    expect(pv.spec?.local?.path).toBe('/mnt/local-fast/vol1');
    expect(pv.spec?.storageClassName).toBe('local-fast');
    expect(pv.spec?.mountOptions).toEqual(['noatime']);
    expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['host-a'] }] }]);
    expect(pv.metadata?.labels).toEqual({ 'cdk8s-storage.dev/node': 'node-a', 'cdk8s-storage.dev/local-class': 'local-fast' });
    expect(cluster.recordedEvents.map(e => `${e.ref.kind}/${e.reason}`).sort()).toEqual(['Node/NotAMountPoint', 'Node/UnsupportedEntry']);

    const again = await agent.pass();
    expect(again).toEqual({ created: [], withdrawn: [], cleanupsStarted: [], errors: [], unavailableClasses: [] });
    expect(cluster.recordedEvents).toHaveLength(2);
    expect(agent.status().ready).toBe(true);
  });

  test('a released volume is wiped and comes back Available under the same name', async () => {
    const name = nameOf('vol1');
    const oldUid = cluster.volumes.get(name)!.metadata?.uid;
    cluster.setPhase(name, 'Bound');
    fs.writeFileSync(path.join(disks, 'vol1', 'marker'), 'tenant data');
    fs.symlinkSync(path.join(disks, 'vol2'), path.join(disks, 'vol1', 'escape'));
    fs.writeFileSync(path.join(disks, 'vol2', 'neighbour'), 'keep');
    cluster.setPhase(name, 'Released');

    const report = await agent.pass();
    expect(report.cleanupsStarted).toEqual([name]);
    await agent.settle();
    expect(fs.readdirSync(path.join(disks, 'vol1'))).toEqual([]);
    expect(fs.readFileSync(path.join(disks, 'vol2', 'neighbour'), 'utf8')).toBe('keep');
    const back = cluster.volumes.get(name)!;
    expect(back.status?.phase).toBe('Available');
    expect(back.metadata?.uid).not.toBe(oldUid);
    expect(cluster.eventsFor('VolumeCleaned')).toHaveLength(1);
  });

  test('a PV list that lags behind (an informer cache) neither wipes a republished volume nor warns about its own PV', async () => {
    const name = nameOf('vol1');
    const cleanedBefore = cluster.eventsFor('VolumeCleaned').length;
    cluster.setPhase(name, 'Bound');
    cluster.setPhase(name, 'Released');
    const released = cluster.volumes.all();
    cluster.freezeList(released); // keeps showing the Released PV after the wipe deleted it
    await agent.pass();
    await agent.settle();
    expect(cluster.volumes.has(name)).toBe(false);
    expect(cluster.eventsFor('VolumeCleaned')).toHaveLength(cleanedBefore + 1);

    cluster.freezeList(cluster.volumes.all()); // a list without the PV
    await agent.pass();
    expect(cluster.volumes.get(name)?.status?.phase).toBe('Available');
    await agent.pass(); // the list still lacks it: create answers "exists", and it is ours
    expect(cluster.eventsFor('PersistentVolumeNameTaken')).toEqual([]);

    cluster.setPhase(name, 'Bound');
    fs.writeFileSync(path.join(disks, 'vol1', 'new-tenant'), 'must survive');
    cluster.freezeList(released); // the old Released PV shows up once more
    await agent.pass();
    await agent.settle();
    expect(fs.readFileSync(path.join(disks, 'vol1', 'new-tenant'), 'utf8')).toBe('must survive');
    expect(cluster.eventsFor('VolumeCleaned')).toHaveLength(cleanedBefore + 1);
    cluster.thawList();
  });

  test('an unmounted Available volume is withdrawn; a bound one that vanished is reported and kept', async () => {
    cluster.setPhase(nameOf('vol1'), 'Bound');
    lab.umount(path.join(disks, 'vol1'));
    lab.umount(path.join(disks, 'vol2'));
    const report = await agent.pass();
    expect(report.withdrawn).toEqual([nameOf('vol2')]);
    expect(cluster.volumes.has(nameOf('vol2'))).toBe(false);
    expect(cluster.volumes.get(nameOf('vol1'))?.status?.phase).toBe('Bound');
    expect(cluster.eventsFor('VolumeWithdrawn').map(e => e.message)).toEqual([expect.stringMatching(/\/mnt\/local-fast\/vol2 is no longer usable .*not a mount point.*withdrew the unused PV/)]);
    expect(cluster.eventsFor('VolumeEntryMissing').map(e => e.ref.name)).toEqual([nameOf('vol1')]);
    await agent.pass();
    expect(cluster.eventsFor('VolumeEntryMissing')).toHaveLength(1);
  });

  test('watch: a new mount point becomes a PV within seconds, without a resync', async () => {
    await agent.start();
    lab.mountFs(path.join(disks, 'vol3'));
    await until('vol3 published', () => cluster.volumes.has(nameOf('vol3')), 5000);
    await agent.stop();
  });
});

describe('block class', () => {
  const blocks = path.join(lab.root, 'block-disks');
  const cls: LocalClassConfig = {
    storageClassName: 'local-raw',
    hostDir: '/mnt/local-raw',
    mountDir: blocks,
    volumeMode: 'Block',
    namePattern: '*',
    reclaimPolicy: 'Delete',
    blockCleaner: { kind: 'ZERO', passes: 1 },
  };
  const cluster = new MemoryApi();
  cluster.addNode('node-b', 'host-b');
  const agent = agentFor(cluster, 'node-b', { classes: [cls] });
  const marker = 'BLOCK-TENANT-MARKER';

  test('published as Block; released: the cleaner runs and the PV returns; a mounted device is refused and stays Released', async () => {
    fs.mkdirSync(blocks, { recursive: true });
    const dev = lab.attach(lab.image('agent-block', 8));
    fs.symlinkSync(dev, path.join(blocks, 'disk1'));
    const name = localPvName('node-b', 'local-raw', 'disk1');

    await agent.pass();
    const pv = cluster.volumes.get(name)!;
    expect(pv.spec?.volumeMode).toBe('Block');
    expect(pv.spec?.capacity?.storage).toBe(String(8 * 1024 * 1024));
    expect(pv.metadata?.annotations?.['cdk8s-storage.dev/local-device-id']).toMatch(/^loop:.*agent-block\.img$/);

    writeMarker(dev, marker, 4096);
    cluster.setPhase(name, 'Bound');
    cluster.setPhase(name, 'Released');
    await agent.pass();
    await agent.settle();
    expect(contains(readDevice(dev), marker)).toBe(false);
    expect(cluster.volumes.get(name)?.status?.phase).toBe('Available');
    expect(cluster.eventsFor('VolumeCleanupStarted').map(e => e.message)).toEqual([expect.stringMatching(/wiping \/mnt\/local-raw\/disk1 with ZERO/)]);

    // Released again, but someone mounted the device meanwhile.
    sh('mkfs.ext4', ['-q', '-F', dev]);
    const mnt = path.join(lab.root, 'block-mounted');
    fs.mkdirSync(mnt);
    lab.mount(dev, mnt);
    fs.writeFileSync(path.join(mnt, 'precious'), 'in use');
    cluster.setPhase(name, 'Bound');
    cluster.setPhase(name, 'Released');
    await agent.pass();
    await agent.settle();
    expect(cluster.volumes.get(name)?.status?.phase).toBe('Released');
    expect(cluster.eventsFor('VolumeFailedDelete').map(e => `${e.type} ${e.message}`)).toEqual([
      expect.stringMatching(new RegExp(`^Warning device 7:\\d+ of .*disk1 is mounted at ${mnt}; PV ${name} is not wiped and stays Released`)),
    ]);
    expect(fs.readFileSync(path.join(mnt, 'precious'), 'utf8')).toBe('in use');
    lab.umount(mnt);
  });
});

describe('two nodes', () => {
  test('each agent publishes only its own volumes, and the node-deletion role cleans up after a deleted node', async () => {
    const cluster = new MemoryApi();
    cluster.addNode('node-1', 'host-1');
    cluster.addNode('node-2', 'host-2');
    const dir1 = path.join(lab.root, 'n1');
    const dir2 = path.join(lab.root, 'n2');
    lab.mountFs(path.join(dir1, 'vol-x'));
    lab.mountFs(path.join(dir2, 'vol-x'));
    lab.mountFs(path.join(dir2, 'vol-y'));
    // Same class name on both nodes, as a DaemonSet would run it; each node has its own directory here.
    const a1 = agentFor(cluster, 'node-1', { classes: [fsClass('shared', dir1)] });
    const a2 = agentFor(cluster, 'node-2', { classes: [fsClass('shared', dir2)] });
    await a1.pass();
    await a2.pass();
    const byNode = (n: string) => cluster.volumes.all().filter(pv => pv.metadata?.labels?.['cdk8s-storage.dev/node'] === n).map(pv => pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0].matchExpressions?.[0].values?.[0]);
    expect(byNode('node-1')).toEqual(['host-1']);
    expect(byNode('node-2')).toEqual(['host-2', 'host-2']);
    // Agent 1 does not withdraw node 2's PVs although its directory lacks vol-y.
    await a1.pass();
    expect(cluster.volumes.size).toBe(3);

    cluster.setPhase(localPvName('node-2', 'shared', 'vol-x'), 'Bound');
    cluster.nodes.remove('node-2');
    const role = new NodeCleanupRole(cluster.localPort(), memoryLogger());
    expect(await role.runOnce()).toEqual({ deleted: [localPvName('node-2', 'shared', 'vol-y')], reported: [localPvName('node-2', 'shared', 'vol-x')] });
    expect(cluster.volumes.size).toBe(2);
  });

  test('a node without the hostname label fails the pass with a message saying what to do', async () => {
    const cluster = new MemoryApi();
    cluster.addNode('node-x', undefined);
    const agent = agentFor(cluster, 'node-x', { classes: [fsClass('c', lab.root)] });
    const report = await agent.pass();
    expect(report.errors).toEqual(['node node-x has no kubernetes.io/hostname label, which local PVs\' node affinity needs; label the node']);
    expect(agent.status()).toMatchObject({ ready: false });
  });
});

describe('two provisioners on one node', () => {
  test('each agent publishes and wipes only its own volumes, and says nothing about the other\'s', async () => {
    const cluster = new MemoryApi();
    cluster.addNode('node-p', 'host-p');
    const [dir1, dir2] = [path.join(lab.root, 'p1'), path.join(lab.root, 'p2')];
    lab.mountFs(path.join(dir1, 'vol-1'));
    lab.mountFs(path.join(dir2, 'vol-2'));
    const one = agentFor(cluster, 'node-p', { provisioner: 'storage/one', classes: [fsClass('class-one', dir1)] });
    const two = agentFor(cluster, 'node-p', { provisioner: 'storage/two', classes: [fsClass('class-two', dir2)] });
    expect((await one.pass()).created).toEqual([localPvName('node-p', 'class-one', 'vol-1')]);
    expect((await two.pass()).created).toEqual([localPvName('node-p', 'class-two', 'vol-2')]);
    const name = localPvName('node-p', 'class-two', 'vol-2');
    expect(cluster.volumes.get(name)?.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe('cdk8s-storage.dev/local-agent.storage.two.node-p');

    cluster.setPhase(name, 'Bound');
    fs.writeFileSync(path.join(dir2, 'vol-2', 'data'), 'tenant of two');
    cluster.setPhase(name, 'Released');
    expect(await one.pass()).toEqual({ created: [], withdrawn: [], cleanupsStarted: [], errors: [], unavailableClasses: [] });
    await one.settle();
    expect(cluster.recordedEvents).toEqual([]);
    expect(fs.readFileSync(path.join(dir2, 'vol-2', 'data'), 'utf8')).toBe('tenant of two');

    expect((await two.pass()).cleanupsStarted).toEqual([name]);
    await two.settle();
    expect(fs.readdirSync(path.join(dir2, 'vol-2'))).toEqual([]);
    expect(cluster.recordedEvents.map(e => `${e.ref.name} ${e.reason}`)).toEqual([`${name} VolumeCleaned`]);
  });
});

describe('a node without one class\'s directory', () => {
  test('that class is reported (Node event, one log line) and the others are served; the agent stays ready', async () => {
    const cluster = new MemoryApi();
    cluster.addNode('node-m', 'host-m');
    const present = path.join(lab.root, 'present-disks');
    const missing = path.join(lab.root, 'missing-disks'); // never created until the end
    lab.mountFs(path.join(present, 'vol1'));
    const log = memoryLogger();
    const agent = new LocalAgent({
      nodeName: 'node-m',
      config: { classes: [fsClass('local-missing', missing), fsClass('local-present', present)] },
      port: cluster.localPort(),
      log,
      pollMs: 60_000,
      debounceMs: 10,
      resyncMs: 60_000,
    });
    try {
      const report = await agent.pass();
      expect(report.errors).toEqual([]);
      expect(report.created).toEqual([localPvName('node-m', 'local-present', 'vol1')]);
      expect(report.unavailableClasses).toEqual([expect.stringMatching(new RegExp(`^cannot read ${missing} \\(host /mnt/local-missing\\) of class local-missing: ENOENT`))]);
      expect(agent.status().ready).toBe(true);
      expect(cluster.recordedEvents.map(e => `${e.ref.kind}/${e.ref.name}/${e.reason}`)).toEqual(['Node/node-m/DiscoveryFailed']);
      expect(cluster.recordedEvents[0].message).toContain('of class local-missing');

      await agent.pass();
      const skipped = log.lines.filter(l => l.startsWith('warn local discovery skips classes on this node, serving the others: cannot read'));
      expect(skipped).toHaveLength(1);

      fs.mkdirSync(missing);
      const recovered = await agent.pass();
      expect(recovered.unavailableClasses).toEqual([]);
      expect(log.lines).toContain('info local discovery serves every class again');
    } finally {
      await agent.stop();
    }
  });
});

describe('logging of failing passes', () => {
  test('a pass that fails is logged once with its reason, and the recovery too', async () => {
    const cluster = new MemoryApi();
    cluster.addNode('node-l', 'host-l');
    const log = memoryLogger();
    let refuse = true;
    let lists = 0;
    const base = cluster.localPort();
    const dir = fs.mkdtempSync(path.join(lab.root, 'logging-'));
    const agent = new LocalAgent({
      nodeName: 'node-l',
      config: { classes: [fsClass('c', dir)] },
      port: {
        ...base,
        listPVs: async (s) => {
          lists++;
          if (refuse) throw new Error('persistentvolumes is forbidden: HTTP 403');
          return base.listPVs(s);
        },
      },
      log,
      pollMs: 60_000,
      debounceMs: 10,
      resyncMs: 60_000,
    });
    await agent.start();
    try {
      const failed = () => log.lines.filter(l => l.startsWith('error local discovery pass failed: persistentvolumes is forbidden: HTTP 403'));
      for (let i = 0; i < 100 && failed().length === 0; i++) await new Promise(r => setTimeout(r, 20));
      expect(failed()).toHaveLength(1);
      // A change in the directory (inotify) runs another pass; the same failure is not logged again.
      const before = lists;
      fs.mkdirSync(path.join(dir, 'new-entry'));
      for (let i = 0; i < 100 && lists === before; i++) await new Promise(r => setTimeout(r, 20));
      await agent.settle();
      expect(lists).toBeGreaterThan(before);
      expect(failed()).toHaveLength(1);
      refuse = false;
      fs.mkdirSync(path.join(dir, 'another-entry'));
      for (let i = 0; i < 100 && !log.lines.includes('info local discovery pass succeeded again'); i++) await new Promise(r => setTimeout(r, 20));
      expect(log.lines).toContain('info local discovery pass succeeded again');
    } finally {
      await agent.stop();
    }
  });
});

describe('many volumes at once', () => {
  test('creates run concurrently (bounded), a burst of triggers is one logged pass, and status churn runs no pass', async () => {
    const dir = fs.mkdtempSync(path.join(lab.root, 'many-'));
    const entries = Array.from({ length: 24 }, (_, i) => `vol${String(i).padStart(2, '0')}`);
    for (const e of entries) {
      fs.mkdirSync(path.join(dir, e));
      lab.bind(path.join(dir, e), path.join(dir, e));
    }
    const cluster = new MemoryApi();
    cluster.addNode('node-m', 'host-m');
    const base = cluster.localPort();
    let inFlight = 0;
    let maxInFlight = 0;
    let lists = 0;
    const log = memoryLogger();
    const agent = new LocalAgent({
      nodeName: 'node-m',
      config: { classes: [fsClass('many', dir)] },
      port: {
        ...base,
        listPVs: async (s) => {
          lists++;
          return base.listPVs(s);
        },
        createPV: async (pv) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise(r => setTimeout(r, 20));
          inFlight--;
          return base.createPV(pv);
        },
      },
      log,
      pollMs: 60_000,
      debounceMs: 20,
      resyncMs: 60_000,
      maxConcurrentCreates: 5,
    });
    await agent.start();
    try {
      await until('all published', () => cluster.volumes.size === entries.length);
      await agent.settle();
      expect(maxInFlight).toBe(5);
      // The creates' own watch events (new Available PVs) did not each cause a pass.
      expect(log.lines.filter(l => l.startsWith('info local discovery pass'))).toHaveLength(1);

      // Status churn (binding) runs no pass; a release does.
      const listsBefore = lists;
      for (const e of entries.slice(0, 10)) cluster.setPhase(localPvName('node-m', 'many', e), 'Bound');
      await new Promise(r => setTimeout(r, 200));
      expect(lists).toBe(listsBefore);
      cluster.setPhase(localPvName('node-m', 'many', entries[0]), 'Released');
      await until('a pass after the release', () => lists > listsBefore);
    } finally {
      await agent.stop();
      await agent.settle();
    }
  });
});

describe('needsPass', () => {
  const pv = (phase?: string): PvChange['pv'] => ({ metadata: { name: 'p' }, ...(phase ? { status: { phase } } : {}) });
  test.each<[PvChange | undefined, boolean]>([
    [undefined, true],
    [{ pv: pv('Available'), deleted: true }, true],
    [{ pv: pv('Released'), deleted: false }, true],
    [{ pv: pv('Available'), deleted: false }, false],
    [{ pv: pv('Pending'), deleted: false }, false],
    [{ pv: pv('Bound'), deleted: false }, false],
    [{ pv: pv(), deleted: false }, false],
  ])('%j -> %s', (change, expected) => {
    expect(needsPass(change)).toBe(expected);
  });
});

describe('event de-duplication per entry', () => {
  test('several entries with the same problem are each reported once, not again on every pass', async () => {
    const dir = fs.mkdtempSync(path.join(lab.root, 'dedup-'));
    for (const e of ['vol-x', 'vol-y', 'vol-z']) fs.mkdirSync(path.join(dir, e));
    const cluster = new MemoryApi();
    cluster.addNode('node-d', 'host-d');
    const agent = agentFor(cluster, 'node-d', { classes: [fsClass('dedup', dir)] });
    const notMounted = () => cluster.eventsFor('NotAMountPoint').map(e => e.message.split(' ')[0]).sort();
    await agent.pass();
    await agent.pass();
    await agent.pass();
    expect(notMounted()).toEqual(['vol-x', 'vol-y', 'vol-z'].map(e => `/mnt/dedup/${e}`));
    // One of them is fixed, then breaks again: reported again, once; the others stay quiet.
    lab.bind(path.join(dir, 'vol-y'), path.join(dir, 'vol-y'));
    await agent.pass();
    lab.umount(path.join(dir, 'vol-y'));
    await agent.pass();
    await agent.pass();
    expect(notMounted()).toEqual(['vol-x', 'vol-y', 'vol-y', 'vol-z'].map(e => `/mnt/dedup/${e}`));
  });
});
