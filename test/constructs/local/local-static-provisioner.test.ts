import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, Chart, Testing } from 'cdk8s';
import { PersistentVolumeAccessMode, PersistentVolumeMode, PersistentVolumeReclaimPolicy, TaintEffect } from 'cdk8s-plus-28';
import { agentContainer, classMap, podSpec, setup } from './helpers';
import { IStorageClassRef } from '../../../src/constructs/common/storage-class-ref';
import { BlockCleaner, LocalStaticProvisioner, LocalStorageClass, TolerationOperator } from '../../../src/constructs/local';
import { LOCAL_AGENT_RULES } from '../../../src/contract/rbac';
import { parseLocalAgentConfig } from '../../../src/runtime/local/class-map';
import { all, one, synthValid } from '../../util/synth';

const PACKAGE_VERSION = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')).version;

describe('LocalStaticProvisioner: the node agent', () => {
  test('synthesizes a ServiceAccount with its token mounted', () => {
    const { chart, provisioner } = setup({ namespace: 'storage' });
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const sa = one(synthValid(chart), 'ServiceAccount');
    expect(sa.metadata.namespace).toBe('storage');
    expect(sa.automountServiceAccountToken).toBe(true);
    expect(sa.metadata.name).toBe(provisioner.serviceAccountName);
  });

  test('grants exactly the local agent rules of the shared rule table, bound to its ServiceAccount', () => {
    const { chart, provisioner } = setup({ namespace: 'storage' });
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const objs = synthValid(chart);
    const role = one(objs, 'ClusterRole');
    expect(role.rules).toEqual(LOCAL_AGENT_RULES.map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs })));
    const binding = one(objs, 'ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: provisioner.serviceAccountName, namespace: 'storage' }]);
    expect(all(objs, 'Role')).toEqual([]);
  });

  test('with mount-point classes only, runs an unprivileged root container with DAC_OVERRIDE and FOWNER as the pod of its ServiceAccount', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    provisioner.addStorageClass('slow', { hostDir: '/mnt/disks/slow' });
    const objs = synthValid(chart);
    expect(podSpec(objs).serviceAccountName).toBe(provisioner.serviceAccountName);
    expect(podSpec(objs).automountServiceAccountToken).toBe(true);
    expect(agentContainer(objs).securityContext).toEqual({
      privileged: false,
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['DAC_OVERRIDE', 'FOWNER'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // HostToContainer propagation is allowed without privileges (only Bidirectional needs them).
    expect(agentContainer(objs).volumeMounts.filter((m: any) => m.mountPropagation).map((m: any) => m.mountPropagation)).toEqual(['HostToContainer', 'HostToContainer']);
  });

  test.each<[string, Record<string, unknown>]>([
    ['a Block class', { volumeMode: PersistentVolumeMode.BLOCK }],
    ['a Filesystem class with fsType (its entries are devices)', { fsType: 'xfs' }],
  ])('runs a privileged root container when it opens devices: %s', (_, options) => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    provisioner.addStorageClass('dev', { hostDir: '/mnt/disks/dev', ...options });
    expect(agentContainer(synthValid(chart)).securityContext).toEqual({
      privileged: true, runAsUser: 0, runAsNonRoot: false, readOnlyRootFilesystem: true,
    });
  });

  test('passes the local command, the class map path and the HTTP port as arguments', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const objs = synthValid(chart);
    const container = agentContainer(objs);
    expect(container.args).toEqual(['local', '--config=/etc/cdk8s-storage/classes.json', '--http-port=8080']);
    expect(container.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/cdk8s-storage', readOnly: true });
    expect(podSpec(objs).volumes).toContainEqual({ name: 'config', configMap: { name: one(objs, 'ConfigMap').metadata.name } });
  });

  test('sets NODE_NAME from spec.nodeName and the pod name and namespace from the downward API', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    expect(agentContainer(synthValid(chart)).env).toEqual([
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ]);
  });

  test('probes /healthz and /readyz on the HTTP port and sets resources', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const container = agentContainer(synthValid(chart));
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.resources.requests).toEqual({ cpu: '50m', memory: '64Mi' });
    expect(container.resources.limits.memory).toBe('256Mi');
  });

  test('mounts each hostDir at its mountDir with HostToContainer propagation, created where missing so the other classes are served', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    provisioner.addStorageClass('slow', { hostDir: '/mnt/hdd', mountDir: '/discovery/hdd' });
    const objs = synthValid(chart);
    const volumes = podSpec(objs).volumes;
    const mounts = agentContainer(objs).volumeMounts;
    for (const [hostDir, mountDir] of [['/mnt/disks/fast', '/mnt/disks/fast'], ['/mnt/hdd', '/discovery/hdd']]) {
      const volume = volumes.find((v: any) => v.hostPath?.path === hostDir);
      expect(volume.hostPath.type).toBe('DirectoryOrCreate');
      expect(mounts).toContainEqual({ name: volume.name, mountPath: mountDir, mountPropagation: 'HostToContainer' });
    }
  });

  test('mounts /dev for a Filesystem class with fsType, whose entries are devices', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast', fsType: 'ext4' });
    expect(agentContainer(synthValid(chart)).volumeMounts).toContainEqual({ name: 'dev', mountPath: '/dev', mountPropagation: 'HostToContainer' });
  });

  test('mounts /dev only when a class is Block', () => {
    const fsOnly = setup();
    fsOnly.provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const fsObjs = synthValid(fsOnly.chart);
    expect(podSpec(fsObjs).volumes.some((v: any) => v.hostPath?.path === '/dev')).toBe(false);
    expect(agentContainer(fsObjs).volumeMounts.some((m: any) => m.mountPath === '/dev')).toBe(false);

    const withBlock = setup();
    withBlock.provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    withBlock.provisioner.addStorageClass('raw', { hostDir: '/mnt/disks/raw', volumeMode: PersistentVolumeMode.BLOCK });
    const blockObjs = synthValid(withBlock.chart);
    expect(podSpec(blockObjs).volumes).toContainEqual({ name: 'dev', hostPath: { path: '/dev', type: 'Directory' } });
    expect(agentContainer(blockObjs).volumeMounts).toContainEqual({ name: 'dev', mountPath: '/dev', mountPropagation: 'HostToContainer' });
  });

  test('uses the package version as the default image tag', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    expect(agentContainer(synthValid(chart)).image).toBe(`ghcr.io/cdk8s-storage/controller:${PACKAGE_VERSION}`);
    expect(provisioner.image).toBe(`ghcr.io/cdk8s-storage/controller:${PACKAGE_VERSION}`);
  });

  test('runs a given image', () => {
    const { chart, provisioner } = setup({ image: 'registry.example.com/storage/controller:1.2.3' });
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    expect(agentContainer(synthValid(chart)).image).toBe('registry.example.com/storage/controller:1.2.3');
  });

  test('schedules with the given nodeSelector and tolerations', () => {
    const { chart, provisioner } = setup({
      nodeSelector: { 'node.example.com/disks': 'nvme' },
      tolerations: [
        { key: 'dedicated', operator: TolerationOperator.EQUAL, value: 'storage', effect: TaintEffect.NO_SCHEDULE },
        { key: 'example.com/maintenance', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_EXECUTE, tolerationSeconds: 300 },
        { operator: TolerationOperator.EXISTS },
      ],
    });
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const spec = podSpec(synthValid(chart));
    expect(spec.nodeSelector).toEqual({ 'node.example.com/disks': 'nvme' });
    expect(spec.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'storage', effect: 'NoSchedule' },
      { key: 'example.com/maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { operator: 'Exists' },
    ]);
  });

  test('has no nodeSelector or tolerations by default', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const spec = podSpec(synthValid(chart));
    expect(spec.nodeSelector).toBeUndefined();
    expect(spec.tolerations).toBeUndefined();
  });

  test('selects its pods by name and instance labels', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const ds = one(synthValid(chart), 'DaemonSet');
    const selector = ds.spec.selector.matchLabels;
    expect(Object.keys(selector).sort()).toEqual(['app.kubernetes.io/instance', 'app.kubernetes.io/name']);
    expect(ds.spec.template.metadata.labels).toMatchObject(selector);
  });

  test('changes the pod template hash when the class map changes', () => {
    const hashOf = (hostDir: string) => {
      const { chart, provisioner } = setup();
      provisioner.addStorageClass('fast', { hostDir });
      return one(synthValid(chart), 'DaemonSet').spec.template.metadata.annotations['cdk8s-storage.dev/config-hash'];
    };
    expect(hashOf('/mnt/a')).toMatch(/^[0-9a-f]{16}$/);
    expect(hashOf('/mnt/a')).toBe(hashOf('/mnt/a'));
    expect(hashOf('/mnt/a')).not.toBe(hashOf('/mnt/b'));
  });

  test('is the DaemonSet for ApiObject.of (escape hatch)', () => {
    const { provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    expect(ApiObject.of(provisioner).kind).toBe('DaemonSet');
  });

  test('fails synthesis without any storage class', () => {
    const { chart } = setup();
    expect(() => Testing.synth(chart)).toThrow(/has no storage classes: call addStorageClass/);
  });
});

