/**
 * The pod knobs (WorkloadOptions) on both provisioners: each one in the synthesized YAML,
 * each bad value refused with prop, value and fix, and the exposed workload objects patched
 * the way users patch them.
 */
import { ApiObject, Chart, JsonPatch, Testing } from 'cdk8s';
import { ImagePullPolicy, k8s } from 'cdk8s-plus-28';
import { LocalStaticProvisioner, LogLevel, NfsProvisioner, NfsServer, WorkloadOptions } from '../../../src';
import { parseLocalInvocation } from '../../../src/runtime/local/flags';
import { parseNfsConfig } from '../../../src/runtime/nfs/flags';
import { all, one, synthValid } from '../../util/synth';

/** One provisioner of each kind, built the same way from the knobs. */
interface Subject {
  readonly name: string;
  readonly kind: 'Deployment' | 'DaemonSet';
  readonly where: string;
  make(chart: Chart, knobs: WorkloadOptions & { nodeCleanup?: boolean }): { workload: ApiObject };
}

const SUBJECTS: Subject[] = [
  {
    name: 'NfsProvisioner',
    kind: 'Deployment',
    where: 'NfsProvisioner test/p',
    make: (chart, knobs) => {
      const p = new NfsProvisioner(chart, 'p', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports' }), ...knobs });
      return { workload: p.deployment! };
    },
  },
  {
    name: 'LocalStaticProvisioner',
    kind: 'DaemonSet',
    where: 'LocalStaticProvisioner test/p',
    make: (chart, knobs) => {
      const p = new LocalStaticProvisioner(chart, 'p', knobs);
      p.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
      return { workload: p.daemonSet };
    },
  },
];

function synth(subject: Subject, knobs: WorkloadOptions & { nodeCleanup?: boolean } = {}) {
  const chart = Testing.chart();
  const { workload } = subject.make(chart, knobs);
  const objs = synthValid(chart);
  const object = one(objs, subject.kind);
  return { chart, workload, objs, object, pod: object.spec.template, container: object.spec.template.spec.containers[0] };
}

/** The flags after the command, as the controller's own parser reads them. */
function parsed(subject: Subject, args: string[]): any {
  const [, ...flags] = args;
  return subject.kind === 'Deployment'
    ? parseNfsConfig(flags, { POD_NAMESPACE: 'default', POD_NAME: 'p' })
    : parseLocalInvocation(flags, { NODE_NAME: 'n', POD_NAME: 'p' }).config;
}

const KNOBS: WorkloadOptions = {
  resources: {
    requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('128Mi') },
    limits: { cpu: k8s.Quantity.fromString('1'), memory: k8s.Quantity.fromString('512Mi') },
  },
  nodeSelector: { 'node.example.com/storage': 'true' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'storage', effect: 'NoSchedule' }],
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] }],
      },
    },
  },
  priorityClassName: 'system-cluster-critical',
  imagePullPolicy: ImagePullPolicy.ALWAYS,
  imagePullSecrets: ['registry-credentials', 'mirror'],
  podLabels: { 'team': 'storage', 'example.com/cost-center': 'k8s' },
  podAnnotations: { 'example.com/owner': 'platform' },
  logLevel: LogLevel.DEBUG,
  httpPort: 9090,
};

