import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { findExamples, synthExample } from '../examples/synth';
import { validateManifests } from './util/schema';

/** The kinds each known example must produce (at least these; more is fine). */
const EXPECTED_KINDS: Record<string, string[]> = {
  'local-disks': [
    'Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet',
    'StorageClass', 'Service', 'StatefulSet',
  ],
  'nfs-existing-server': [
    'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'PodDisruptionBudget',
    'StorageClass', 'PersistentVolumeClaim',
  ],
  'nfs-in-cluster-server': [
    'Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Service', 'StatefulSet', 'PodDisruptionBudget',
    'StorageClass', 'PersistentVolumeClaim', 'Deployment',
  ],
  'resizable-claim': ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'StorageClass', 'PersistentVolumeClaim'],
};

const examples = findExamples(path.join(__dirname, '..', 'examples'));
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-examples-'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function synthesize(name: string): any[] {
  const example = examples.find((e) => e.name === name)!;
  const files = synthExample(example, path.join(tmp, name));
  return files.flatMap((file) => yaml.loadAll(fs.readFileSync(file, 'utf8'))).filter((doc) => doc !== null && doc !== undefined);
}

test('finds the examples', () => {
  expect(examples.map((e) => e.name)).toEqual(expect.arrayContaining(['local-disks', 'nfs-existing-server', 'nfs-in-cluster-server', 'resizable-claim']));
});

describe.each(examples.map((e) => e.name))('example %s', (name) => {
  test('synthesizes objects that are valid Kubernetes 1.28', () => {
    const objs = synthesize(name);
    expect(objs.length).toBeGreaterThan(0);
    validateManifests(objs);
  });

  test('produces the kinds it should', () => {
    const kinds = new Set(synthesize(name).map((o) => o.kind));
    const missing = (EXPECTED_KINDS[name] ?? []).filter((k) => !kinds.has(k));
    expect(missing).toEqual([]);
  });
});

describe('example local-disks', () => {
  test('publishes a filesystem and a block class through one node agent', () => {
    const objs = synthesize('local-disks');
    const classes = JSON.parse(objs.find((o) => o.kind === 'ConfigMap').data['classes.json']).classes;
    expect(classes.map((c: any) => [c.storageClassName, c.volumeMode])).toEqual([['local-nvme', 'Filesystem'], ['local-raw', 'Block']]);
    const sts = objs.find((o) => o.kind === 'StatefulSet');
    expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('local-nvme');
  });
});
