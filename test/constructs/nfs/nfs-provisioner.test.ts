import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Duration, Testing } from 'cdk8s';
import { NfsProvisioner, NfsServer, OnDelete } from '../../../src';
import { isProvisionerName } from '../../../src/contract/names';
import { NFS_CONTROLLER_RULES, nfsLeaderElectionRules } from '../../../src/contract/rbac';
import { parseNfsConfig } from '../../../src/runtime/nfs/flags';
import { all, CLUSTER_SCOPED, one, synthValid } from '../../util/synth';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));

const server = () => NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' });

function provisioner(props: Partial<ConstructorParameters<typeof NfsProvisioner>[2]> = {}, chart: Chart = Testing.chart()) {
  const p = new NfsProvisioner(chart, 'nfs', { server: server(), ...props });
  return { chart, p };
}

function container(objs: any[]): any {
  return one(objs, 'Deployment').spec.template.spec.containers[0];
}

describe('NfsProvisioner defaults', () => {
  const { chart, p } = provisioner();
  const objs = synthValid(chart);

  test('synthesizes the controller objects and nothing else', () => {
    expect(objs.map((o) => o.kind).sort()).toEqual([
      'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount',
    ]);
  });

  test('resolved props', () => {
    expect(p.namespace).toBe('default');
    expect(p.replicas).toBe(2);
    expect(p.image).toBe(`ghcr.io/cdk8s-storage/controller:${pkg.version}`);
    expect(p.server.host).toBe('10.0.0.5');
    expect(p.server.path).toBe('/exports/k8s');
  });

  test('the default provisioner name is derived from the namespace and construct id, and valid', () => {
    expect(p.provisionerName).toBe('cdk8s-storage.dev/nfs.default.nfs');
    expect(isProvisionerName(p.provisionerName)).toBe(true);
    const again = provisioner().p;
    expect(again.provisionerName).toBe(p.provisionerName);
  });

  test('the ServiceAccount mounts its token', () => {
    const sa = one(objs, 'ServiceAccount');
    expect(sa.automountServiceAccountToken).toBe(true);
    expect(sa.metadata.namespace).toBe('default');
    expect(p.serviceAccountName).toBe(sa.metadata.name);
  });

  test('the ClusterRole is the rule table, bound to the ServiceAccount', () => {
    const role = one(objs, 'ClusterRole');
    expect(role.rules).toEqual(NFS_CONTROLLER_RULES.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })));
    const binding = one(objs, 'ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: p.serviceAccountName, namespace: 'default' }]);
  });

  test('the Role allows the Lease only, limited to the controller\'s Lease', () => {
    const role = one(objs, 'Role');
    expect(role.metadata.namespace).toBe('default');
    expect(role.rules).toEqual(nfsLeaderElectionRules(p.leaseName).map((r) => JSON.parse(JSON.stringify(r))));
    expect(role.rules[1].resourceNames).toEqual([p.leaseName]);
    const binding = one(objs, 'RoleBinding');
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: p.serviceAccountName, namespace: 'default' }]);
  });

  test('the Deployment runs 2 replicas spread over nodes', () => {
    const deployment = one(objs, 'Deployment');
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(pod.serviceAccountName).toBe(p.serviceAccountName);
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(deployment.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'nfs-provisioner',
      'app.kubernetes.io/instance': expect.any(String),
    });
    for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) {
      expect(deployment.spec.template.metadata.labels[k]).toBe(v);
    }
  });

  test('the controller args carry everything the controller needs', () => {
    expect(container(objs).args).toEqual([
      'nfs',
      `--provisioner-name=${p.provisionerName}`,
      '--nfs-server=10.0.0.5',
      '--nfs-path=/exports/k8s',
      '--root=/persistentvolumes',
      '--leader-elect=true',
      `--leader-election-lease-name=${p.leaseName}`,
      '--leader-election-namespace=default',
      '--usage-interval-seconds=60',
      '--http-port=8080',
    ]);
  });

  test('the controller\'s own parser accepts the args and reads back the same settings', () => {
    const config = parseNfsConfig(container(objs).args.slice(1), { POD_NAME: 'nfs-0', POD_NAMESPACE: 'default' });
    expect(config).toMatchObject({
      provisionerName: p.provisionerName,
      server: '10.0.0.5',
      exportPath: '/exports/k8s',
      root: '/persistentvolumes',
      httpPort: 8080,
      usageIntervalSeconds: 60,
      leaderElection: { enabled: true, leaseName: p.leaseName, namespace: 'default' },
    });
  });

  test('pod name and namespace come from the downward API', () => {
    expect(container(objs).env).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ]);
  });

  test('the export is mounted as an nfs volume at the fixed root', () => {
    const pod = one(objs, 'Deployment').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'nfs-root', nfs: { server: '10.0.0.5', path: '/exports/k8s' } });
    expect(container(objs).volumeMounts).toContainEqual({ name: 'nfs-root', mountPath: '/persistentvolumes' });
  });

  test('probes hit /healthz and /readyz on the http port', () => {
    const c = container(objs);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  test('resources: requests, and a memory limit', () => {
    expect(container(objs).resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } });
  });

  test('security context: root with DAC_OVERRIDE and FOWNER, nothing else (it never chowns)', () => {
    const sc = container(objs).securityContext;
    expect(sc).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['DAC_OVERRIDE', 'FOWNER'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(one(objs, 'Deployment').spec.template.spec.securityContext).toEqual({ seccompProfile: { type: 'RuntimeDefault' } });
  });

  test('a writable /tmp, since the root filesystem is read-only', () => {
    expect(container(objs).volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  test('a PodDisruptionBudget keeps one pod when replicas > 1', () => {
    const pdb = one(objs, 'PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(one(objs, 'Deployment').spec.selector.matchLabels);
  });

  test('every object carries the project labels', () => {
    for (const obj of objs) {
      expect(obj.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'nfs-provisioner',
        'app.kubernetes.io/part-of': 'cdk8s-storage',
        'app.kubernetes.io/managed-by': 'cdk8s-storage',
      });
    }
  });

  test('snapshot (image tag redacted: it follows the package version)', () => {
    const redacted = JSON.parse(JSON.stringify(objs).split(p.image).join('<controller-image>'));
    expect(redacted).toMatchSnapshot();
  });
});

describe('NfsProvisioner options', () => {
  test('replicas: 1 has no PodDisruptionBudget and no anti-affinity', () => {
    const { chart } = provisioner({ replicas: 1 });
    const objs = synthValid(chart);
    expect(all(objs, 'PodDisruptionBudget')).toEqual([]);
    expect(one(objs, 'Deployment').spec.replicas).toBe(1);
    expect(one(objs, 'Deployment').spec.template.spec.affinity).toBeUndefined();
    // Leader election stays on: a rolling update briefly runs two pods.
    expect(container(objs).args).toContain('--leader-elect=true');
  });

  test('replicas: 3', () => {
    const { chart } = provisioner({ replicas: 3 });
    expect(one(synthValid(chart), 'Deployment').spec.replicas).toBe(3);
  });

  test.each([
    [Duration.seconds(5), 5],
    [Duration.hours(1), 3600],
    [Duration.days(1), 86400],
    [Duration.seconds(0), 0],
  ])('usageInterval %s reaches the controller as whole seconds', (usageInterval, seconds) => {
    const { chart, p } = provisioner({ usageInterval });
    expect(p.usageIntervalSeconds).toBe(seconds);
    const args: string[] = container(synthValid(chart)).args;
    expect(args).toContain(`--usage-interval-seconds=${seconds}`);
    expect(parseNfsConfig(args.slice(1), { POD_NAMESPACE: 'default' }).usageIntervalSeconds).toBe(seconds);
  });

  test('image', () => {
    const image = `registry.example.com/storage/controller@sha256:${'ab'.repeat(32)}`;
    const { chart, p } = provisioner({ image });
    expect(p.image).toBe(image);
    expect(container(synthValid(chart)).image).toBe(image);
  });

  test('provisionerName', () => {
    const { chart, p } = provisioner({ provisionerName: 'example.com/nfs' });
    const objs = synthValid(chart);
    expect(p.provisionerName).toBe('example.com/nfs');
    expect(p.leaseName).toBe('example.com-nfs');
    expect(container(objs).args).toContain('--provisioner-name=example.com/nfs');
    expect(container(objs).args).toContain('--leader-election-lease-name=example.com-nfs');
  });

  test('a provisioner name with characters a Lease name cannot hold gets a DNS-label Lease name', () => {
    const { p } = provisioner({ provisionerName: 'example.com/NFS_Main' });
    expect(p.leaseName).toBe('example-com-nfs-main');
  });

  test('namespace: every namespaced object goes there; cluster-scoped ones carry none', () => {
    const { chart } = provisioner({ namespace: 'storage' });
    const objs = synthValid(chart);
    for (const obj of objs) {
      if (CLUSTER_SCOPED.has(obj.kind)) expect(obj.metadata.namespace).toBeUndefined();
      else expect(obj.metadata.namespace).toBe('storage');
    }
    expect(one(objs, 'ClusterRoleBinding').subjects[0].namespace).toBe('storage');
    expect(container(objs).args).toContain('--leader-election-namespace=storage');
    expect(all(objs, 'Namespace')).toEqual([]);
  });

  test('createNamespace: adds the Namespace object (cluster-scoped)', () => {
    const { chart } = provisioner({ namespace: 'storage', createNamespace: true });
    const ns = one(synthValid(chart), 'Namespace');
    expect(ns.metadata.name).toBe('storage');
    expect(ns.metadata.namespace).toBeUndefined();
  });

  test('a chart with a namespace: namespaced objects use it, cluster-scoped objects carry none', () => {
    const chart = new Chart(Testing.app(), 'storage', { namespace: 'team-storage' });
    const p = new NfsProvisioner(chart, 'nfs', { server: server(), createNamespace: true });
    p.addStorageClass('class', { name: 'nfs' });
    const objs = synthValid(chart);
    expect(p.namespace).toBe('team-storage');
    for (const obj of objs) {
      if (CLUSTER_SCOPED.has(obj.kind)) expect(obj.metadata.namespace).toBeUndefined();
      else expect(obj.metadata.namespace).toBe('team-storage');
    }
    expect(objs.filter((o) => CLUSTER_SCOPED.has(o.kind)).map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'StorageClass']);
  });

  test('addStorageClass returns a class served by this provisioner', () => {
    const { chart, p } = provisioner({ provisionerName: 'example.com/nfs' });
    const sc = p.addStorageClass('fast', { name: 'nfs-fast', onDelete: OnDelete.DELETE });
    expect(sc.provisionerName).toBe('example.com/nfs');
    const obj = one(synthValid(chart), 'StorageClass');
    expect(obj.provisioner).toBe('example.com/nfs');
    expect(obj.parameters.onDelete).toBe('DELETE');
  });

  test('two provisioners with their own names in one app', () => {
    const app = Testing.app();
    const a = new Chart(app, 'a');
    const b = new Chart(app, 'b');
    const pa = new NfsProvisioner(a, 'nfs', { server: server() });
    const pb = new NfsProvisioner(b, 'nfs', { server: server(), namespace: 'storage' });
    expect(pa.provisionerName).not.toBe(pb.provisionerName);
    const roles = [...synthValid(a), ...synthValid(b)].filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata.name);
    expect(new Set(roles).size).toBe(2);
  });
});

