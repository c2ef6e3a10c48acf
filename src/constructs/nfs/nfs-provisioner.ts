import { ApiObject, Chart, Duration, Names } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { inClusterServer, inClusterServerName, inClusterService, SERVER_NAME_ID_CHARS } from './in-cluster-server';
import { NfsServer } from './nfs-server';
import { INfsProvisioner, NfsStorageClass, NfsStorageClassOptions } from './nfs-storage-class';
import { COMMANDS, DEFAULT_USAGE_INTERVAL_SECONDS, ENV, NFS_FLAGS, PATHS } from '../../contract/controller-config';
import { flagArg, NFS_FLAG_SPECS } from '../../contract/flags';
import { K8S, LABELS, PREFIX, PROJECT_NAME } from '../../contract/keys';
import { isDnsLabel, isProvisionerName, leaseNameFor, reservedDomainOf } from '../../contract/names';
import { NFS_CONTROLLER_RULES, nfsLeaderElectionRules, nfsServerServiceRules, PolicyRule } from '../../contract/rbac';
import { checkNowAndAtSynth } from '../common/app-checks';
import { clusterScoped } from '../common/cluster-scoped';
import { nameFromId } from '../common/default-name';
import { propError } from '../common/errors';
import { defaultControllerImage, imageReferenceProblem } from '../common/image';
import { addMonitoring, checkMonitoring, scrapeAnnotations } from '../common/monitoring';
import { namespaceOnce } from '../common/namespace';
import { plainApiObject } from '../common/plain-api-object';
import { podSecurityLabels } from '../common/pod-security';
import { checkWorkload, fieldEnv, podTemplate, Workload, workloadFlags } from '../common/workload';
import { MonitoringOptions, WorkloadOptions } from '../common/workload-options';

/**
 * Props of an `NfsProvisioner`. The pod knobs ({@link WorkloadOptions}) apply to the
 * controller's Deployment, or to an in-cluster server's StatefulSet.
 */
export interface NfsProvisionerProps extends WorkloadOptions, MonitoringOptions {
  /** The NFS server and export the volumes live on. */
  readonly server: NfsServer;

  /**
   * Namespace of the controller (ServiceAccount, Deployment, Lease, ...).
   *
   * @default - the chart's namespace, or `default` when the chart has none
   */
  readonly namespace?: string;

  /**
   * Also create the Namespace object, labelled for Pod Security Admission at the
   * `baseline` level (what the controller's pod needs), or `privileged` for an in-cluster
   * server (loop devices, and capabilities beyond baseline's: docs/server.md). Several
   * constructs of the app may ask for the same namespace (or the app may create it itself):
   * it is written once, at the most permissive level its pods need. Leave it off when the
   * namespace exists outside the app; it then needs at least that level.
   *
   * @default false
   */
  readonly createNamespace?: boolean;

  /**
   * The provisioner name StorageClasses refer to and volumes are stamped with. The
   * controller only deletes volumes carrying this name, so it must not change once volumes
   * exist. The default depends only on the namespace and the construct id: renaming or
   * moving the chart keeps it.
   *
   * @default - `cdk8s-storage.dev/nfs.<namespace>.<construct id as a DNS label>`
   */
  readonly provisionerName?: string;

  /**
   * The controller image. An in-cluster server runs its own image instead
   * (`NfsServer.inCluster({ image })`).
   *
   * @default - `ghcr.io/cdk8s-storage/controller:<version of this package>`
   */
  readonly image?: string;

  /**
   * Number of controller pods. One works at a time (it holds a Lease); the others take
   * over within seconds when it goes away. An in-cluster server is always one pod.
   *
   * @default - 2; 1 with an in-cluster server
   */
  readonly replicas?: number;

  /**
   * How often the controller measures the used bytes of every volume (by walking its
   * directory on the export). The result is the `cdk8s_storage_volume_used_bytes` metric, the
   * `cdk8s-storage.dev/used-bytes` annotation on each claim, and what `ResizableClaim.autoGrow`
   * acts on. Whole seconds, at most a day; `Duration.seconds(0)` turns measuring (and so
   * autoGrow) off.
   *
   * @default Duration.minutes(1)
   */
  readonly usageInterval?: Duration;
}

/** Container name of the controller in the Deployment. */
const CONTAINER_NAME = 'controller';
/** Volume name of the mounted export. */
const ROOT_VOLUME = 'nfs-root';