describe('LocalStaticProvisioner: the class map', () => {
  test('writes every class with its resolved defaults, including classes added later', () => {
    const { chart, provisioner } = setup();
    const fast = provisioner.addStorageClass('fast', { name: 'local-fast', hostDir: '/mnt/disks/fast' });
    const raw = provisioner.addStorageClass('raw', {
      name: 'local-raw',
      hostDir: '/mnt/disks/raw',
      mountDir: '/discovery/raw',
      volumeMode: PersistentVolumeMode.BLOCK,
      namePattern: 'nvme*',
      reclaimPolicy: PersistentVolumeReclaimPolicy.RETAIN,
      blockCleaner: BlockCleaner.zero(2),
    });
    const objs = synthValid(chart);
    expect(classMap(objs)).toEqual({
      provisioner: 'default/local',
      // What earlier versions called it (the DaemonSet name): their PVs stay this agent's.
      formerProvisioner: `default/${one(objs, 'DaemonSet').metadata.name}`,
      classes: [
        {
          storageClassName: 'local-fast',
          hostDir: '/mnt/disks/fast',
          mountDir: '/mnt/disks/fast',
          volumeMode: 'Filesystem',
          namePattern: '*',
          reclaimPolicy: 'Delete',
        },
        {
          storageClassName: 'local-raw',
          hostDir: '/mnt/disks/raw',
          mountDir: '/discovery/raw',
          volumeMode: 'Block',
          namePattern: 'nvme*',
          reclaimPolicy: 'Retain',
          blockCleaner: { kind: 'ZERO', passes: 2 },
        },
      ],
    });
    expect(provisioner.storageClasses).toEqual([fast, raw]);
  });

  test('writes fsType and mountOptions of a Filesystem class', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast', fsType: 'xfs', mountOptions: ['noatime', 'nodiscard'] });
    const objs = synthValid(chart);
    expect(classMap(objs).classes[0]).toMatchObject({ fsType: 'xfs', mountOptions: ['noatime', 'nodiscard'] });
    expect(one(objs, 'StorageClass').mountOptions).toEqual(['noatime', 'nodiscard']);
  });

  test.each([
    ['the default quick reset', undefined, { kind: 'QUICK_RESET' }],
    ['quickReset()', BlockCleaner.quickReset(), { kind: 'QUICK_RESET' }],
    ['shred() with 3 passes by default', BlockCleaner.shred(), { kind: 'SHRED', passes: 3 }],
    ['shred(5)', BlockCleaner.shred(5), { kind: 'SHRED', passes: 5 }],
    ['zero() with 1 pass by default', BlockCleaner.zero(), { kind: 'ZERO', passes: 1 }],
    ['zero(10)', BlockCleaner.zero(10), { kind: 'ZERO', passes: 10 }],
    ['blkdiscard()', BlockCleaner.blkdiscard(), { kind: 'BLKDISCARD' }],
  ])('writes the block cleaner: %s', (_name, blockCleaner, expected) => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('raw', { hostDir: '/mnt/disks/raw', volumeMode: PersistentVolumeMode.BLOCK, blockCleaner });
    expect(classMap(synthValid(chart)).classes[0].blockCleaner).toEqual(expected);
  });

  test('writes no block cleaner for a Filesystem class', () => {
    const { chart, provisioner } = setup();
    const cls = provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    expect(classMap(synthValid(chart)).classes[0].blockCleaner).toBeUndefined();
    expect(cls.blockCleaner).toBeUndefined();
  });
});