describe.each(SUBJECTS)('$name pod knobs', (subject) => {
  test('each knob is in the pod spec the way Kubernetes takes it', () => {
    const { pod, container, object } = synth(subject, KNOBS);
    expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    expect(pod.spec.nodeSelector).toEqual({ 'node.example.com/storage': 'true' });
    expect(pod.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'storage', effect: 'NoSchedule' }]);
    expect(pod.spec.affinity).toEqual(KNOBS.affinity);
    expect(pod.spec.priorityClassName).toBe('system-cluster-critical');
    expect(container.imagePullPolicy).toBe('Always');
    expect(pod.spec.imagePullSecrets).toEqual([{ name: 'registry-credentials' }, { name: 'mirror' }]);
    expect(pod.metadata.labels).toMatchObject({ 'team': 'storage', 'example.com/cost-center': 'k8s' });
    expect(pod.metadata.annotations).toMatchObject({ 'example.com/owner': 'platform' });
    // The pod labels are the pods' only: the selector and the object's own labels stay.
    expect(object.spec.selector.matchLabels).not.toHaveProperty('team');
    expect(object.metadata.labels).not.toHaveProperty('team');
    expect(container.args).toContain('--log-level=debug');
    expect(container.args).toContain('--http-port=9090');
    expect(container.ports).toEqual([{ name: 'http', containerPort: 9090, protocol: 'TCP' }]);
  });

  test('the controller parses the log level and port the construct writes', () => {
    const { container } = synth(subject, { logLevel: LogLevel.WARN, httpPort: 9100 });
    expect(parsed(subject, container.args)).toMatchObject({ logLevel: 'warn', httpPort: 9100 });
  });

  test('without knobs: IfNotPresent, the default resources, no log-level flag, port 8080', () => {
    const { pod, container } = synth(subject);
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    // The NFS controller's memory comes from bench/nfs-scale.ts (docs/controller.md).
    expect(container.resources.requests).toEqual({ cpu: '50m', memory: subject.name === 'NfsProvisioner' ? '128Mi' : '64Mi' });
    expect(container.args.some((a: string) => a.startsWith('--log-level'))).toBe(false);
    expect(container.args).toContain('--http-port=8080');
    for (const field of ['priorityClassName', 'imagePullSecrets', 'nodeSelector', 'tolerations']) expect(pod.spec).not.toHaveProperty(field);
  });

  test('the exposed workload object is the one synthesized', () => {
    const { workload, object } = synth(subject);
    expect(workload.kind).toBe(subject.kind);
    expect(workload.name).toBe(object.metadata.name);
  });

  test('a patch with plain JSON keeps its values (the typed serialiser would turn cpu: "2" into null)', () => {
    const chart = Testing.chart();
    const { workload } = subject.make(chart, {});
    workload.addJsonPatch(
      JsonPatch.add('/spec/template/spec/containers/0/resources/limits/cpu', '2'),
      JsonPatch.add('/spec/template/spec/containers/0/livenessProbe/httpGet/port', 8080),
      JsonPatch.add('/spec/template/spec/hostNetwork', true),
    );
    const object = one(synthValid(chart), subject.kind);
    const spec = object.spec.template.spec;
    expect(spec.containers[0].resources.limits.cpu).toBe('2');
    expect(spec.containers[0].livenessProbe.httpGet.port).toBe(8080);
    expect(spec.hostNetwork).toBe(true);
  });

  test.each<[string, unknown, string]>([
    ['a k8s class instance', k8s.Quantity.fromString('2'), '/limits/cpu is an instance of Quantity ({"value":"2"})'],
    ['NaN', NaN, '/limits/cpu is NaN'],
    ['null', null, '/limits/cpu is null'],
    ['undefined', undefined, '/limits/cpu is undefined'],
    ['an object holding a class instance', { cpu: k8s.Quantity.fromString('2') }, '/limits/cpu is an instance of Quantity'],
  ])('a patch with %s is refused, naming where, instead of writing null', (_what, value, where) => {
    const { workload } = subject.make(Testing.chart(), {});
    const path = value !== null && typeof value === 'object' && !('value' in value) ? '/spec/template/spec/containers/0/resources/limits' : '/spec/template/spec/containers/0/resources/limits/cpu';
    expect(() => workload.addJsonPatch(JsonPatch.add(path, value))).toThrow(
      `${subject.kind} test/p/${subject.kind === 'Deployment' ? 'Deployment' : 'Resource'}: the patch value at /spec/template/spec/containers/0/resources${where}`);
    expect(() => workload.addJsonPatch(JsonPatch.replace(path, value))).toThrow(/patch with plain JSON values/);
    expect(() => workload.addJsonPatch(JsonPatch.remove(path))).not.toThrow();
  });

  test.each<[string, WorkloadOptions, string]>([
    ['a plain string quantity', { resources: { limits: { memory: '1Gi' as any } } },
      'resources.limits["memory"] "1Gi" is not a k8s.Quantity: wrap it: k8s.Quantity.fromString("1Gi")'],
    ['a quantity that is not one', { resources: { requests: { cpu: k8s.Quantity.fromString('lots') } } },
      'resources.requests["cpu"] "lots" is not a non-negative Kubernetes quantity: use e.g. "500m" for CPU or "256Mi" for memory'],
    ['a limit below its request', { resources: { requests: { cpu: k8s.Quantity.fromString('500m') }, limits: { cpu: k8s.Quantity.fromString('0.4') } } },
      'resources.limits["cpu"] "0.4" is below its request (500m): raise the limit to at least the request, or lower the request'],
    ['a bad resource name', { resources: { limits: { 'c p u': k8s.Quantity.fromString('1') } } },
      'resources.limits key "c p u" is not a resource name'],
    ['a bad node selector value', { nodeSelector: { disks: 'yes please' } },
      'nodeSelector["disks"] "yes please" is not a valid label value'],
    ['a bad toleration', { tolerations: [{ key: 'dedicated', operator: 'Gt' }] },
      'tolerations[0].operator "Gt" is not one Kubernetes knows'],
    ['a bad priority class', { priorityClassName: 'System_Critical' },
      'priorityClassName "System_Critical" is not a valid PriorityClass name'],
    ['a bad pull policy', { imagePullPolicy: 'Sometimes' as ImagePullPolicy },
      'imagePullPolicy "Sometimes" is not a pull policy: use ImagePullPolicy.IF_NOT_PRESENT, ALWAYS or NEVER'],
    ['a bad pull secret', { imagePullSecrets: ['Registry Creds'] },
      'imagePullSecrets[0] "Registry Creds" is not a valid Secret name'],
    ['a pull secret twice', { imagePullSecrets: ['a', 'a'] },
      'imagePullSecrets[1] "a" is listed twice: list each Secret once'],
    ['a selector label in podLabels', { podLabels: { 'app.kubernetes.io/name': 'mine' } },
      'podLabels key "app.kubernetes.io/name" selects the pods and is set by the construct'],
    ['a bad pod label value', { podLabels: { team: '-storage' } },
      'podLabels["team"] "-storage" is not a valid label value'],
    ['an annotation in the package\'s domain', { podAnnotations: { 'cdk8s-storage.dev/config-hash': 'x' } },
      'podAnnotations key "cdk8s-storage.dev/config-hash" is in the cdk8s-storage.dev domain, which this package writes itself'],
    ['an annotation that is not a string', { podAnnotations: { 'example.com/n': 1 as any } },
      'podAnnotations["example.com/n"] 1 is not a string'],
    ['a bad log level', { logLevel: 'verbose' as LogLevel },
      'logLevel "verbose" is not a log level: use LogLevel.DEBUG, INFO, WARN or ERROR'],
    ['port 0', { httpPort: 0 }, 'httpPort 0 is not a port: use a whole number from 1 to 65535'],
    ['a fractional port', { httpPort: 80.5 }, 'httpPort 80.5 is not a port'],
  ])('refuses %s', (_what, knobs, message) => {
    expect(() => subject.make(Testing.chart(), knobs)).toThrow(`${subject.where}: ${message}`);
  });
});