/**
 * Mount options of the classes of an in-cluster server, chosen for a server that restarts
 * (a new pod, a moved node) while clients keep their mounts:
 * - `nfsvers=4.1`: sessions, and clients reclaim their opens and locks from the recovery
 *   state the server keeps on its backing storage;
 * - `hard`: I/O waits for the server to come back instead of failing with EIO mid-write;
 * - `noresvport`: a reconnect may use a new source port, so it is not stuck behind the
 *   Service's connection-tracking entry of the dead connection;
 * - `timeo=100` (10 s): a request lost with the old pod is resent after 10 s rather than the
 *   default 60 s (then 20 s, 30 s, ...: linear back-off);
 * - `retrans=3`: three resends before the client logs "server not responding" (and, being
 *   hard, keeps trying).
 */
const IN_CLUSTER_MOUNT_OPTIONS: readonly string[] = Object.freeze(['nfsvers=4.1', 'hard', 'noresvport', 'timeo=100', 'retrans=3']);

/**
 * The NFS provisioner: provisions each claim of its StorageClasses, deletes/archives it on
 * release, and resizes claims.
 *
 * With `NfsServer.external` (subdirectory mode) each volume is a directory on an existing
 * export; it synthesizes a ServiceAccount, a ClusterRole and binding (from the shared rule
 * table), a Role and binding for its Lease, a Deployment with the export mounted, and a
 * PodDisruptionBudget when it runs more than one replica.
 *
 * With `NfsServer.inCluster` it runs the NFS server itself, one export per volume: the same
 * ServiceAccount and roles (the Role also reads its Service), a Service (2049/TCP), a
 * one-pod StatefulSet running nfs-ganesha and the `nfs-server` command, and a
 * PodDisruptionBudget; no Deployment.
 */
export class NfsProvisioner extends Construct implements INfsProvisioner {
  /** The provisioner name. */
  public readonly provisionerName: string;
  /** Namespace of the controller's objects. */
  public readonly namespace: string;
  /** The NFS server and export. */
  public readonly server: NfsServer;
  /** The image its pods run: the controller's, or the server's for an in-cluster server. */
  public readonly image: string;
  /** Number of controller pods (1 for an in-cluster server). */
  public readonly replicas: number;
  /** Name of the controller's ServiceAccount. */
  public readonly serviceAccountName: string;
  /** Name of the Lease used for leader election. */
  public readonly leaseName: string;
  /** Seconds between two usage measurements (0: off). */
  public readonly usageIntervalSeconds: number;
  /**
   * The controller's Deployment: the escape hatch for what the props do not cover.
   * Unset for an in-cluster server, which runs a StatefulSet instead.
   *
   * Patch it with `addJsonPatch` and plain JSON values, as in the YAML (`'1'`, not
   * `k8s.Quantity.fromString('1')`); a value no manifest can hold (null, NaN, a class
   * instance) is refused. See docs/workloads.md.
   */
  public readonly deployment?: ApiObject;
  /**
   * An in-cluster server's StatefulSet (in-cluster servers only): the escape hatch, as
   * `deployment` is for the controller.
   */
  public readonly statefulSet?: ApiObject;
  /** Name of the in-cluster server's Service (in-cluster servers only). */
  public readonly serviceName?: string;
  /** The headless Service of the controller's metrics port, unless `metricsService` is false. */
  public readonly metricsService?: ApiObject;
  /**
   * Whether the controller measures volume usage (`usageInterval` above 0), which
   * `ResizableClaim.autoGrow` needs.
   *
   * @default true
   */
  public readonly measuresUsage?: boolean;
  /**
   * Whether each volume is its own export on a server this provisioner runs (an in-cluster
   * server) rather than a directory of a shared export.
   *
   * @default false
   */
  public readonly exportPerVolume?: boolean;

  private readonly workload: Workload;
  private readonly _defaultMountOptions?: readonly string[];

