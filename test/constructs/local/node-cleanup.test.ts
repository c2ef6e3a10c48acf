import { createHash } from 'crypto';
import { PersistentVolumeMode } from 'cdk8s-plus-28';
import { setup } from './helpers';
import { BlockCleaner } from '../../../src/constructs/local';
import { LOCAL_AGENT_RULES, LOCAL_NODE_CLEANUP_RULES, rulesAllow } from '../../../src/contract/rbac';
import { parseLocalInvocation } from '../../../src/runtime/local/flags';
import { all, named, one, synthValid } from '../../util/synth';

function deployment(objs: any[]): any {
  return one(objs, 'Deployment');
}

describe('LocalStaticProvisioner: nodeCleanup', () => {
  test('is off by default: no Deployment and only the agent role', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const objs = synthValid(chart);
    expect(provisioner.nodeCleanup).toBe(false);
    expect(all(objs, 'Deployment')).toEqual([]);
    expect(all(objs, 'ClusterRole')).toHaveLength(1);
    expect(all(objs, 'ServiceAccount')).toHaveLength(1);
  });

  test('runs one unprivileged replica of "local --node-cleanup" under its own ServiceAccount', () => {
    const { chart, provisioner } = setup({ namespace: 'storage', nodeCleanup: true, image: 'registry.example.com/ctl:1' });
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const objs = synthValid(chart);
    const d = deployment(objs);
    expect(d.metadata.namespace).toBe('storage');
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy).toEqual({ type: 'Recreate' });
    const pod = d.spec.template.spec;
    const container = pod.containers[0];
    expect(container.image).toBe('registry.example.com/ctl:1');
    expect(container.args).toEqual(['local', '--node-cleanup', '--http-port=8080']);
    expect(container.env.map((e: any) => e.name)).toEqual(['POD_NAME', 'POD_NAMESPACE']);
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(container.volumeMounts).toBeUndefined();
    expect(pod.volumes).toBeUndefined();
    expect(pod.serviceAccountName).not.toBe(provisioner.serviceAccountName);
    expect(all(objs, 'ServiceAccount').map((sa) => sa.metadata.name)).toContain(pod.serviceAccountName);
    // Its pods are not selected by the DaemonSet, nor the agent pods by it.
    const ds = one(objs, 'DaemonSet');
    const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(matches(ds.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(false);
    expect(matches(d.spec.selector.matchLabels, ds.spec.template.metadata.labels)).toBe(false);
    expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
  });

  test('binds exactly the node-cleanup rules to its ServiceAccount, separate from the agent role', () => {
    const { chart, provisioner } = setup({ namespace: 'storage', nodeCleanup: true });
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const objs = synthValid(chart);
    const sa = deployment(objs).spec.template.spec.serviceAccountName;
    const binding = all(objs, 'ClusterRoleBinding').find((b) => b.subjects[0].name === sa);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace: 'storage' }]);
    expect(binding.metadata.namespace).toBeUndefined();
    const role = named(objs, 'ClusterRole', binding.roleRef.name);
    expect(role.rules).toEqual(LOCAL_NODE_CLEANUP_RULES.map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs })));
    const agentRole = all(objs, 'ClusterRole').find((r) => r !== role);
    expect(agentRole.rules).toEqual(LOCAL_AGENT_RULES.map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs })));
  });

  test('the controller reads the Deployment\'s arguments as the node-deletion role', () => {
    const { chart, provisioner } = setup({ nodeCleanup: true });
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const [command, ...args] = deployment(synthValid(chart)).spec.template.spec.containers[0].args;
    expect(command).toBe('local');
    expect(parseLocalInvocation(args, { POD_NAME: 'cleanup-abc' })).toEqual({ mode: 'node-cleanup', config: { httpPort: 8080, instance: 'cleanup-abc', logLevel: 'info' } });
  });
});

describe('node-cleanup rules', () => {
  /** Every request the role makes (node-cleanup.ts, run-node-cleanup.ts, kube/local-port.ts, kube/events.ts). */
  test.each([
    ['', 'persistentvolumes', 'list'],
    ['', 'persistentvolumes', 'delete'],
    ['', 'nodes', 'list'],
    ['', 'events', 'create'],
    ['', 'events', 'patch'],
  ])('allow %s %s %s', (group, resource, verb) => {
    expect(rulesAllow(LOCAL_NODE_CLEANUP_RULES, group, resource, verb)).toBe(true);
  });

  test('allow nothing else: no PV create, no claims, no node writes', () => {
    expect(rulesAllow(LOCAL_NODE_CLEANUP_RULES, '', 'persistentvolumes', 'create')).toBe(false);
    expect(rulesAllow(LOCAL_NODE_CLEANUP_RULES, '', 'persistentvolumeclaims', 'delete')).toBe(false);
    expect(rulesAllow(LOCAL_NODE_CLEANUP_RULES, '', 'nodes', 'delete')).toBe(false);
    expect(rulesAllow(LOCAL_NODE_CLEANUP_RULES, '', 'nodes', 'get')).toBe(false);
  });
});

describe('LocalStaticProvisioner: rolling the agents on a class map change', () => {
  test('the pod template carries the sha256 of the ConfigMap\'s classes.json, including classes added later', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    const before = synthValid(chart);
    const hashOf = (objs: any[]) => one(objs, 'DaemonSet').spec.template.metadata.annotations['cdk8s-storage.dev/config-hash'];
    const expected = (objs: any[]) => createHash('sha256').update(one(objs, 'ConfigMap').data['classes.json']).digest('hex').slice(0, 16);
    expect(hashOf(before)).toBe(expected(before));

    provisioner.addStorageClass('raw', { hostDir: '/mnt/disks/raw', volumeMode: PersistentVolumeMode.BLOCK, blockCleaner: BlockCleaner.zero(1) });
    const after = synthValid(chart);
    expect(hashOf(after)).toBe(expected(after));
    expect(hashOf(after)).not.toBe(hashOf(before));
  });

  test('a cleaner change alone rolls the agents', () => {
    const hashFor = (cleaner: BlockCleaner) => {
      const { chart, provisioner } = setup();
      provisioner.addStorageClass('raw', { hostDir: '/mnt/disks/raw', volumeMode: PersistentVolumeMode.BLOCK, blockCleaner: cleaner });
      return one(synthValid(chart), 'DaemonSet').spec.template.metadata.annotations['cdk8s-storage.dev/config-hash'];
    };
    expect(hashFor(BlockCleaner.shred(2))).not.toBe(hashFor(BlockCleaner.shred(3)));
    expect(hashFor(BlockCleaner.quickReset())).not.toBe(hashFor(BlockCleaner.blkdiscard()));
  });
});