describe('LocalStorageClass', () => {
  test('is a no-provisioner, WaitForFirstConsumer class with reclaim policy Delete by default', () => {
    const { chart, provisioner } = setup();
    const cls = provisioner.addStorageClass('fast', { name: 'local-fast', hostDir: '/mnt/disks/fast' });
    const sc = one(synthValid(chart), 'StorageClass');
    expect(sc.metadata.name).toBe('local-fast');
    expect(cls.name).toBe('local-fast');
    expect(sc.provisioner).toBe('kubernetes.io/no-provisioner');
    expect(sc.volumeBindingMode).toBe('WaitForFirstConsumer');
    expect(sc.reclaimPolicy).toBe('Delete');
    expect(sc.allowVolumeExpansion).toBe(false);
    expect(sc.metadata.annotations).toBeUndefined();
  });

  test('uses reclaim policy Retain when asked', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast', reclaimPolicy: PersistentVolumeReclaimPolicy.RETAIN });
    expect(one(synthValid(chart), 'StorageClass').reclaimPolicy).toBe('Retain');
  });

  test('marks the default class', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast', defaultClass: true });
    expect(one(synthValid(chart), 'StorageClass').metadata.annotations).toEqual({ 'storageclass.kubernetes.io/is-default-class': 'true' });
  });

  test('generates a unique name when none is given', () => {
    const { chart, provisioner } = setup();
    const a = provisioner.addStorageClass('fast', { hostDir: '/mnt/a' });
    const b = provisioner.addStorageClass('slow', { hostDir: '/mnt/b' });
    const names = all(synthValid(chart), 'StorageClass').map((sc) => sc.metadata.name);
    expect(names).toEqual([a.name, b.name]);
    expect(a.name).not.toBe(b.name);
    expect(classMap(Testing.synth(chart)).classes.map((c: any) => c.storageClassName)).toEqual(names);
  });

  test('offers a claim ReadWriteOnce, its volume mode, and no expansion', () => {
    const { provisioner } = setup();
    const fs1 = provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const raw = provisioner.addStorageClass('raw', { hostDir: '/mnt/disks/raw', volumeMode: PersistentVolumeMode.BLOCK });
    expect(fs1.allowVolumeExpansion).toBe(false);
    expect(fs1.defaultAccessModes).toEqual([PersistentVolumeAccessMode.READ_WRITE_ONCE]);
    expect(fs1.defaultVolumeMode).toBe(PersistentVolumeMode.FILE_SYSTEM);
    expect(raw.defaultVolumeMode).toBe(PersistentVolumeMode.BLOCK);
    const ref: IStorageClassRef = fs1;
    expect(ref.maxVolumeSize).toBeUndefined();
  });

  test('can be created directly with new, in another chart of the app', () => {
    const { app, provisioner } = setup();
    const other = new Chart(app, 'classes');
    new LocalStorageClass(other, 'fast', { provisioner, name: 'local-fast', hostDir: '/mnt/disks/fast' });
    expect(one(synthValid(other), 'StorageClass').metadata.name).toBe('local-fast');
    expect(classMap(synthValid(Chart.of(provisioner))).classes.map((c: any) => c.storageClassName)).toEqual(['local-fast']);
  });
});