  public constructor(scope: Construct, id: string, props: NfsProvisionerProps) {
    super(scope, id);
    const where = `NfsProvisioner ${this.node.path}`;

    if (!(props.server instanceof NfsServer)) {
      throw propError(where, 'server', undefined, 'is missing', 'pass NfsServer.external({ host, path }) or NfsServer.inCluster({...})');
    }
    this.server = props.server;
    const inCluster = this.server.inClusterOptions;

    this.namespace = props.namespace ?? Chart.of(this).namespace ?? 'default';
    if (!isDnsLabel(this.namespace)) {
      throw propError(where, 'namespace', this.namespace, 'is not a valid namespace name',
        'use lowercase letters, digits and \'-\', starting and ending with a letter or digit (at most 63 characters)');
    }

    // Named before the provisionerName checks: two servers of one name are the conflict to
    // report, not the provisioner name that (by default) collides along with it.
    this.serviceName = inCluster ? inClusterServerName(this, where) : undefined;
    this.exportPerVolume = inCluster !== undefined;
    if (this.serviceName !== undefined) checkNowAndAtSynth(this, (app) => serverNameClashes(this, app.instancesOf(NfsProvisioner), where));

    this.provisionerName = props.provisionerName ?? defaultProvisionerName(this, where, this.namespace);
    if (!isProvisionerName(this.provisionerName)) {
      throw propError(where, 'provisionerName', this.provisionerName, 'is not a valid provisioner name',
        'use a domain-qualified name such as \'example.com/nfs\' (name part: letters, digits, \'-\', \'_\', \'.\'; at most 63 characters)');
    }
    const reserved = reservedDomainOf(this.provisionerName);
    if (reserved) {
      throw propError(where, 'provisionerName', this.provisionerName, `is in the ${reserved} domain, which Kubernetes reserves for itself`,
        'Kubernetes takes a \'kubernetes.io/\' name for one of its built-in provisioners and never hands its claims to this controller: '
        + 'use a domain you own, e.g. \'example.com/nfs\'');
    }
    checkNowAndAtSynth(this, (app) => app.instancesOf(NfsProvisioner)
      .filter((other) => other !== this && other.provisionerName === this.provisionerName)
      .map((other) => propError(where, 'provisionerName', this.provisionerName, `is already used by the NfsProvisioner at ${other.node.path}`,
        'two controllers with one name would both act on the same claims: give each provisioner its own provisionerName').message));

    if (inCluster && props.image !== undefined) {
      throw propError(where, 'image', props.image, 'is the controller image, which an in-cluster server does not run',
        'set the server\'s image with NfsServer.inCluster({ image }) and leave image unset');
    }
    this.image = inCluster ? inCluster.image! : props.image ?? defaultControllerImage();
    const imageProblem = imageReferenceProblem(this.image);
    if (imageProblem) {
      throw propError(where, 'image', this.image, `is not an image reference: it ${imageProblem}`,
        'give [registry[:port]/]path[:tag][@sha256:digest], e.g. \'ghcr.io/cdk8s-storage/controller:1.2.3\'');
    }

    if (inCluster && props.replicas !== undefined && props.replicas !== 1) {
      throw propError(where, 'replicas', props.replicas, 'is not 1, but an in-cluster server is one pod',
        'leave replicas unset: its volumes are mounted in that one pod, so a second could not serve them');
    }
    this.replicas = props.replicas ?? (inCluster ? 1 : 2);
    if (!Number.isInteger(this.replicas) || this.replicas < 1 || this.replicas > 10) {
      throw propError(where, 'replicas', this.replicas, 'is out of range', 'use a whole number from 1 to 10 (only one pod works at a time)');
    }
    this._defaultMountOptions = inCluster ? IN_CLUSTER_MOUNT_OPTIONS : undefined;

    this.usageIntervalSeconds = props.usageInterval === undefined ? DEFAULT_USAGE_INTERVAL_SECONDS : usageSeconds(where, props.usageInterval);
    this.measuresUsage = this.usageIntervalSeconds > 0;

    this.leaseName = leaseNameFor(this.provisionerName);
    this.workload = checkWorkload(where, props);
    checkMonitoring(where, props);

    const labels: Record<string, string> = {
      [LABELS.name]: 'nfs-provisioner',
      [LABELS.instance]: Names.toLabelValue(this),
      [LABELS.component]: inCluster ? 'nfs-server' : 'controller',
      [LABELS.partOf]: PROJECT_NAME,
      [LABELS.managedBy]: PROJECT_NAME,
    };
    const selector = { [LABELS.name]: labels[LABELS.name], [LABELS.instance]: labels[LABELS.instance] };
    const metadata = { namespace: this.namespace, labels };

    if (props.createNamespace) {
      // An in-cluster server's pod needs more than baseline allows (privileged for loop
      // images, DAC_READ_SEARCH for ganesha in every mode).
      namespaceOnce(this, this.namespace, { ...labels, ...podSecurityLabels(inCluster ? 'privileged' : 'baseline') });
    }

    const serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata,
      automountServiceAccountToken: true,
    });
    this.serviceAccountName = serviceAccount.name;
    const subjects = [{ kind: 'ServiceAccount', name: serviceAccount.name, namespace: this.namespace }];

    const clusterRole = clusterScoped(new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { labels },
      rules: toK8sRules(NFS_CONTROLLER_RULES),
    }));
    clusterScoped(new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.name },
      subjects,
    }));

    const service = inCluster ? inClusterService(this, inCluster, this.serviceName!, metadata, selector) : undefined;

    const role = new k8s.KubeRole(this, 'LeaderElectionRole', {
      metadata,
      rules: toK8sRules([
        ...nfsLeaderElectionRules(this.leaseName),
        ...service ? nfsServerServiceRules(service.name) : [],
      ]),
    });
    new k8s.KubeRoleBinding(this, 'LeaderElectionRoleBinding', {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects,
    });

    const annotations = scrapeAnnotations(props, this.workload.httpPort);
    if (inCluster) {
      this.statefulSet = inClusterServer(this, {
        server: inCluster,
        provisionerName: this.provisionerName,
        serviceAccountName: serviceAccount.name,
        serviceName: service!.name,
        leaseName: this.leaseName,
        namespace: this.namespace,
        usageIntervalSeconds: this.usageIntervalSeconds,
        workload: this.workload,
        metadata,
        labels,
        selector,
        annotations,
        where,
      });
    } else {
      this.deployment = plainApiObject(this, 'Deployment', k8s.KubeDeployment.manifest({
        metadata,
        spec: {
          replicas: this.replicas,
          selector: { matchLabels: selector },
          template: this.podTemplate(serviceAccount.name, labels, selector, annotations),
        },
      }));
    }
    this.metricsService = addMonitoring(this, props, { namespace: this.namespace, labels, selector, httpPort: this.workload.httpPort });

    // An in-cluster server has its own PodDisruptionBudget (one pod: maxUnavailable 0 or 1).
    if (!inCluster && this.replicas > 1) {
      new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
        metadata,
        spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
      });
    }
  }

  /**
   * Mount options a class of this provisioner gets when it sets none (in-cluster servers:
   * options for a server that restarts; external servers: the class's own default).
   */
  public get defaultMountOptions(): string[] | undefined {
    return this._defaultMountOptions ? [...this._defaultMountOptions] : undefined;
  }

  /**
   * Adds a StorageClass served by this provisioner.
   */
  public addStorageClass(id: string, options: NfsStorageClassOptions = {}): NfsStorageClass {
    return new NfsStorageClass(this, id, { ...options, provisioner: this });
  }

  private podTemplate(serviceAccountName: string, labels: Record<string, string>, selector: Record<string, string>,
    annotations: Record<string, string>): k8s.PodTemplateSpec {
    const server = { host: this.server.host!, path: this.server.path! };
    const args = [
      COMMANDS.nfs,
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.provisionerName, this.provisionerName),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.server, server.host),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.path, server.path),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.root, PATHS.nfsRoot),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.leaderElect, 'true'),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.leaseName, this.leaseName),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.leaseNamespace, this.namespace),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.usageInterval, this.usageIntervalSeconds),
      ...workloadFlags(NFS_FLAG_SPECS, this.workload),
    ];
    return podTemplate({
      workload: this.workload,
      labels,
      annotations,
      serviceAccountName,
      podSecurityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      // Spread the standbys over nodes so one node failure does not take all of them.
      defaultAffinity: this.replicas > 1 ? {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{
            weight: 100,
            podAffinityTerm: { topologyKey: K8S.hostnameLabel, labelSelector: { matchLabels: selector } },
          }],
        },
      } : undefined,
      volumes: [
        // The kubelet mounts the export; the controller itself needs no mount privileges.
        { name: ROOT_VOLUME, nfs: { server: server.host, path: server.path } },
        { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
      ],
      container: {
        name: CONTAINER_NAME,
        image: this.image,
        args,
        env: [
          fieldEnv(ENV.podName, 'metadata.name'),
          fieldEnv(ENV.podNamespace, 'metadata.namespace'),
        ],
        livenessPeriodSeconds: 10,
        readinessPeriodSeconds: 5,
        defaultResources: {
          // Measured by bench/nfs-scale.ts (docs/controller.md, "Memory and scale"): about 100 MiB
          // resident with few volumes, plus about 35 MiB per 1,000 volumes at the peak of a
          // periodic relist; the limit leaves room for about 10,000 volumes.
          requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('128Mi') },
          // No CPU limit: throttling a controller only delays its work; memory is capped.
          limits: { memory: k8s.Quantity.fromString('512Mi') },
        },
        // Why root: the controller creates, chmods, archives and removes volume directories
        // on the export. Their contents belong to whatever users the pods ran as, so it must
        // act as root (uid 0) with DAC_OVERRIDE (read, write and search any directory, move a
        // directory it does not own into the archive) and FOWNER (chmod an existing empty
        // volume directory it does not own, unlink in sticky directories). It never changes
        // an owner, so no CHOWN. Everything else is dropped, it cannot gain privileges, and
        // the image is read-only.
        // On a root-squashing export uid 0 is mapped to nobody by the server, these
        // capabilities do not help there, and the directories must be made writable by
        // nobody instead (hence the default directoryMode '0777').
        securityContext: {
          runAsUser: 0,
          runAsGroup: 0,
          runAsNonRoot: false,
          privileged: false,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'], add: ['DAC_OVERRIDE', 'FOWNER'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
        volumeMounts: [
          { name: ROOT_VOLUME, mountPath: PATHS.nfsRoot },
          { name: 'tmp', mountPath: '/tmp' },
        ],
      },
    });
  }
}

