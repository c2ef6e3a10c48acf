import { Chart, Duration, Names } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { inClusterServer, inClusterService } from './in-cluster-server';
import { NfsServer } from './nfs-server';
import { INfsProvisioner, NfsStorageClass, NfsStorageClassOptions } from './nfs-storage-class';
import { downwardEnv, httpPort, opsProbes } from './runtime-container';
import { COMMANDS, DEFAULT_HTTP_PORT, DEFAULT_USAGE_INTERVAL_SECONDS, NFS_FLAGS, PATHS } from '../../contract/controller-config';
import { flagArg, NFS_FLAG_SPECS } from '../../contract/flags';
import { K8S, LABELS, PROJECT_NAME } from '../../contract/keys';
import { isDnsLabel, isProvisionerName, leaseNameFor, reservedDomainOf } from '../../contract/names';
import { NFS_CONTROLLER_RULES, nfsLeaderElectionRules, nfsServerServiceRules, PolicyRule } from '../../contract/rbac';
import { checkNowAndAtSynth } from '../common/app-checks';
import { clusterScoped } from '../common/cluster-scoped';
import { propError } from '../common/errors';
import { defaultControllerImage, imageReferenceProblem } from '../common/image';

/**
 * Props of an `NfsProvisioner`.
 */
export interface NfsProvisionerProps {
  /** The NFS server and export the volumes live on. */
  readonly server: NfsServer;

  /**
   * Namespace of the controller (ServiceAccount, Deployment, Lease, ...).
   *
   * @default - the chart's namespace, or `default` when the chart has none
   */
  readonly namespace?: string;

  /**
   * Also create the Namespace object. Leave it off when the namespace exists or another
   * construct creates it. For an in-cluster server the namespace is labelled to enforce
   * the `privileged` Pod Security Standard, which the server pod needs (docs/server.md);
   * label an existing namespace yourself.
   *
   * @default false
   */
  readonly createNamespace?: boolean;

  /**
   * The provisioner name StorageClasses refer to and volumes are stamped with. The
   * controller only deletes volumes carrying this name, so do not change it once volumes
   * exist: set it explicitly for anything long-lived.
   *
   * @default - `cdk8s-storage.dev/nfs-<construct path as a DNS label>`
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
   * Name of the in-cluster server's Service (in-cluster servers only).
   */
  public readonly serviceName?: string;

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

    this.provisionerName = props.provisionerName ?? `cdk8s-storage.dev/nfs-${Names.toDnsLabel(this, { maxLen: 59 })}`;
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
    checkNowAndAtSynth(this, () => this.node.root.node.findAll()
      .filter((other): other is NfsProvisioner => other !== this && other instanceof NfsProvisioner && other.provisionerName === this.provisionerName)
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

    this.leaseName = leaseNameFor(this.provisionerName);

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
      // The server pod needs more than the baseline Pod Security Standard allows (privileged
      // for loop images, DAC_READ_SEARCH for ganesha in every mode): its namespace says so.
      const namespaceLabels = inCluster ? { ...labels, [K8S.podSecurityEnforce]: 'privileged' } : labels;
      clusterScoped(new k8s.KubeNamespace(this, 'Namespace', { metadata: { name: this.namespace, labels: namespaceLabels } }));
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

    const service = inCluster ? inClusterService(this, inCluster, metadata, selector) : undefined;
    this.serviceName = service?.name;

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

    if (inCluster) {
      inClusterServer(this, {
        server: inCluster,
        provisionerName: this.provisionerName,
        serviceAccountName: serviceAccount.name,
        serviceName: service!.name,
        leaseName: this.leaseName,
        namespace: this.namespace,
        usageIntervalSeconds: this.usageIntervalSeconds,
        metadata,
        labels,
        selector,
      });
      return;
    }

    new k8s.KubeDeployment(this, 'Deployment', {
      metadata,
      spec: {
        replicas: this.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: this.podSpec(serviceAccount.name, selector),
        },
      },
    });

    if (this.replicas > 1) {
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

  private podSpec(serviceAccountName: string, selector: Record<string, string>): k8s.PodSpec {
    const server = { host: this.server.host!, path: this.server.path! };
    const port = DEFAULT_HTTP_PORT;
    const args = [
      COMMANDS.nfs,
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.provisionerName, this.provisionerName),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.server, server.host),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.path, server.path),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.root, PATHS.nfsRoot),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.leaderElect, 'true'),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.leaseName, this.leaseName),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.leaseNamespace, this.namespace),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.httpPort, port),
      flagArg(NFS_FLAG_SPECS, NFS_FLAGS.usageInterval, this.usageIntervalSeconds),
    ];
    return {
      serviceAccountName,
      // The controller talks to the API server: it needs its token (cdk8s-plus turns it off).
      automountServiceAccountToken: true,
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      // Spread the standbys over nodes so one node failure does not take all of them.
      affinity: this.replicas > 1 ? {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{
            weight: 100,
            podAffinityTerm: { topologyKey: K8S.hostnameLabel, labelSelector: { matchLabels: selector } },
          }],
        },
      } : undefined,
      containers: [{
        name: CONTAINER_NAME,
        image: this.image,
        args,
        env: downwardEnv(),
        ports: [httpPort()],
        ...opsProbes(),
        resources: {
          requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('64Mi') },
          // No CPU limit: throttling a controller only delays its work; memory is capped.
          limits: { memory: k8s.Quantity.fromString('256Mi') },
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
      }],
      volumes: [
        // The kubelet mounts the export; the controller itself needs no mount privileges.
        { name: ROOT_VOLUME, nfs: { server: server.host, path: server.path } },
        { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
      ],
    };
  }
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
