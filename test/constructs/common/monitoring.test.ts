/**
 * The metrics Service (on by default), the opt-in prometheus-operator monitors and the
 * opt-in scrape annotations, on both provisioners.
 */
import { Chart, Testing } from 'cdk8s';
import { LocalStaticProvisioner, MonitoringOptions, NfsProvisioner, NfsServer } from '../../../src';
import { validateManifests } from '../../util/schema';
import { all, one } from '../../util/synth';

interface Subject {
  readonly name: string;
  readonly kind: 'Deployment' | 'DaemonSet';
  readonly where: string;
  make(chart: Chart, options: MonitoringOptions & { httpPort?: number }): void;
}

const SUBJECTS: Subject[] = [
  {
    name: 'NfsProvisioner',
    kind: 'Deployment',
    where: 'NfsProvisioner test/p',
    make: (chart, options) => {
      new NfsProvisioner(chart, 'p', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports' }), namespace: 'storage', ...options });
    },
  },
  {
    name: 'LocalStaticProvisioner',
    kind: 'DaemonSet',
    where: 'LocalStaticProvisioner test/p',
    make: (chart, options) => {
      new LocalStaticProvisioner(chart, 'p', { namespace: 'storage', ...options }).addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
    },
  },
];

const MONITORING_KINDS = new Set(['ServiceMonitor', 'PodMonitor']);

/** Synthesizes; the Kubernetes objects are schema-checked (the monitors are CRD kinds the schema does not have). */
function synth(subject: Subject, options: MonitoringOptions & { httpPort?: number } = {}): any[] {
  const chart = Testing.chart();
  subject.make(chart, options);
  const objs = Testing.synth(chart);
  validateManifests(objs.filter((o) => !MONITORING_KINDS.has(o.kind)));
  return objs;
}

describe.each(SUBJECTS)('$name metrics', (subject) => {
  test('a headless Service selects the pods, its port named metrics pointing at the http port', () => {
    const objs = synth(subject, { httpPort: 9090 });
    const service = one(objs, 'Service');
    const workload = one(objs, subject.kind);
    expect(service.metadata.namespace).toBe('storage');
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.selector).toEqual(workload.spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([{ name: 'metrics', port: 9090, targetPort: 'http', protocol: 'TCP' }]);
    expect(workload.spec.template.spec.containers[0].ports).toEqual([{ name: 'http', containerPort: 9090, protocol: 'TCP' }]);
  });

  test('metricsService: false leaves it out; no monitors and no scrape annotations unless asked', () => {
    const objs = synth(subject, { metricsService: false });
    expect(all(objs, 'Service')).toEqual([]);
    expect(objs.filter((o) => MONITORING_KINDS.has(o.kind))).toEqual([]);
    expect(Object.keys(one(objs, subject.kind).spec.template.metadata.annotations ?? {}).filter((k) => k.startsWith('prometheus.io/'))).toEqual([]);
  });

  test('a ServiceMonitor selects the Service by its labels, in its namespace, honouring the series\' labels', () => {
    const objs = synth(subject, { serviceMonitor: true });
    const monitor = one(objs, 'ServiceMonitor');
    const service = one(objs, 'Service');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.namespace).toBe('storage');
    expect(monitor.spec).toEqual({
      selector: { matchLabels: service.metadata.labels },
      namespaceSelector: { matchNames: ['storage'] },
      endpoints: [{ port: 'metrics', path: '/metrics', honorLabels: true }],
    });
    expect(monitor.spec.selector.matchLabels['cdk8s-storage.dev/metrics']).toBe('true');
    // The selector matches this Service and no other object of kind Service in the app.
    expect(all(objs, 'Service')).toHaveLength(1);
  });

  test('a PodMonitor selects the pods directly and needs no Service', () => {
    const objs = synth(subject, { podMonitor: true, metricsService: false });
    const monitor = one(objs, 'PodMonitor');
    expect(monitor.spec).toEqual({
      selector: { matchLabels: one(objs, subject.kind).spec.selector.matchLabels },
      namespaceSelector: { matchNames: ['storage'] },
      podMetricsEndpoints: [{ port: 'http', path: '/metrics', honorLabels: true }],
    });
  });

  test('scrape annotations on the pods name the port and path', () => {
    const objs = synth(subject, { scrapeAnnotations: true, httpPort: 9100 });
    expect(one(objs, subject.kind).spec.template.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true', 'prometheus.io/port': '9100', 'prometheus.io/path': '/metrics',
    });
  });

  test('the pods do not carry the metrics Service\'s label (a PodMonitor selects them by the workload\'s own labels)', () => {
    const objs = synth(subject, { serviceMonitor: true });
    expect(one(objs, subject.kind).spec.template.metadata.labels['cdk8s-storage.dev/metrics']).toBeUndefined();
  });

  test('a ServiceMonitor without the Service is refused', () => {
    expect(() => synth(subject, { serviceMonitor: true, metricsService: false })).toThrow(
      `${subject.where}: serviceMonitor true needs the metrics Service, which metricsService: false turns off: `
      + 'set metricsService: true (or leave it unset), or use podMonitor: true, which needs no Service');
  });
});

/** Whether a `matchLabels` selector selects an object with these labels. */
const selects = (matchLabels: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(matchLabels).every(([k, v]) => labels[k] === v);

describe('an in-cluster server: two Services with the same app labels', () => {
  const chart = Testing.chart();
  new NfsProvisioner(chart, 'p', { server: NfsServer.inCluster(), namespace: 'storage', serviceMonitor: true, podMonitor: true });
  const objs = Testing.synth(chart);
  validateManifests(objs.filter((o) => !MONITORING_KINDS.has(o.kind)));
  const services = all(objs, 'Service');

  test('the ServiceMonitor selects the metrics Service and not the NFS Service', () => {
    expect(services).toHaveLength(2);
    const selector = one(objs, 'ServiceMonitor').spec.selector.matchLabels;
    const selected = services.filter((s) => selects(selector, s.metadata.labels));
    expect(selected.map((s) => s.spec.ports.map((p: any) => p.name))).toEqual([['metrics']]);
    expect(selected[0].spec.clusterIP).toBe('None');
  });

  test('without the distinguishing label the workload\'s labels would select both (what the label is for)', () => {
    const nfs = services.find((s) => s.spec.ports.some((p: any) => p.name === 'nfs'));
    const { ['cdk8s-storage.dev/metrics']: marker, ...workloadLabels } = one(objs, 'ServiceMonitor').spec.selector.matchLabels;
    expect(marker).toBe('true');
    expect(selects(workloadLabels, nfs.metadata.labels)).toBe(true);
  });

  test('the PodMonitor selects the server pod', () => {
    const selector = one(objs, 'PodMonitor').spec.selector.matchLabels;
    expect(selects(selector, one(objs, 'StatefulSet').spec.template.metadata.labels)).toBe(true);
  });
});
