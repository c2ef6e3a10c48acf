/**
 * NfsProvisioner with NfsServer.inCluster: the server's ServiceAccount and roles, Service,
 * StatefulSet and PodDisruptionBudget, and the classes' mount options. The container args
 * are read back with the runtime's own parser, so a flag the command would refuse fails here.
 */
import { Chart, Duration, Size, Testing } from 'cdk8s';
import { ImagePullPolicy, k8s } from 'cdk8s-plus-28';
import { LogLevel, NfsInClusterServerOptions, NfsProvisioner, NfsQuota, NfsServer, NfsStorageClass } from '../../../src';
import { NFS_CONTROLLER_RULES, nfsLeaderElectionRules, nfsServerServiceRules } from '../../../src/contract/rbac';
import { parseNfsServerConfig } from '../../../src/runtime/nfs-server/flags';
import { one, synthValid } from '../../util/synth';

type ProvisionerProps = Partial<ConstructorParameters<typeof NfsProvisioner>[2]>;

function inCluster(options: NfsInClusterServerOptions = {}, props: ProvisionerProps = {}, chart: Chart = Testing.chart()) {
  const p = new NfsProvisioner(chart, 'nfs', { server: NfsServer.inCluster(options), provisionerName: 'example.com/nfs-server', ...props });
  return { chart, p, objs: synthValid(chart) };
}

const pod = (objs: any[]) => one(objs, 'StatefulSet').spec.template.spec;
const container = (objs: any[]) => pod(objs).containers[0];
/** The server's Service (the other is the headless metrics Service). */
const nfsService = (objs: any[]) => one(objs.filter((o) => o.kind !== 'Service' || o.spec.ports.some((port: any) => port.name === 'nfs')), 'Service');
const ENV = { POD_NAMESPACE: 'storage', POD_NAME: 'nfs-0' };

