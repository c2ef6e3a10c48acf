import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { schemaViolations, validateManifests } from './schema';

const podTemplate = {
  metadata: { labels: { app: 'a' } },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
};
const selector = { matchLabels: { app: 'a' } };

/** One minimal valid object of every kind this project synthesizes. */
const VALID: any[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa' }, automountServiceAccountToken: true },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'cr' },
    rules: [{ apiGroups: [''], resources: ['persistentvolumes'], verbs: ['get', 'list'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'crb' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cr' },
    subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'r', namespace: 'ns' },
    rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'rb', namespace: 'ns' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
    subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }],
  },
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 2, selector, template: podTemplate } },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds' }, spec: { selector, template: podTemplate } },
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'ss' },
    spec: { serviceName: 'svc', selector, template: podTemplate },
  },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { 'classes.json': '{}' } },
  {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'sc' },
    provisioner: 'kubernetes.io/no-provisioner',
    volumeBindingMode: 'WaitForFirstConsumer',
    reclaimPolicy: 'Delete',
  },
  {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'pvc' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'sc' },
  },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'pdb' }, spec: { maxUnavailable: 1, selector } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { ports: [{ port: 2049, targetPort: 'nfs' }], selector: { app: 'a' } } },
];

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

function validOf(kind: string): any {
  return clone(VALID.find((o) => o.kind === kind));
}

describe('validateManifests', () => {
  test.each(VALID.map((o) => [o.kind, o]))('accepts a valid %s', (_kind, obj) => {
    expect(() => validateManifests([obj])).not.toThrow();
  });

  test('accepts what cdk8s-plus synthesizes', () => {
    const chart = Testing.chart();
    const deployment = new kplus.Deployment(chart, 'web', {
      containers: [{ image: 'nginx:1.25', portNumber: 80 }],
    });
    deployment.exposeViaService();
    expect(() => validateManifests(Testing.synth(chart))).not.toThrow();
  });

  test('rejects a Deployment with replicas "two"', () => {
    const obj = validOf('Deployment');
    obj.spec.replicas = 'two';
    expect(() => validateManifests([obj])).toThrow(/Deployment d: \/spec\/replicas: must be integer \(got "two"\)/);
  });

  test('rejects an unknown field in a container', () => {
    const obj = validOf('DaemonSet');
    obj.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    expect(() => validateManifests([obj])).toThrow(/DaemonSet ds: \/spec\/template\/spec\/containers\/0\/imagePullPolicyy: unknown field/);
  });

  test('rejects an unknown top-level field', () => {
    const obj = validOf('ConfigMap');
    obj.spec = { data: {} };
    expect(schemaViolations([obj])).toEqual([{ kind: 'ConfigMap', name: 'cm', path: '/spec', message: 'unknown field' }]);
  });

  test('rejects a missing required field', () => {
    const obj = validOf('StorageClass');
    delete obj.provisioner;
    expect(schemaViolations([obj])).toEqual([
      { kind: 'StorageClass', name: 'sc', path: '/provisioner', message: 'required field is missing' },
    ]);
  });

  test('rejects a missing required field deep in a pod template', () => {
    const obj = validOf('StatefulSet');
    delete obj.spec.template.spec.containers[0].name;
    expect(() => validateManifests([obj])).toThrow(/\/spec\/template\/spec\/containers\/0\/name: required field is missing/);
  });

  test('rejects an object without metadata.name', () => {
    const obj = validOf('ServiceAccount');
    delete obj.metadata.name;
    expect(() => validateManifests([obj])).toThrow(/\/metadata\/name: required field is missing/);
  });

  test('rejects an int32 out of range', () => {
    const obj = validOf('Service');
    obj.spec.ports[0].port = 2 ** 40;
    expect(() => validateManifests([obj])).toThrow(/\/spec\/ports\/0\/port: must match format "int32"/);
  });

  test('rejects an int-or-string that is neither', () => {
    const obj = validOf('PodDisruptionBudget');
    obj.spec.maxUnavailable = true;
    expect(() => validateManifests([obj])).toThrow(/\/spec\/maxUnavailable: must be a string or a number \(got true\)/);
  });

  test('rejects a wrong value type in a map', () => {
    const obj = validOf('ConfigMap');
    obj.data.count = 3;
    expect(() => validateManifests([obj])).toThrow(/ConfigMap cm: \/data\/count: must be string \(got 3\)/);
  });

  test('throws for an unknown kind', () => {
    expect(() => validateManifests([{ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'w' } }]))
      .toThrow(/Widget w: \/: unknown kind: no "Widget" in apiVersion "v1"/);
  });

  test('throws for a kind under the wrong apiVersion', () => {
    expect(() => validateManifests([{ apiVersion: 'v1', kind: 'Deployment', metadata: { name: 'd' } }]))
      .toThrow(/unknown kind/);
  });

  test('throws for a kind added after 1.28', () => {
    // VolumeAttributesClass arrived in storage.k8s.io/v1alpha1 in 1.29.
    const vac = { apiVersion: 'storage.k8s.io/v1alpha1', kind: 'VolumeAttributesClass', metadata: { name: 'v' }, driverName: 'x' };
    expect(() => validateManifests([vac])).toThrow(/unknown kind/);
  });

  test('is the 1.28 schema: knows 1.28 fields, not later ones', () => {
    // Sidecar init containers (restartPolicy on a container) arrived in 1.28 ...
    const sidecar = validOf('Deployment');
    sidecar.spec.template.spec.initContainers = [{ name: 'side', image: 'busybox:1.36', restartPolicy: 'Always' }];
    expect(schemaViolations([sidecar])).toEqual([]);
    // ... the lifecycle `sleep` handler in 1.29.
    const sleeper = validOf('Deployment');
    sleeper.spec.template.spec.containers[0].lifecycle = { preStop: { sleep: { seconds: 5 } } };
    expect(schemaViolations([sleeper]).map((v) => v.path)).toEqual(['/spec/template/spec/containers/0/lifecycle/preStop/sleep']);
  });

  test('lists every violation of every object in one error', () => {
    const dep = validOf('Deployment');
    dep.spec.replicas = 'two';
    dep.spec.template.spec.containers[0].bogus = 1;
    const sc = validOf('StorageClass');
    delete sc.provisioner;
    let message = '';
    try {
      validateManifests([VALID[0], dep, sc]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^3 Kubernetes 1\.28 schema violation\(s\):/);
    expect(message).toContain('Deployment d: /spec/replicas');
    expect(message).toContain('Deployment d: /spec/template/spec/containers/0/bogus: unknown field');
    expect(message).toContain('StorageClass sc: /provisioner: required field is missing');
  });
});
