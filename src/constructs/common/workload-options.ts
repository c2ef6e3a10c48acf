import { ImagePullPolicy, k8s } from 'cdk8s-plus-28';

/** How much the controller logs (its `--log-level` flag): lines below the level are dropped. */
export enum LogLevel {
  /** Everything, including each decision on each object. */
  DEBUG = 'debug',
  /** Operations and state changes. */
  INFO = 'info',
  /** Problems it works around or retries. */
  WARN = 'warn',
  /** Failures only. */
  ERROR = 'error',
}

/**
 * The pod knobs every workload of this package takes (the NFS controller's Deployment, the
 * local node agent's DaemonSet), the ones the Helm charts of other provisioners offer. The
 * k8s types are those of `cdk8s-plus-28`'s `k8s` module, so values written for any other pod
 * fit as they are.
 */
export interface WorkloadOptions {
  /**
   * CPU and memory requests and limits of the container. Replaces the default as a whole;
   * every limit must be at least its request.
   *
   * @default - requests cpu 50m and memory 64Mi; limits memory 256Mi (and cpu 500m for the local agent)
   */
  readonly resources?: k8s.ResourceRequirements;

  /**
   * Run the pods only on nodes with these labels (for the local agent: the nodes that have
   * the disks).
   *
   * @default - any node
   */
  readonly nodeSelector?: { [key: string]: string };

  /**
   * Taints the pods tolerate, e.g. those of dedicated storage or control-plane nodes.
   *
   * @default - none beyond those Kubernetes adds itself
   */
  readonly tolerations?: k8s.Toleration[];

  /**
   * Node and pod (anti-)affinity of the pods. Replaces the default as a whole.
   *
   * @default - NFS controller with more than one replica: preferred anti-affinity spreading the replicas over nodes; otherwise none
   */
  readonly affinity?: k8s.Affinity;

  /**
   * PriorityClass of the pods, e.g. `system-cluster-critical` so that storage is not
   * preempted by the workloads using it.
   *
   * @default - the cluster's default priority
   */
  readonly priorityClassName?: string;

  /**
   * When the kubelet pulls the image.
   *
   * @default ImagePullPolicy.IF_NOT_PRESENT
   */
  readonly imagePullPolicy?: ImagePullPolicy;

  /**
   * Names of Secrets (of type `kubernetes.io/dockerconfigjson`, in the workload's namespace)
   * used to pull the image from a private registry.
   *
   * @default - none
   */
  readonly imagePullSecrets?: string[];

  /**
   * Extra labels on the pods (not on the Deployment or DaemonSet, whose selector stays
   * the same). The `app.kubernetes.io/name` and `app.kubernetes.io/instance` labels select
   * the pods and cannot be set here.
   *
   * @default - none
   */
  readonly podLabels?: { [key: string]: string };

  /**
   * Extra annotations on the pods.
   *
   * @default - none
   */
  readonly podAnnotations?: { [key: string]: string };

  /**
   * How much the controller logs.
   *
   * @default LogLevel.INFO
   */
  readonly logLevel?: LogLevel;

  /**
   * Port of the controller's `/healthz`, `/readyz` and `/metrics` endpoints, for when
   * 8080 is taken (a pod in the host network, a policy that allows other ports).
   *
   * @default 8080
   */
  readonly httpPort?: number;
}

/**
 * How the controller's metrics are offered to Prometheus. The Service is on by default;
 * the prometheus-operator objects and the scrape annotations are opt-in.
 */
export interface MonitoringOptions {
  /**
   * A headless Service selecting the pods, with their HTTP port named `metrics`, for
   * scraping and for a ServiceMonitor.
   *
   * @default true
   */
  readonly metricsService?: boolean;

  /**
   * A prometheus-operator `ServiceMonitor` (monitoring.coreos.com/v1) for the metrics
   * Service, with `honorLabels: true` so each volume's `namespace` label stays the claim's.
   * Written as a plain object: the CRD must exist in the cluster when it is applied.
   * Needs `metricsService`.
   *
   * @default false
   */
  readonly serviceMonitor?: boolean;

  /**
   * A prometheus-operator `PodMonitor` (monitoring.coreos.com/v1) selecting the pods
   * directly, with `honorLabels: true`. Written as a plain object: the CRD must exist in the
   * cluster when it is applied.
   *
   * @default false
   */
  readonly podMonitor?: boolean;

  /**
   * The `prometheus.io/scrape`, `prometheus.io/port` and `prometheus.io/path` annotations
   * on the pods, for Prometheus setups that discover pods by annotation.
   *
   * @default false
   */
  readonly scrapeAnnotations?: boolean;
}