describe('LocalStaticProvisioner: namespaces', () => {
  test('in a namespaced chart, cluster-scoped objects carry no namespace and the rest the chart\'s', () => {
    const { chart, provisioner } = setup({}, 'storage-system');
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const objs = synthValid(chart);
    for (const kind of ['ClusterRole', 'ClusterRoleBinding', 'StorageClass']) {
      expect(one(objs, kind).metadata.namespace).toBeUndefined();
    }
    for (const kind of ['ServiceAccount', 'ConfigMap', 'DaemonSet']) {
      expect(one(objs, kind).metadata.namespace).toBe('storage-system');
    }
    expect(one(objs, 'ClusterRoleBinding').subjects[0].namespace).toBe('storage-system');
    expect(provisioner.namespace).toBe('storage-system');
  });

  test('the namespace prop wins over the chart\'s', () => {
    const { chart, provisioner } = setup({ namespace: 'disks' }, 'apps');
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const objs = synthValid(chart);
    expect(one(objs, 'DaemonSet').metadata.namespace).toBe('disks');
    expect(one(objs, 'ClusterRoleBinding').subjects[0].namespace).toBe('disks');
    expect(one(objs, 'StorageClass').metadata.namespace).toBeUndefined();
  });

  test('creates the Namespace when asked, without a namespace of its own', () => {
    const { chart, provisioner } = setup({ namespace: 'local-storage', createNamespace: true }, 'apps');
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const ns = one(synthValid(chart), 'Namespace');
    expect(ns.metadata.name).toBe('local-storage');
    expect(ns.metadata.namespace).toBeUndefined();
  });

  test('creates no Namespace by default', () => {
    const { chart, provisioner } = setup({ namespace: 'local-storage' });
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    expect(all(synthValid(chart), 'Namespace')).toEqual([]);
  });

  test('without any namespace, uses "default" explicitly so the binding names the right ServiceAccount', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const objs = synthValid(chart);
    expect(one(objs, 'ServiceAccount').metadata.namespace).toBe('default');
    expect(one(objs, 'ClusterRoleBinding').subjects[0].namespace).toBe('default');
  });
});