describe('NfsProvisioner validation', () => {
  test('throws without a server', () => {
    expect(() => new NfsProvisioner(Testing.chart(), 'nfs', {} as any)).toThrow(/server \(not set\) is missing: pass NfsServer.external/);
  });

  test('throws for an invalid namespace', () => {
    expect(() => provisioner({ namespace: 'Storage_NS' })).toThrow(/NfsProvisioner test\/nfs: namespace "Storage_NS" is not a valid namespace name: use lowercase/);
  });

  test('throws for an invalid namespace inherited from the chart', () => {
    const chart = new Chart(Testing.app(), 'c', { namespace: 'Bad NS' });
    expect(() => new NfsProvisioner(chart, 'nfs', { server: server() })).toThrow(/namespace "Bad NS" is not a valid namespace name/);
  });

  test.each(['nfs provisioner', 'example.com/', '/nfs', 'Example.COM/nfs', `example.com/${'x'.repeat(64)}`])('throws for the provisioner name %j', (name) => {
    expect(() => provisioner({ provisionerName: name })).toThrow(/provisionerName .* is not a valid provisioner name: use a domain-qualified name/);
  });

  test('throws for two provisioners with one provisioner name in an app', () => {
    const app = new App();
    const a = new Chart(app, 'a');
    const b = new Chart(app, 'b');
    new NfsProvisioner(a, 'nfs', { server: server(), provisionerName: 'example.com/nfs' });
    expect(() => new NfsProvisioner(b, 'nfs', { server: server(), provisionerName: 'example.com/nfs' }))
      .toThrow(/provisionerName "example.com\/nfs" is already used by the NfsProvisioner at a\/nfs: .*give each provisioner its own provisionerName/);
  });

  test.each([0, -1, 1.5, 11, NaN])('throws for replicas %p', (replicas) => {
    expect(() => provisioner({ replicas })).toThrow(/replicas .* is out of range: use a whole number from 1 to 10/);
  });

  test.each([Duration.millis(1500), Duration.days(2), Duration.seconds(86401)])('throws for usageInterval %s', (usageInterval) => {
    expect(() => provisioner({ usageInterval })).toThrow(/usageInterval .* is not a whole number of seconds from 0 to a day: use e.g. Duration.minutes\(1\)/);
  });

  test.each(['', 'my image:1', 'a\tb'])('throws for the image %j', (image) => {
    expect(() => provisioner({ image })).toThrow(/image .* is not an image reference/);
  });

  test.each([
    ['Ghcr.io/Org/Controller:1', /path component "Org"; path components are lower-case/],
    ['ghcr.io/org/controller:', /has a tag that is not 1-128 letters/],
    ['ghcr.io/org/controller:-1', /has a tag that is not 1-128 letters/],
    ['ghcr.io/org/controller@sha256:abc', /has a digest that is not "sha256:" and 64 lower-case hex digits/],
    ['ghcr.io//controller', /has an empty path component/],
    ['ghcr.io/org/controller/', /has an empty path component/],
    ['my_registry.io:5000/controller', /has the registry "my_registry.io:5000"/],
    ['ghcr.io:port/controller', /has the registry "ghcr.io:port"/],
    ['org/-controller', /path component "-controller"/],
  ])('throws for the malformed image reference %j, saying what is wrong', (image, problem) => {
    expect(() => provisioner({ image })).toThrow(/NfsProvisioner test\/nfs: image ".*" is not an image reference: it /);
    expect(() => provisioner({ image })).toThrow(problem);
  });

  test.each([
    'controller', 'org/controller:1.2.3', 'ghcr.io/cdk8s-storage/controller:0.1.0-rc.1', 'localhost:5000/controller', 'registry.example.com:443/a/b/c_d__e-f.g',
    `ghcr.io/org/controller@sha256:${'a'.repeat(64)}`, `ghcr.io/org/controller:1@sha256:${'0'.repeat(64)}`, '[fd00::1]:5000/controller:v1',
  ])('accepts the image reference %s', (image) => {
    expect(provisioner({ image }).p.image).toBe(image);
  });

  test.each(['kubernetes.io/nfs', 'nfs.kubernetes.io/x', 'k8s.io/nfs', 'storage.k8s.io/nfs', 'Kubernetes.IO/nfs'])('throws for the reserved provisioner name %s', (provisionerName) => {
    expect(() => provisioner({ provisionerName })).toThrow(/provisionerName ".*" (is in the (kubernetes\.io|k8s\.io) domain, which Kubernetes reserves for itself|is not a valid provisioner name)/);
  });

  test('a kubernetes.io provisioner name says why it cannot work and what to use', () => {
    expect(() => provisioner({ provisionerName: 'kubernetes.io/nfs' }))
      .toThrow('NfsProvisioner test/nfs: provisionerName "kubernetes.io/nfs" is in the kubernetes.io domain, which Kubernetes reserves for itself: '
        + 'Kubernetes takes a \'kubernetes.io/\' name for one of its built-in provisioners and never hands its claims to this controller: '
        + 'use a domain you own, e.g. \'example.com/nfs\'');
  });

  test('a domain that merely ends like a reserved one is fine', () => {
    expect(provisioner({ provisionerName: 'mykubernetes.io/nfs' }).p.provisionerName).toBe('mykubernetes.io/nfs');
  });

  test.each([NaN, Infinity, -Infinity])('throws for replicas %p, naming the value', (replicas) => {
    expect(() => provisioner({ replicas })).toThrow(`replicas ${replicas} is out of range: use a whole number from 1 to 10`);
  });

  test.each([Duration.seconds(NaN), Duration.seconds(Infinity), Duration.minutes(NaN)])('throws for usageInterval %s, naming the prop', (usageInterval) => {
    expect(() => provisioner({ usageInterval })).toThrow(/NfsProvisioner test\/nfs: usageInterval .* is not a whole number of seconds from 0 to a day/);
  });
});
