/**
 * The objects through which Prometheus finds a workload's `/metrics` ({@link MonitoringOptions}):
 * a headless Service with the port named `metrics`, and, opt-in, prometheus-operator
 * ServiceMonitor and PodMonitor objects as plain ApiObjects (no CRD types needed to
 * synthesize) or scrape annotations on the pods.
 *
 * `honorLabels: true`: the volume series carry the claim's `namespace` (to join with
 * kubelet's `kubelet_volume_stats_*`), which prometheus-operator would otherwise rename to
 * `exported_namespace` in favour of the target's (the controller's) namespace.
 */
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { propError } from './errors';
import { HTTP_PORT_NAME } from './workload';
import { MonitoringOptions } from './workload-options';
import { LABELS, METRICS_SERVICE_LABEL_VALUE } from '../../contract/keys';

/** Name of the metrics Service's port. */
export const METRICS_PORT_NAME = 'metrics';
const METRICS_PATH = '/metrics';
const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';

/** The workload whose metrics are offered. */
export interface MonitoredWorkload {
  readonly namespace: string;
  /** Labels of the objects created here. */
  readonly labels: Record<string, string>;
  /** Labels that select the workload's pods (and only them). */
  readonly selector: Record<string, string>;
  readonly httpPort: number;
}

/** Checks the options of the construct at `where` (a ServiceMonitor needs the Service). */
export function checkMonitoring(where: string, options: MonitoringOptions): void {
  if (options.serviceMonitor && options.metricsService === false) {
    throw propError(where, 'serviceMonitor', true, 'needs the metrics Service, which metricsService: false turns off',
      'set metricsService: true (or leave it unset), or use podMonitor: true, which needs no Service');
  }
}

/** The pod annotations for annotation-based scraping, when asked for. */
export function scrapeAnnotations(options: MonitoringOptions, httpPort: number): Record<string, string> {
  if (!options.scrapeAnnotations) return {};
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(httpPort), 'prometheus.io/path': METRICS_PATH };
}

/** Adds the Service and the monitors the options ask for; returns the Service, if any. */
export function addMonitoring(scope: Construct, options: MonitoringOptions, target: MonitoredWorkload): ApiObject | undefined {
  const metadata = { namespace: target.namespace, labels: target.labels };
  // The workload's labels alone would also match its other Services (an in-cluster server's
  // NFS Service): the ServiceMonitor selects this one by a label only it has.
  const serviceLabels = { ...target.labels, [LABELS.metricsService]: METRICS_SERVICE_LABEL_VALUE };
  let service: ApiObject | undefined;
  if (options.metricsService ?? true) {
    service = new k8s.KubeService(scope, 'MetricsService', {
      metadata: { ...metadata, labels: serviceLabels },
      spec: {
        // Headless: each pod is its own target (the standbys and every node agent report too).
        clusterIp: 'None',
        selector: target.selector,
        ports: [{ name: METRICS_PORT_NAME, port: target.httpPort, targetPort: k8s.IntOrString.fromString(HTTP_PORT_NAME), protocol: 'TCP' }],
      },
    });
  }
  if (options.serviceMonitor) {
    new ApiObject(scope, 'ServiceMonitor', {
      apiVersion: MONITORING_API_VERSION,
      kind: 'ServiceMonitor',
      metadata,
      spec: {
        selector: { matchLabels: serviceLabels },
        namespaceSelector: { matchNames: [target.namespace] },
        endpoints: [{ port: METRICS_PORT_NAME, path: METRICS_PATH, honorLabels: true }],
      },
    });
  }
  if (options.podMonitor) {
    new ApiObject(scope, 'PodMonitor', {
      apiVersion: MONITORING_API_VERSION,
      kind: 'PodMonitor',
      metadata,
      spec: {
        selector: { matchLabels: target.selector },
        namespaceSelector: { matchNames: [target.namespace] },
        podMetricsEndpoints: [{ port: HTTP_PORT_NAME, path: METRICS_PATH, honorLabels: true }],
      },
    });
  }
  return service;
}
