/**
 * The pod knobs ({@link WorkloadOptions}) checked at construction, and the one pod template
 * builder every workload of this package uses.
 */
import { ImagePullPolicy, k8s } from 'cdk8s-plus-28';
import { propError, quote } from './errors';
import { isLabelValue, isQualifiedName, LABEL_VALUE_FIX, renderToleration } from './scheduling';
import { LogLevel, WorkloadOptions } from './workload-options';
import { DEFAULT_HTTP_PORT } from '../../contract/controller-config';
import { flagArg, FlagSpec } from '../../contract/flags';
import { LABELS, PREFIX } from '../../contract/keys';
import { isDnsSubdomain } from '../../contract/names';
import { compareQuantities, isQuantity } from '../../contract/quantity';
import { LOG_LEVELS } from '../../contract/values';

/** Name of the container port serving /healthz, /readyz and /metrics. */
export const HTTP_PORT_NAME = 'http';

/** {@link WorkloadOptions} after the checks: defaults filled in, k8s shapes ready to write. */
export interface Workload {
  readonly resources?: k8s.ResourceRequirements;
  readonly nodeSelector: Record<string, string>;
  readonly tolerations: k8s.Toleration[];
  readonly affinity?: k8s.Affinity;
  readonly priorityClassName?: string;
  readonly imagePullPolicy: string;
  readonly imagePullSecrets: string[];
  readonly podLabels: Record<string, string>;
  readonly podAnnotations: Record<string, string>;
  /** Unset: the flag is not written and the controller logs at its default (info). */
  readonly logLevel?: LogLevel;
  readonly httpPort: number;
}

/**
 * Checks the pod knobs of the construct at `where`, throwing the usual prop/value/fix
 * error for the first bad one.
 */
export function checkWorkload(where: string, options: WorkloadOptions): Workload {
  const imagePullPolicy = options.imagePullPolicy ?? ImagePullPolicy.IF_NOT_PRESENT;
  if (!Object.values(ImagePullPolicy).includes(imagePullPolicy)) {
    throw propError(where, 'imagePullPolicy', imagePullPolicy, 'is not a pull policy', 'use ImagePullPolicy.IF_NOT_PRESENT, ALWAYS or NEVER');
  }
  if (options.logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(options.logLevel)) {
    throw propError(where, 'logLevel', options.logLevel, 'is not a log level', 'use LogLevel.DEBUG, INFO, WARN or ERROR');
  }
  const httpPort = options.httpPort ?? DEFAULT_HTTP_PORT;
  if (!Number.isInteger(httpPort) || httpPort < 1 || httpPort > 65535) {
    throw propError(where, 'httpPort', httpPort, 'is not a port', 'use a whole number from 1 to 65535, e.g. 9090');
  }
  if (options.priorityClassName !== undefined && !isName(options.priorityClassName)) {
    throw propError(where, 'priorityClassName', options.priorityClassName, 'is not a valid PriorityClass name',
      'use lowercase letters, digits, \'-\' and \'.\', e.g. "system-cluster-critical"');
  }
  const imagePullSecrets = [...options.imagePullSecrets ?? []];
  imagePullSecrets.forEach((name, i) => {
    if (!isName(name)) {
      throw propError(where, `imagePullSecrets[${i}]`, name, 'is not a valid Secret name', 'give the name of a Secret in the namespace, e.g. "registry-credentials"');
    }
    if (imagePullSecrets.indexOf(name) !== i) {
      throw propError(where, `imagePullSecrets[${i}]`, name, 'is listed twice', 'list each Secret once');
    }
  });
  if (options.affinity !== undefined && (typeof options.affinity !== 'object' || options.affinity === null)) {
    throw propError(where, 'affinity', options.affinity, 'is not an affinity', 'give a k8s.Affinity, e.g. { nodeAffinity: { ... } }');
  }
  return {
    resources: options.resources === undefined ? undefined : checkResources(where, options.resources),
    nodeSelector: checkLabels(where, 'nodeSelector', options.nodeSelector ?? {}),
    tolerations: (options.tolerations ?? []).map((t, i) => renderToleration(t, where, i)),
    affinity: options.affinity,
    priorityClassName: options.priorityClassName,
    imagePullPolicy,
    imagePullSecrets,
    podLabels: checkPodLabels(where, options.podLabels ?? {}),
    podAnnotations: checkPodAnnotations(where, options.podAnnotations ?? {}),
    logLevel: options.logLevel,
    httpPort,
  };
}