describe('NfsProvisioner with an in-cluster server, defaults', () => {
  const { p, objs } = inCluster({}, { namespace: 'storage' });

  test('synthesizes the server\'s objects and no controller Deployment', () => {
    expect(objs.map((o) => o.kind).sort()).toEqual([
      'ClusterRole', 'ClusterRoleBinding', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'Service', 'ServiceAccount', 'StatefulSet',
    ]);
  });

  test('resolved props: one replica, the server image, the Service name', () => {
    expect(p.replicas).toBe(1);
    expect(p.image).toBe(p.server.inClusterOptions!.image);
    expect(p.serviceName).toBe(nfsService(objs).metadata.name);
  });

  test('the Service exposes 2049/TCP only, named nfs, to the server pod, with an assigned IP', () => {
    const service = nfsService(objs);
    expect(service.metadata.namespace).toBe('storage');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.clusterIP).toBeUndefined();
    expect(service.spec.ports).toEqual([{ name: 'nfs', port: 2049, targetPort: 'nfs', protocol: 'TCP' }]);
    expect(service.spec.selector).toEqual(one(objs, 'StatefulSet').spec.selector.matchLabels);
    expect(one(objs, 'StatefulSet').spec.template.metadata.labels).toMatchObject(service.spec.selector);
  });

  test('the ClusterRole is the NFS controller\'s rule table; the Role adds the Lease and reading its own Service', () => {
    const strip = (rules: readonly any[]) => rules.map((r) => JSON.parse(JSON.stringify({ ...r })));
    expect(one(objs, 'ClusterRole').rules).toEqual(strip(NFS_CONTROLLER_RULES));
    expect(one(objs, 'Role').rules).toEqual(strip([...nfsLeaderElectionRules(p.leaseName), ...nfsServerServiceRules(p.serviceName!)]));
    expect(one(objs, 'RoleBinding').subjects).toEqual([{ kind: 'ServiceAccount', name: p.serviceAccountName, namespace: 'storage' }]);
  });

  test('a StatefulSet of one pod named after the Service, with the default class\'s 10Gi claim at /data', () => {
    const sts = one(objs, 'StatefulSet');
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.serviceName).toBe(p.serviceName);
    expect(sts.spec.volumeClaimTemplates).toEqual([{
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
    }]);
    expect(container(objs).volumeMounts).toEqual([
      { name: 'data', mountPath: '/data' },
      { name: 'run', mountPath: '/run' },
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    expect(pod(objs).volumes.map((v: any) => v.name)).toEqual(['run', 'tmp']);
  });

  test('the container runs the nfs-server command with flags its parser accepts', () => {
    const c = container(objs);
    expect(c.image).toBe(`ghcr.io/cdk8s-storage/nfs-server:${p.image.split(':').pop()}`);
    expect(c.args[0]).toBe('nfs-server');
    const config = parseNfsServerConfig(c.args.slice(1), ENV);
    expect(config).toMatchObject({
      provisionerName: 'example.com/nfs-server',
      serviceName: p.serviceName,
      namespace: 'storage',
      dataDir: '/data',
      quota: 'loop-image',
      preallocate: false,
      ganeshaConfigDir: '/run/cdk8s-storage',
      httpPort: 8080,
      usageIntervalSeconds: 60,
    });
    expect(config.leaderElection).toMatchObject({ leaseName: p.leaseName, namespace: 'storage' });
    expect(c.env.map((e: any) => e.name)).toEqual(['POD_NAME', 'POD_NAMESPACE']);
  });

  test('ports 2049 (nfs) and 8080 (http); probes on /healthz and /readyz, and time to mount every volume at start', () => {
    const c = container(objs);
    expect(c.ports).toEqual([{ name: 'nfs', containerPort: 2049, protocol: 'TCP' }, { name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBe(300);
  });

  test('no host network, no Service links, the API token mounted', () => {
    const spec = pod(objs);
    expect(spec.hostNetwork ?? false).toBe(false);
    expect(spec.enableServiceLinks).toBe(false);
    expect(spec.automountServiceAccountToken).toBe(true);
    expect(spec.serviceAccountName).toBe(p.serviceAccountName);
  });

  test('loop images: a privileged container (loop devices) as root with a read-only root filesystem', () => {
    expect(container(objs).securityContext).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      readOnlyRootFilesystem: true,
      privileged: true,
      allowPrivilegeEscalation: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  test('the PodDisruptionBudget allows no eviction', () => {
    const pdb = one(objs, 'PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable).toBe(0);
    expect(pdb.spec.selector.matchLabels).toEqual(one(objs, 'StatefulSet').spec.selector.matchLabels);
  });
});

describe('NfsProvisioner with an in-cluster server, props', () => {
  test.each<[NfsQuota, string[]]>([
    [NfsQuota.NONE, ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'SETGID', 'SETUID']],
    [NfsQuota.XFS_PROJECT, ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'SETGID', 'SETUID', 'SYS_ADMIN']],
  ])('quota %s: not privileged, every capability dropped but %j', (quota, add) => {
    const { objs } = inCluster({ quota });
    const c = container(objs);
    expect(c.securityContext).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add } });
    expect(parseNfsServerConfig(c.args.slice(1), ENV).quota).toBe(quota);
  });

  test('preallocate reaches the command', () => {
    const { objs } = inCluster({ preallocate: true });
    expect(parseNfsServerConfig(container(objs).args.slice(1), ENV).preallocate).toBe(true);
  });

  test('storageClass and backingSize make the claim template', () => {
    const { objs } = inCluster({ storageClass: 'fast-ssd', backingSize: Size.gibibytes(200) });
    expect(one(objs, 'StatefulSet').spec.volumeClaimTemplates[0].spec).toEqual({
      accessModes: ['ReadWriteOnce'], storageClassName: 'fast-ssd', resources: { requests: { storage: '200Gi' } },
    });
  });

  test('hostPath: a node directory instead of a claim, pinned to hostPathNode', () => {
    const { objs } = inCluster({ hostPath: '/var/lib/nfs-data', hostPathNode: 'node-1' });
    const sts = one(objs, 'StatefulSet');
    expect(sts.spec.volumeClaimTemplates).toBeUndefined();
    expect(pod(objs).volumes[0]).toEqual({ name: 'data', hostPath: { path: '/var/lib/nfs-data', type: 'DirectoryOrCreate' } });
    expect(pod(objs).nodeSelector).toEqual({ 'kubernetes.io/hostname': 'node-1' });
  });

  test('hostPath without hostPathNode runs on any node', () => {
    expect(pod(inCluster({ hostPath: '/var/lib/nfs-data' }).objs).nodeSelector).toBeUndefined();
  });

  test('clusterIP pins the Service\'s IP', () => {
    expect(nfsService(inCluster({ clusterIP: '10.96.0.50' }).objs).spec.clusterIP).toBe('10.96.0.50');
  });

  test('image is the server container\'s', () => {
    const { p, objs } = inCluster({ image: 'registry.example.com/storage/nfs-server:1.2.3' });
    expect(container(objs).image).toBe('registry.example.com/storage/nfs-server:1.2.3');
    expect(p.image).toBe('registry.example.com/storage/nfs-server:1.2.3');
  });

  test('allowEviction lets a drain evict the one pod', () => {
    expect(one(inCluster({ allowEviction: true }).objs, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
  });

  test('usageInterval reaches the command', () => {
    const { objs } = inCluster({}, { usageInterval: Duration.minutes(5) });
    expect(parseNfsServerConfig(container(objs).args.slice(1), ENV).usageIntervalSeconds).toBe(300);
  });

  test('createNamespace labels the namespace to enforce the privileged Pod Security Standard, which the server pod needs', () => {
    const ns = one(inCluster({ quota: NfsQuota.NONE }, { namespace: 'storage', createNamespace: true }).objs, 'Namespace');
    expect(ns.metadata.name).toBe('storage');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    const chart = Testing.chart();
    new NfsProvisioner(chart, 'nfs', { server: NfsServer.external({ host: 'nas', path: '/exports' }), createNamespace: true });
    expect(one(synthValid(chart), 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('baseline');
  });

  test('the StatefulSet and Service are named from the construct id, not the path: a renamed chart keeps the backing claim and the cluster IP', () => {
    const names = (chartId: string) => {
      const { objs } = inCluster({}, {}, new Chart(Testing.app(), chartId));
      return [one(objs, 'StatefulSet').metadata.name, nfsService(objs).metadata.name];
    };
    expect(names('storage')).toEqual(['nfs-server', 'nfs-server']);
    expect(names('storage-v2')).toEqual(names('storage'));
  });

  test('the StatefulSet\'s name leaves room for its pods\' controller-revision-hash label, and the Service\'s starts with a letter', () => {
    const chart = Testing.chart();
    new NfsProvisioner(chart, 'a-provisioner-id-that-is-rather-long-for-its-own-good', {
      server: NfsServer.inCluster(), provisionerName: 'example.com/long',
    });
    new NfsProvisioner(chart, '2nd', { server: NfsServer.inCluster(), provisionerName: 'example.com/second' });
    const names = synthValid(chart).filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name);
    expect(names).toEqual(['a-provisioner-id-that-is-rather-long-for-its-server', 'nfs-2nd-server']);
    expect(names[0].length).toBeLessThanOrEqual(52);
  });

  test('replicas: 1 is accepted', () => {
    expect(inCluster({}, { replicas: 1 }).p.replicas).toBe(1);
  });

  test('throws for replicas other than 1', () => {
    expect(() => inCluster({}, { replicas: 2 })).toThrow(
      'NfsProvisioner test/nfs: replicas 2 is not 1, but an in-cluster server is one pod: leave replicas unset');
  });

  test('throws for the controller image', () => {
    expect(() => inCluster({}, { image: 'example.com/controller:1' })).toThrow(
      'NfsProvisioner test/nfs: image "example.com/controller:1" is the controller image, which an in-cluster server does not run: '
      + 'set the server\'s image with NfsServer.inCluster({ image }) and leave image unset');
  });
});

describe('two in-cluster servers of one name', () => {
  const LONG = 'a-provisioner-id-that-is-rather-long-for-its-own';

  test('in one namespace are refused at construction, naming both, the name and the fix', () => {
    const app = Testing.app();
    new NfsProvisioner(new Chart(app, 'one'), 'files', { server: NfsServer.inCluster(), namespace: 'storage', provisionerName: 'example.com/a' });
    expect(() => new NfsProvisioner(new Chart(app, 'two'), 'files', { server: NfsServer.inCluster(), namespace: 'storage', provisionerName: 'example.com/b' }))
      .toThrow('NfsProvisioner two/files: id "files" names its in-cluster server "files-server" (Service and StatefulSet), which the in-cluster server of '
        + 'the NfsProvisioner at one/files (id "files") also has in namespace "storage"; the name is the construct id as a DNS label, cut to 45 characters, '
        + 'plus "-server": give this NfsProvisioner a construct id that differs from the other\'s within its first 45 characters, or put it in another namespace '
        + '(renaming a server that already holds volumes moves its Service and backing claim, so rename the new one)');
  });

  test('is reported before the default provisionerName they also share', () => {
    const app = Testing.app();
    new NfsProvisioner(new Chart(app, 'one'), 'files', { server: NfsServer.inCluster(), namespace: 'storage' });
    expect(() => new NfsProvisioner(new Chart(app, 'two'), 'files', { server: NfsServer.inCluster(), namespace: 'storage' }))
      .toThrow(/^NfsProvisioner two\/files: id "files" names its in-cluster server "files-server"/);
  });

  test('ids that differ only past the first 45 characters, or only in case and separators, collide', () => {
    const chart = Testing.chart();
    new NfsProvisioner(chart, `${LONG}-one`, { server: NfsServer.inCluster(), namespace: 'storage', provisionerName: 'example.com/a' });
    expect(() => new NfsProvisioner(chart, `${LONG}-two`, { server: NfsServer.inCluster(), namespace: 'storage', provisionerName: 'example.com/b' }))
      .toThrow('names its in-cluster server "a-provisioner-id-that-is-rather-long-for-its-server"');
    const other = Testing.chart();
    new NfsProvisioner(other, 'Shared_Files', { server: NfsServer.inCluster(), namespace: 'storage', provisionerName: 'example.com/a' });
    expect(() => new NfsProvisioner(other, 'shared-files', { server: NfsServer.inCluster(), namespace: 'storage', provisionerName: 'example.com/b' }))
      .toThrow('names its in-cluster server "shared-files-server"');
  });

  test('in two namespaces, or beside an external server of that id, are fine', () => {
    const app = Testing.app();
    new NfsProvisioner(new Chart(app, 'one'), 'files', { server: NfsServer.inCluster(), namespace: 'storage-a', provisionerName: 'example.com/a' });
    new NfsProvisioner(new Chart(app, 'two'), 'files', { server: NfsServer.inCluster(), namespace: 'storage-b', provisionerName: 'example.com/b' });
    new NfsProvisioner(new Chart(app, 'three'), 'files', {
      server: NfsServer.external({ host: 'nas', path: '/exports' }), namespace: 'storage-a', provisionerName: 'example.com/c',
    });
    expect(app.charts.flatMap((c) => synthValid(c)).filter((o) => o.kind === 'StatefulSet').map((o) => `${o.metadata.namespace}/${o.metadata.name}`))
      .toEqual(['storage-a/files-server', 'storage-b/files-server']);
  });
});

describe('classes of an in-cluster server', () => {
  test('refuse a pathPattern (every volume is its own export), naming the prop, the value and the fix', () => {
    const { p } = inCluster();
    expect(p.exportPerVolume).toBe(true);
    expect(() => p.addStorageClass('sc', { pathPattern: '${.PVC.namespace}/${.PVC.name}' })).toThrow(
      'NfsStorageClass test/nfs/sc: pathPattern "${.PVC.namespace}/${.PVC.name}" is set on a class of an in-cluster server, where every volume is its own '
      + 'export named after its PV, so no directory pattern applies: remove pathPattern from this class (it applies to provisioners of NfsServer.external only)');
  });

  test('through NfsStorageClass too; an external server\'s class keeps its pattern', () => {
    const { chart, p } = inCluster();
    expect(() => new NfsStorageClass(chart, 'direct', { provisioner: p, pathPattern: '${.PV.name}' })).toThrow(/pathPattern "\$\{\.PV\.name\}" is set on a class of an in-cluster server/);
    const external = new NfsProvisioner(chart, 'ext', { server: NfsServer.external({ host: 'nas', path: '/exports' }), provisionerName: 'example.com/ext' });
    expect(external.exportPerVolume).toBe(false);
    expect(external.addStorageClass('keeps', { pathPattern: '${.PV.name}' }).pathPattern).toBe('${.PV.name}');
  });

  test('without a pathPattern, and with a directoryMode (the mode of each volume\'s root directory there), are accepted', () => {
    const { p } = inCluster();
    const sc = p.addStorageClass('sc', { directoryMode: '0770' });
    expect(sc.directoryMode).toBe('0770');
  });

  test('get mount options for a server that restarts', () => {
    const { p } = inCluster();
    expect(p.defaultMountOptions).toEqual(['nfsvers=4.1', 'hard', 'noresvport', 'timeo=100', 'retrans=3']);
    const sc = p.addStorageClass('sc', { name: 'nfs-server' });
    expect(sc.mountOptions).toEqual(p.defaultMountOptions);
  });

  test('written on the StorageClass; a class\'s own mountOptions win', () => {
    const chart = Testing.chart();
    const p = new NfsProvisioner(chart, 'nfs', { server: NfsServer.inCluster() });
    p.addStorageClass('a', { name: 'a' });
    new NfsStorageClass(chart, 'b', { name: 'b', provisioner: p, mountOptions: ['nfsvers=4.2'] });
    const classes = synthValid(chart).filter((o) => o.kind === 'StorageClass');
    expect(classes.map((c) => [c.metadata.name, c.mountOptions])).toEqual([
      ['a', ['nfsvers=4.1', 'hard', 'noresvport', 'timeo=100', 'retrans=3']],
      ['b', ['nfsvers=4.2']],
    ]);
  });

  test('an external server keeps the plain default', () => {
    const chart = Testing.chart();
    const p = new NfsProvisioner(chart, 'nfs', { server: NfsServer.external({ host: 'nas', path: '/exports' }) });
    expect(p.defaultMountOptions).toBeUndefined();
    expect(p.addStorageClass('sc').mountOptions).toEqual(['nfsvers=4.1', 'hard']);
  });
});

describe('NfsProvisioner with an in-cluster server, pod knobs', () => {
  test('the pod knobs apply to the server pod and its command', () => {
    const { objs } = inCluster({ hostPath: '/srv/nfs', hostPathNode: 'node-a' }, {
      namespace: 'storage',
      resources: { requests: { cpu: k8s.Quantity.fromString('1') }, limits: { memory: k8s.Quantity.fromString('2Gi') } },
      nodeSelector: { disk: 'ssd' },
      tolerations: [{ key: 'storage', operator: 'Exists', effect: 'NoSchedule' }],
      priorityClassName: 'system-cluster-critical',
      imagePullPolicy: ImagePullPolicy.ALWAYS,
      imagePullSecrets: ['registry'],
      podLabels: { team: 'storage' },
      podAnnotations: { 'example.com/owner': 'storage' },
      logLevel: LogLevel.DEBUG,
      httpPort: 9090,
      scrapeAnnotations: true,
    });
    const template = one(objs, 'StatefulSet').spec.template;
    const spec = template.spec;
    expect(spec.nodeSelector).toEqual({ 'disk': 'ssd', 'kubernetes.io/hostname': 'node-a' });
    expect(spec.tolerations).toEqual([{ key: 'storage', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(spec.priorityClassName).toBe('system-cluster-critical');
    expect(spec.imagePullSecrets).toEqual([{ name: 'registry' }]);
    expect(template.metadata.labels.team).toBe('storage');
    expect(template.metadata.annotations).toMatchObject({ 'example.com/owner': 'storage', 'prometheus.io/port': '9090' });
    const c = spec.containers[0];
    expect(c.imagePullPolicy).toBe('Always');
    expect(c.resources).toEqual({ requests: { cpu: '1' }, limits: { memory: '2Gi' } });
    expect(c.ports).toEqual([{ name: 'nfs', containerPort: 2049, protocol: 'TCP' }, { name: 'http', containerPort: 9090, protocol: 'TCP' }]);
    const config = parseNfsServerConfig(c.args.slice(1), ENV);
    expect(config.httpPort).toBe(9090);
    expect(config.logLevel).toBe('debug');
  });

  test('a metrics Service selects the server pod on its HTTP port, like the other provisioners', () => {
    const { objs } = inCluster({}, { namespace: 'storage' });
    const metrics = objs.find((o) => o.kind === 'Service' && o.spec.clusterIP === 'None');
    expect(metrics.spec.selector).toEqual(one(objs, 'StatefulSet').spec.selector.matchLabels);
    expect(metrics.spec.ports).toEqual([{ name: 'metrics', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
  });

  test('throws for a nodeSelector that pins another node than hostPathNode', () => {
    expect(() => inCluster({ hostPath: '/srv/nfs', hostPathNode: 'node-a' }, { nodeSelector: { 'kubernetes.io/hostname': 'node-b' } }))
      .toThrow('nodeSelector["kubernetes.io/hostname"] "node-b" is not the server\'s hostPathNode ("node-a"): the server runs on the node holding its hostPath');
  });
});
