/**
 * The construct and the controller agree: what NfsStorageClass writes, the controller
 * reads as intended, and every API call the nfs command and the local node agent make is
 * allowed by the RBAC rules the constructs grant, and nothing more.
 */
import { Size, Testing } from 'cdk8s';
import { NfsProvisioner, NfsServer, OnDelete } from '../../src';
import { NFS_FLAGS } from '../../src/contract/controller-config';
import { LOCAL_AGENT_RULES, NFS_CONTROLLER_RULES, nfsLeaderElectionRules, PolicyRule, rulesAllow } from '../../src/contract/rbac';
import { parseClassParameters } from '../../src/runtime/nfs/class-params';
import { parseNfsConfig } from '../../src/runtime/nfs/flags';
import type { LocalKubePort } from '../../src/runtime/ports/local';

function classParameters(options: Parameters<NfsProvisioner['addStorageClass']>[1]): Record<string, string> {
  const chart = Testing.chart();
  const p = new NfsProvisioner(chart, 'nfs', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports' }) });
  p.addStorageClass('sc', options);
  return Testing.synth(chart).find((o) => o.kind === 'StorageClass').parameters;
}

test('the default NfsStorageClass parameters parse to the documented defaults', () => {
  const parsed = parseClassParameters('sc', classParameters({}));
  expect(parsed).toEqual({
    ok: true,
    value: { pathPattern: '${.PVC.namespace}-${.PVC.name}-${.PV.name}', onDelete: 'ARCHIVE', directoryMode: 0o777, maxVolumeSize: undefined },
  });
});

test('every NfsStorageClass option reaches the controller unchanged', () => {
  const parsed = parseClassParameters('sc', classParameters({
    pathPattern: '${.PVC.namespace}/${.PVC.name}',
    onDelete: OnDelete.DELETE,
    directoryMode: '2770',
    maxVolumeSize: Size.gibibytes(100),
  }));
  expect(parsed).toEqual({
    ok: true,
    value: { pathPattern: '${.PVC.namespace}/${.PVC.name}', onDelete: 'DELETE', directoryMode: 0o2770, maxVolumeSize: 100n * 1024n ** 3n },
  });
  for (const onDelete of [OnDelete.RETAIN, OnDelete.ARCHIVE]) {
    expect(parseClassParameters('sc', classParameters({ onDelete }))).toMatchObject({ ok: true, value: { onDelete } });
  }
});

/** Every request the nfs command makes (see src/runtime/kube/client.ts). */
const CALLS: Array<[group: string, resource: string, verb: string]> = [
  ['', 'persistentvolumeclaims', 'list'],
  ['', 'persistentvolumeclaims', 'watch'],
  ['', 'persistentvolumes', 'list'],
  ['', 'persistentvolumes', 'watch'],
  ['', 'persistentvolumes', 'create'],
  ['', 'persistentvolumes', 'delete'],
  // Resize: the PV's capacity, the claim's status; usage annotations and autoGrow: the claim.
  ['', 'persistentvolumes', 'patch'],
  ['', 'persistentvolumeclaims/status', 'patch'],
  ['', 'persistentvolumeclaims', 'patch'],
  ['storage.k8s.io', 'storageclasses', 'list'],
  ['storage.k8s.io', 'storageclasses', 'watch'],
  ['', 'events', 'create'],
  ['', 'events', 'patch'],
];

test('the cluster role allows every call the nfs command makes', () => {
  for (const [group, resource, verb] of CALLS) {
    expect(`${verb} ${resource}: ${rulesAllow(NFS_CONTROLLER_RULES, group, resource, verb)}`).toBe(`${verb} ${resource}: true`);
  }
});

test('the cluster role grants no write the nfs command does not make', () => {
  const reads = ['get', 'list', 'watch'];
  for (const rule of NFS_CONTROLLER_RULES) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        for (const verb of rule.verbs.filter((v) => !reads.includes(v))) {
          expect(`${verb} ${resource}: ${CALLS.some(([g, r, v]) => g === group && r === resource && v === verb)}`).toBe(`${verb} ${resource}: true`);
        }
      }
    }
  }
});

test('the lease role allows get, create and update of its Lease (election and release)', () => {
  const rules = nfsLeaderElectionRules('example.com-nfs');
  for (const verb of ['get', 'update']) expect(rulesAllow(rules, 'coordination.k8s.io', 'leases', verb, 'example.com-nfs')).toBe(true);
  expect(rulesAllow(rules, 'coordination.k8s.io', 'leases', 'create')).toBe(true);
});

type Call = [group: string, resource: string, verb: string];

/**
 * Every request behind each method of the node agent's port (src/runtime/kube/local-port.ts;
 * events go through kube/events.ts, which creates or patches). The agent reaches the API only
 * through this port, and the type makes a new port method fail to compile until it is listed.
 */
const LOCAL_AGENT_CALLS: Record<keyof LocalKubePort, Call[]> = {
  getNode: [['', 'nodes', 'get']],
  listPVs: [['', 'persistentvolumes', 'list']],
  getPV: [['', 'persistentvolumes', 'get']],
  createPV: [['', 'persistentvolumes', 'create']],
  deletePV: [['', 'persistentvolumes', 'delete']],
  watchPVs: [['', 'persistentvolumes', 'list'], ['', 'persistentvolumes', 'watch']],
  event: [['', 'events', 'create'], ['', 'events', 'patch']],
};

/** Every (group, resource, verb) a rule table grants, as `verb group/resource`. */
function granted(rules: readonly PolicyRule[]): string[] {
  return rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${v} ${g}/${res}`))));
}

test('the local agent\'s cluster role grants exactly the calls the agent makes, reads included', () => {
  const calls = Object.values(LOCAL_AGENT_CALLS).flat().map(([g, r, v]) => `${v} ${g}/${r}`);
  expect([...new Set(granted(LOCAL_AGENT_RULES))].sort()).toEqual([...new Set(calls)].sort());
});

test('the Lease the construct grants is the one the controller elects with, with or without the lease flag', () => {
  const chart = Testing.chart();
  new NfsProvisioner(chart, 'nfs', { provisionerName: 'example.com/My_NFS', server: NfsServer.external({ host: '10.0.0.5', path: '/exports' }) });
  const objects = Testing.synth(chart);
  const leases = objects.find((o) => o.kind === 'Role').rules.flatMap((r: { resourceNames?: string[] }) => r.resourceNames ?? []);
  const args: string[] = objects.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0].args.slice(1);
  const withFlag = parseNfsConfig(args, { POD_NAMESPACE: 'storage' }).leaderElection;
  const withoutFlag = parseNfsConfig(args.filter((a) => !a.startsWith(`--${NFS_FLAGS.leaseName}=`)), { POD_NAMESPACE: 'storage' }).leaderElection;
  expect(withFlag).toMatchObject({ enabled: true, leaseName: 'example-com-my-nfs' });
  expect(withoutFlag).toMatchObject({ enabled: true, leaseName: 'example-com-my-nfs' });
  expect(leases).toEqual(['example-com-my-nfs']);
});