/**
 * The knobs that apply to a cluster-wide helper pod of a node workload (the local
 * node-deletion role): how its image is pulled, its priority, labels, annotations and log
 * level. Where the node agent runs (node selector, tolerations, affinity), its resources
 * and its port are the agent's own.
 */
export function helperWorkload(workload: Workload): Workload {
  return { ...workload, resources: undefined, nodeSelector: {}, tolerations: [], affinity: undefined, httpPort: DEFAULT_HTTP_PORT };
}

/** The flags every command takes from the pod knobs: `--http-port`, and `--log-level` when set. */
export function workloadFlags(specs: Readonly<Record<'http-port' | 'log-level', FlagSpec>>, workload: Workload): string[] {
  return [
    flagArg(specs, 'http-port', workload.httpPort),
    ...(workload.logLevel !== undefined ? [flagArg(specs, 'log-level', workload.logLevel)] : []),
  ];
}

/** An environment variable from the downward API (`metadata.name`, `spec.nodeName`, ...). */
export function fieldEnv(name: string, fieldPath: string): k8s.EnvVar {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

/** What differs between the workloads' pods; {@link podTemplate} adds the knobs. */
export interface PodTemplateInput {
  readonly workload: Workload;
  /** The construct's labels (selector labels included). */
  readonly labels: Record<string, string>;
  /** The construct's own pod annotations (a config hash, scrape annotations). */
  readonly annotations?: Record<string, string>;
  readonly serviceAccountName: string;
  readonly podSecurityContext?: k8s.PodSecurityContext;
  /** Whether Service environment variables are injected; unset leaves the Kubernetes default. */
  readonly enableServiceLinks?: boolean;
  /** Used when the knobs give no affinity. */
  readonly defaultAffinity?: k8s.Affinity;
  readonly volumes?: k8s.Volume[];
  readonly container: {
    readonly name: string;
    readonly image: string;
    /** The command and all its flags ({@link workloadFlags} included). */
    readonly args: string[];
    readonly env: k8s.EnvVar[];
    /** Used when the knobs give no resources. */
    readonly defaultResources: k8s.ResourceRequirements;
    readonly securityContext: k8s.SecurityContext;
    readonly volumeMounts?: k8s.VolumeMount[];
    /** Ports besides the HTTP port (an NFS server's 2049). */
    readonly ports?: k8s.ContainerPort[];
    /**
     * Seconds a slow start may take, checked by a startup probe on `/healthz` during which
     * liveness is not checked; unset: no startup probe.
     */
    readonly startupSeconds?: number;
    /** Seconds between liveness and readiness probes. */
    readonly livenessPeriodSeconds: number;
    readonly readinessPeriodSeconds: number;
  };
}

/** The pod template of a workload: the construct's container and pod, with the knobs applied. */
export function podTemplate(input: PodTemplateInput): k8s.PodTemplateSpec {
  const { workload, container } = input;
  const probe = (path: string, periodSeconds: number, failureThreshold = 3): k8s.Probe => ({
    httpGet: { path, port: k8s.IntOrString.fromString(HTTP_PORT_NAME) },
    periodSeconds,
    timeoutSeconds: 5,
    failureThreshold,
  });
  const annotations = { ...workload.podAnnotations, ...input.annotations };
  const affinity = workload.affinity ?? input.defaultAffinity;
  return {
    metadata: {
      labels: { ...workload.podLabels, ...input.labels },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      serviceAccountName: input.serviceAccountName,
      // The controller talks to the API server: it needs its token (cdk8s-plus turns it off).
      automountServiceAccountToken: true,
      ...(input.enableServiceLinks !== undefined ? { enableServiceLinks: input.enableServiceLinks } : {}),
      ...(input.podSecurityContext ? { securityContext: input.podSecurityContext } : {}),
      ...(workload.priorityClassName ? { priorityClassName: workload.priorityClassName } : {}),
      ...(Object.keys(workload.nodeSelector).length > 0 ? { nodeSelector: { ...workload.nodeSelector } } : {}),
      ...(workload.tolerations.length > 0 ? { tolerations: workload.tolerations } : {}),
      ...(affinity ? { affinity } : {}),
      ...(workload.imagePullSecrets.length > 0 ? { imagePullSecrets: workload.imagePullSecrets.map((name) => ({ name })) } : {}),
      containers: [{
        name: container.name,
        image: container.image,
        imagePullPolicy: workload.imagePullPolicy,
        args: container.args,
        env: container.env,
        ports: [...container.ports ?? [], { name: HTTP_PORT_NAME, containerPort: workload.httpPort, protocol: 'TCP' }],
        livenessProbe: { ...probe('/healthz', container.livenessPeriodSeconds), initialDelaySeconds: 10 },
        readinessProbe: probe('/readyz', container.readinessPeriodSeconds),
        ...(container.startupSeconds !== undefined ? { startupProbe: probe('/healthz', 5, Math.ceil(container.startupSeconds / 5)) } : {}),
        resources: workload.resources ?? container.defaultResources,
        securityContext: container.securityContext,
        ...(container.volumeMounts ? { volumeMounts: container.volumeMounts } : {}),
      }],
      ...(input.volumes ? { volumes: input.volumes } : {}),
    },
  };
}

/** A name that is a DNS subdomain (Secrets, PriorityClasses). */
function isName(value: unknown): value is string {
  return typeof value === 'string' && isDnsSubdomain(value);
}

/** Label keys and values, as a node selector or pod labels take them. */
function checkLabels(where: string, prop: string, labels: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(labels)) {
    if (!isQualifiedName(key)) {
      throw propError(where, `${prop} key`, key, 'is not a valid label key', 'use e.g. "node.example.com/disks" or "team"');
    }
    if (typeof value !== 'string' || !isLabelValue(value)) {
      throw propError(where, `${prop}[${quote(key)}]`, value, 'is not a valid label value', LABEL_VALUE_FIX);
    }
  }
  return { ...labels };
}