describe('LocalStaticProvisioner: several in one app', () => {
  test('two provisioners with their own directories and names synthesize side by side', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { name: 'fast', hostDir: '/mnt/fast' });
    const second = new LocalStaticProvisioner(chart, 'gpu-nodes', { nodeSelector: { gpu: 'true' } });
    second.addStorageClass('scratch', { name: 'scratch', hostDir: '/mnt/scratch' });
    const objs = synthValid(chart);
    expect(all(objs, 'DaemonSet')).toHaveLength(2);
    expect(all(objs, 'StorageClass').map((s) => s.metadata.name)).toEqual(['fast', 'scratch']);
    expect(all(objs, 'ConfigMap').map((c) => JSON.parse(c.data['classes.json']).classes.length)).toEqual([1, 1]);
    // Each agent has its own identity: its namespace and construct id.
    expect(all(objs, 'ConfigMap').map((c) => JSON.parse(c.data['classes.json']).provisioner)).toEqual(['default/local', 'default/gpu-nodes']);
    expect(new Set(all(objs, 'DaemonSet').map((d) => d.metadata.name)).size).toBe(2);
  });
});

describe('LocalStaticProvisioner: snapshot', () => {
  test('a filesystem and a block class', () => {
    const { chart, provisioner } = setup({ namespace: 'storage', image: 'example.com/controller:1.0.0' });
    provisioner.addStorageClass('fast', { name: 'local-fast', hostDir: '/mnt/disks/fast', fsType: 'ext4' });
    provisioner.addStorageClass('raw', {
      name: 'local-raw', hostDir: '/mnt/disks/raw', volumeMode: PersistentVolumeMode.BLOCK, blockCleaner: BlockCleaner.shred(2),
    });
    expect(synthValid(chart)).toMatchSnapshot();
  });
});

describe('LocalStaticProvisioner: contract with the node agent', () => {
  test('the node agent accepts the class map exactly as written', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { name: 'local-fast', hostDir: '/mnt/fast', fsType: 'xfs', mountOptions: ['noatime'], namePattern: 'nvme?n1' });
    provisioner.addStorageClass('keep', { name: 'local-keep', hostDir: '/mnt/keep', mountDir: '/discovery/keep', reclaimPolicy: PersistentVolumeReclaimPolicy.RETAIN });
    for (const [id, blockCleaner] of Object.entries({
      quick: BlockCleaner.quickReset(), shred: BlockCleaner.shred(4), zero: BlockCleaner.zero(), discard: BlockCleaner.blkdiscard(),
    })) {
      provisioner.addStorageClass(id, { name: `raw-${id}`, hostDir: `/mnt/raw-${id}`, volumeMode: PersistentVolumeMode.BLOCK, blockCleaner });
    }
    const text = one(synthValid(chart), 'ConfigMap').data['classes.json'];
    expect(parseLocalAgentConfig(text, 'classes.json')).toEqual(JSON.parse(text));
    expect(JSON.parse(text).classes).toHaveLength(6);
  });
});