/**
 * `cdk8s-storage.dev/nfs.<namespace>.<id>`: from what the user sees, never the construct
 * path. Dots separate the parts, which neither a namespace nor the id's DNS label has, so
 * two provisioners can only share it by sharing namespace and id.
 */
/**
 * Other in-cluster servers of the app with this one's name in its namespace. The name comes
 * from the construct id (cut to fit a StatefulSet) and cannot be set: the Service's cluster IP
 * is in every volume and the backing claim is named after the StatefulSet.
 */
function serverNameClashes(self: NfsProvisioner, all: readonly NfsProvisioner[], where: string): string[] {
  return all
    .filter((other) => other !== self && other.serviceName === self.serviceName && other.namespace === self.namespace)
    .map((other) => propError(where, 'id', self.node.id,
      `names its in-cluster server ${JSON.stringify(self.serviceName)} (Service and StatefulSet), which the in-cluster server of the NfsProvisioner at ${other.node.path} `
      + `(id ${JSON.stringify(other.node.id)}) also has in namespace ${JSON.stringify(self.namespace)}; the name is the construct id as a DNS label, cut to ${SERVER_NAME_ID_CHARS} characters, plus "-server"`,
      `give this NfsProvisioner a construct id that differs from the other's within its first ${SERVER_NAME_ID_CHARS} characters, or put it in another namespace `
      + '(renaming a server that already holds volumes moves its Service and backing claim, so rename the new one)').message);
}