/** Pod labels: valid, and not the two that select the pods. */
function checkPodLabels(where: string, labels: Record<string, string>): Record<string, string> {
  const checked = checkLabels(where, 'podLabels', labels);
  for (const key of [LABELS.name, LABELS.instance]) {
    if (key in checked) {
      throw propError(where, 'podLabels key', key, 'selects the pods and is set by the construct',
        'leave it out: the Deployment or DaemonSet selector, which cannot change, depends on it');
    }
  }
  return checked;
}

/** Pod annotations: qualified keys outside this package's own domain, string values. */
function checkPodAnnotations(where: string, annotations: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(annotations)) {
    if (!isQualifiedName(key)) {
      throw propError(where, 'podAnnotations key', key, 'is not a valid annotation key', 'use e.g. "example.com/owner"');
    }
    if (key.startsWith(`${PREFIX}/`)) {
      throw propError(where, 'podAnnotations key', key, `is in the ${PREFIX} domain, which this package writes itself`, 'use a key of your own domain');
    }
    if (typeof value !== 'string') {
      throw propError(where, `podAnnotations[${quote(key)}]`, value, 'is not a string', 'write the value as a string, e.g. "true" or "8080"');
    }
  }
  return { ...annotations };
}

/** Requests and limits: resource names, quantities given as k8s.Quantity, and no limit below its request. */
function checkResources(where: string, resources: k8s.ResourceRequirements): k8s.ResourceRequirements {
  const texts = (field: 'limits' | 'requests'): Map<string, string> => {
    const found = new Map<string, string>();
    for (const [name, quantity] of Object.entries(resources[field] ?? {})) {
      const prop = `resources.${field}[${quote(name)}]`;
      if (!isQualifiedName(name)) {
        throw propError(where, `resources.${field} key`, name, 'is not a resource name', 'use e.g. "cpu", "memory" or "ephemeral-storage"');
      }
      // A plain string or number where a k8s.Quantity belongs is dropped without a word by
      // the k8s types' serialiser, leaving no limit at all: refuse it here instead.
      if (typeof quantity !== 'object' || quantity === null || !('value' in quantity)) {
        throw propError(where, prop, quantity, 'is not a k8s.Quantity', `wrap it: k8s.Quantity.fromString(${quote(String(quantity))})`);
      }
      const text = String(quantity.value);
      if (!isQuantity(text)) {
        throw propError(where, prop, quantity.value, 'is not a non-negative Kubernetes quantity', 'use e.g. "500m" for CPU or "256Mi" for memory');
      }
      found.set(name, text);
    }
    return found;
  };
  const limits = texts('limits');
  for (const [name, request] of texts('requests')) {
    const limit = limits.get(name);
    if (limit !== undefined && compareQuantities(limit, request) < 0) {
      throw propError(where, `resources.limits[${quote(name)}]`, limit, `is below its request (${request})`, 'raise the limit to at least the request, or lower the request');
    }
  }
  return resources;
}