describe('NfsProvisioner affinity', () => {
  const nfs = SUBJECTS[0];

  test('by default the replicas prefer different nodes; a given affinity replaces that', () => {
    expect(synth(nfs).pod.spec.affinity.podAntiAffinity).toBeDefined();
    expect(synth(nfs, { affinity: KNOBS.affinity }).pod.spec.affinity).toEqual(KNOBS.affinity);
  });
});

describe('LocalStaticProvisioner node-deletion role', () => {
  const local = SUBJECTS[1];

  test('takes the pull, priority, label, annotation and log knobs, not where the agent runs, its resources or port', () => {
    const { objs } = synth(local, { ...KNOBS, nodeCleanup: true });
    const deployment = all(objs, 'Deployment')[0];
    const pod = deployment.spec.template;
    const container = pod.spec.containers[0];
    expect(container.imagePullPolicy).toBe('Always');
    expect(pod.spec.imagePullSecrets).toEqual([{ name: 'registry-credentials' }, { name: 'mirror' }]);
    expect(pod.spec.priorityClassName).toBe('system-cluster-critical');
    expect(pod.metadata.labels).toMatchObject({ team: 'storage' });
    expect(pod.metadata.annotations).toEqual({ 'example.com/owner': 'platform' });
    expect(container.args).toEqual(['local', '--node-cleanup', '--http-port=8080', '--log-level=debug']);
    expect(container.resources.requests).toEqual({ cpu: '10m', memory: '48Mi' });
    for (const field of ['nodeSelector', 'tolerations', 'affinity']) expect(pod.spec).not.toHaveProperty(field);
  });
});