function defaultProvisionerName(scope: Construct, where: string, namespace: string): string {
  const name = `${PREFIX}/nfs.${namespace}.${nameFromId(scope, where, 'provisionerName')}`;
  if (!isProvisionerName(name)) {
    throw propError(where, 'provisionerName', undefined, `would default to ${JSON.stringify(name)}, which is longer than 63 characters after the "/"`,
      'set provisionerName, e.g. \'example.com/nfs\', or use a shorter namespace or construct id');
  }
  return name;
}

/** A usage interval in whole seconds, 0 to a day. */
function usageSeconds(where: string, interval: Duration): number {
  // toMilliseconds() throws for NaN and Infinity, without naming the prop.
  let ms: number;
  try {
    ms = interval.toMilliseconds();
  } catch {
    ms = NaN;
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > 86_400_000 || ms % 1000 !== 0) {
    throw propError(where, 'usageInterval', Number.isFinite(ms) ? `${ms} ms` : interval.toHumanString(), 'is not a whole number of seconds from 0 to a day',
      'use e.g. Duration.minutes(1), or Duration.seconds(0) to turn measuring off');
  }
  return ms / 1000;
}

function toK8sRules(rules: readonly PolicyRule[]): k8s.PolicyRule[] {
  return rules.map((r) => ({
    apiGroups: [...r.apiGroups],
    resources: [...r.resources],
    verbs: [...r.verbs],
    resourceNames: r.resourceNames ? [...r.resourceNames] : undefined,
  }));
}
