import { createHash } from 'crypto';
import { ApiObject, Chart, Lazy, Names } from 'cdk8s';
import { k8s, PersistentVolumeMode } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { agentSecurityContext } from './agent-security';
import { LocalStorageClass, LocalStorageClassOptions } from './local-storage-class';
import { addNodeCleanup } from './node-cleanup';
import { COMMANDS, ENV, LOCAL_FLAGS, LocalAgentConfig, PATHS } from '../../contract/controller-config';
import { flagArg, LOCAL_FLAG_SPECS } from '../../contract/flags';
import { LABELS, PREFIX, PROJECT_NAME } from '../../contract/keys';
import { isDnsLabel } from '../../contract/names';
import { pathsOverlap } from '../../contract/path-containment';
import { LOCAL_AGENT_RULES } from '../../contract/rbac';
import { checkNowAndAtSynth } from '../common/app-checks';
import { AppIndex } from '../common/app-index';
import { clusterScoped } from '../common/cluster-scoped';
import { nameFromId } from '../common/default-name';
import { propError, quote } from '../common/errors';
import { defaultControllerImage, imageReferenceProblem } from '../common/image';
import { addMonitoring, checkMonitoring, scrapeAnnotations } from '../common/monitoring';
import { namespaceOnce } from '../common/namespace';
import { plainApiObject } from '../common/plain-api-object';
import { podSecurityLabels } from '../common/pod-security';
import { checkWorkload, fieldEnv, helperWorkload, podTemplate, Workload, workloadFlags } from '../common/workload';
import { MonitoringOptions, WorkloadOptions } from '../common/workload-options';

/**
 * Props of a {@link LocalStaticProvisioner}. The pod knobs ({@link WorkloadOptions}) apply
 * to the node agent's DaemonSet; the node-deletion Deployment (`nodeCleanup`) takes
 * `imagePullPolicy`, `imagePullSecrets`, `priorityClassName`, `podLabels`, `podAnnotations`
 * and `logLevel` from them too (it runs on any node, with its own small resources).
 */
export interface LocalStaticProvisionerProps extends WorkloadOptions, MonitoringOptions {
  /**
   * Namespace of the node agent (ServiceAccount, ConfigMap, DaemonSet).
   *
   * @default - the chart's namespace, or "default" when the chart has none
   */
  readonly namespace?: string;

  /**
   * Also create the Namespace object, labelled for Pod Security Admission at the
   * `privileged` level (the agent mounts host directories). Several constructs of the app
   * may ask for the same namespace (or the app may create it itself): it is written once, at
   * the most permissive level its pods need. Leave it off when the namespace exists outside
   * the app; it then needs the `privileged` level.
   *
   * @default false
   */
  readonly createNamespace?: boolean;

  /**
   * The controller image the node agent runs.
   *
   * @default - ghcr.io/cdk8s-storage/controller:<version of this package>
   */
  readonly image?: string;

  /**
   * Also run the node-deletion role: a one-replica Deployment that removes the Available
   * PVs of nodes whose Node object was deleted (their agent is gone, so nobody else would)
   * and reports the bound and released ones with a `ReferencedNodeDeleted` event. It gets
   * its own ServiceAccount, allowed to list and delete PVs and list nodes.
   *
   * @default false
   */
  readonly nodeCleanup?: boolean;
}

/** Pod-template annotation holding a hash of the class map: a changed map rolls the agents. */
const CONFIG_HASH_ANNOTATION = `${PREFIX}/config-hash`;
const COMPONENT = 'local-agent';

/**
 * Local persistent volumes from disks that are already attached and mounted on the nodes.
 *
 * A node agent (DaemonSet) publishes one PersistentVolume per mount point or block device
 * it finds in each class's discovery directory, with node affinity to its node, and wipes
 * and republishes a volume once its claim is released. Add classes with
 * {@link addStorageClass}.
 */
export class LocalStaticProvisioner extends Construct {
  /** The namespace the node agent runs in. */
  public readonly namespace: string;
  /** The node agent's image. */
  public readonly image: string;
  /** The ServiceAccount name of the node agent. */
  public readonly serviceAccountName: string;
  /** Whether the node-deletion role runs. */
  public readonly nodeCleanup: boolean;
  /**
   * The node agent's DaemonSet: the escape hatch for what the props do not cover.
   *
   * Patch it with `addJsonPatch` and plain JSON values, as in the YAML (`'1'`, not
   * `k8s.Quantity.fromString('1')`); a value no manifest can hold (null, NaN, a class
   * instance) is refused. See docs/workloads.md.
   */
  public readonly daemonSet: ApiObject;
  /** The headless Service of the agents' metrics port, unless `metricsService` is false. */
  public readonly metricsService?: ApiObject;
  /**
   * `<namespace>/<construct id as a DNS label>`: stamped on every PV the agent publishes, so
   * it tells this provisioner's volumes from another's. From what the user sees, never the
   * construct path: renaming or moving the chart keeps the volumes this provisioner's.
   */
  public readonly identity: string;

  private readonly classes: LocalStorageClass[] = [];
  private readonly workload: Workload;
  private readonly configMap: ApiObject;

  public constructor(scope: Construct, id: string, props: LocalStaticProvisionerProps = {}) {
    super(scope, id);
    const where = `LocalStaticProvisioner ${this.node.path}`;

    this.namespace = props.namespace ?? Chart.of(this).namespace ?? 'default';
    if (!isDnsLabel(this.namespace)) {
      throw propError(where, 'namespace', this.namespace, 'is not a valid namespace name',
        'use lowercase letters, digits and \'-\', starting and ending with a letter or digit (at most 63 characters)');
    }
    this.identity = `${this.namespace}/${nameFromId(this, where, 'id')}`;
    checkNowAndAtSynth(this, () => this.node.root.node.findAll()
      .filter((other): other is LocalStaticProvisioner => other !== this && other instanceof LocalStaticProvisioner
        && other.identity === this.identity)
      .map((other) => `${where}: its identity ${quote(this.identity)} (namespace and construct id) is also that of the LocalStaticProvisioner at ${other.node.path}: `
        + 'both agents would take the same volumes, so give the two another construct id or namespace'));

    this.image = props.image ?? defaultControllerImage();
    const imageProblem = imageReferenceProblem(this.image);
    if (imageProblem) {
      throw propError(where, 'image', this.image, `is not an image reference: it ${imageProblem}`,
        'give [registry[:port]/]path[:tag][@sha256:digest], e.g. "registry.example.com/cdk8s-storage/controller:1.2.3"');
    }
    this.workload = checkWorkload(where, props);
    checkMonitoring(where, props);

    const instance = Names.toLabelValue(this);
    const labels = {
      [LABELS.name]: 'cdk8s-storage-local',
      [LABELS.instance]: instance,
      [LABELS.component]: COMPONENT,
      [LABELS.managedBy]: PROJECT_NAME,
      [LABELS.partOf]: PROJECT_NAME,
    };
    const selector = { [LABELS.name]: labels[LABELS.name], [LABELS.instance]: instance };
    const namespaced = { namespace: this.namespace, labels };

    if (props.createNamespace) {
      namespaceOnce(this, this.namespace, { ...labels, ...podSecurityLabels('privileged') });
    }

    const serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: namespaced,
      // The agent talks to the API server (PVs, Nodes, Events) with this account's token.
      automountServiceAccountToken: true,
    });
    this.serviceAccountName = serviceAccount.name;

    const role = clusterScoped(new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { labels },
      rules: LOCAL_AGENT_RULES.map((r) => ({
        apiGroups: [...r.apiGroups],
        resources: [...r.resources],
        verbs: [...r.verbs],
        ...(r.resourceNames ? { resourceNames: [...r.resourceNames] } : {}),
      })),
    }));
    clusterScoped(new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount.name, namespace: this.namespace }],
    }));

    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: namespaced,
      data: { [PATHS.localConfigFile]: Lazy.any({ produce: () => this.configJson() }) },
    });

    const manifest = k8s.KubeDaemonSet.manifest({
      metadata: namespaced,
      spec: {
        selector: { matchLabels: selector },
        // One node at a time: while a node's agent restarts, only that node stops publishing.
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } },
        template: {},
      },
    });
    const annotations = scrapeAnnotations(props, this.workload.httpPort);
    // The template depends on the classes added later: serialised to plain JSON when synthesized.
    manifest.spec.template = Lazy.any({ produce: () => k8s.toJson_PodTemplateSpec(this.podTemplate(labels, annotations)) });
    this.daemonSet = plainApiObject(this, 'Resource', manifest);
    this.metricsService = addMonitoring(this, props, { namespace: this.namespace, labels, selector, httpPort: this.workload.httpPort });

    this.nodeCleanup = props.nodeCleanup ?? false;
    if (this.nodeCleanup) {
      addNodeCleanup(this, { namespace: this.namespace, image: this.image, labels, workload: helperWorkload(this.workload) });
    }

    this.node.addValidation({
      validate: () => this.classes.length > 0 ? [] : [
        `${where} has no storage classes: call addStorageClass(id, { hostDir: ... }) at least once`,
      ],
    });
  }

  /** Adds a local storage class whose volumes this provisioner's node agent publishes. */
  public addStorageClass(id: string, options: LocalStorageClassOptions): LocalStorageClass {
    return new LocalStorageClass(this, id, { ...options, provisioner: this });
  }

  /** The storage classes added so far. */
  public get storageClasses(): LocalStorageClass[] {
    return [...this.classes];
  }

  /** @internal The node labels the agent is limited to (a copy). */
  public get _nodeSelector(): { [key: string]: string } {
    return { ...this.workload.nodeSelector };
  }

  /**
   * @internal Called by every LocalStorageClass of this provisioner: rejects a class whose
   * name or directories collide with another local class or StorageClass anywhere in the
   * app, now and again at synth (for those added later).
   */
  public _register(cls: LocalStorageClass): void {
    checkNowAndAtSynth(cls, (app) => [
      ...allLocalClasses(app).filter((other) => other !== cls).flatMap((other) => classConflicts(cls, other)),
      ...app.apiObjects('StorageClass').filter((obj) => obj.name === cls.name && !(obj.node.scope instanceof LocalStorageClass))
        .map((obj) => propError(cls._where, 'name', cls.name, `is already used by the StorageClass at ${obj.node.path}`, 'give each class its own name').message),
    ]);
    this.classes.push(cls);
  }

  private config(): LocalAgentConfig {
    // Earlier versions named the agent after its DaemonSet: its PVs stay this agent's.
    const former = `${this.namespace}/${this.daemonSet.name}`;
    return {
      provisioner: this.identity,
      ...(former !== this.identity ? { formerProvisioner: former } : {}),
      classes: this.classes.map((c) => c._toConfig()),
    };
  }

  private configJson(): string {
    return JSON.stringify(this.config(), null, 2);
  }

  private podTemplate(labels: Record<string, string>, annotations: Record<string, string>): k8s.PodTemplateSpec {
    // Block classes publish devices; a Filesystem class with fsType publishes devices the
    // kubelet formats. Either way the entries are links to device nodes.
    const usesDevices = this.classes.some((c) => c.volumeMode === PersistentVolumeMode.BLOCK || c.fsType !== undefined);
    const configHash = createHash('sha256').update(this.configJson()).digest('hex').slice(0, 16);

    const volumes: k8s.Volume[] = [{ name: 'config', configMap: { name: this.configMap.name } }];
    const mounts: k8s.VolumeMount[] = [{ name: 'config', mountPath: PATHS.localConfigDir, readOnly: true }];
    this.classes.forEach((cls, i) => {
      const name = `class-${i}`;
      // DirectoryOrCreate: a node without one class's directory must still run the agent for
      // the others. The empty directory created holds no mount point or device, so it never
      // becomes a volume on the root filesystem.
      volumes.push({ name, hostPath: { path: cls.hostDir, type: 'DirectoryOrCreate' } });
      // HostToContainer: disks mounted on the host after the agent started show up inside it.
      mounts.push({ name, mountPath: cls.mountDir, mountPropagation: 'HostToContainer' });
    });
    if (usesDevices) {
      // The host's /dev, so that devices attached after the agent started resolve too.
      volumes.push({ name: 'dev', hostPath: { path: '/dev', type: 'Directory' } });
      mounts.push({ name: 'dev', mountPath: '/dev', mountPropagation: 'HostToContainer' });
    }

    return podTemplate({
      workload: this.workload,
      labels,
      annotations: { ...annotations, [CONFIG_HASH_ANNOTATION]: configHash },
      serviceAccountName: this.serviceAccountName,
      volumes,
      container: {
        name: 'agent',
        image: this.image,
        args: [
          COMMANDS.local,
          flagArg(LOCAL_FLAG_SPECS, LOCAL_FLAGS.config, `${PATHS.localConfigDir}/${PATHS.localConfigFile}`),
          ...workloadFlags(LOCAL_FLAG_SPECS, this.workload),
        ],
        env: [
          fieldEnv(ENV.nodeName, 'spec.nodeName'),
          fieldEnv(ENV.podName, 'metadata.name'),
          fieldEnv(ENV.podNamespace, 'metadata.namespace'),
        ],
        livenessPeriodSeconds: 20,
        readinessPeriodSeconds: 10,
        defaultResources: {
          requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('64Mi') },
          limits: { cpu: k8s.Quantity.fromString('500m'), memory: k8s.Quantity.fromString('256Mi') },
        },
        // Root with DAC_OVERRIDE and FOWNER when every class is mount points; privileged
        // when it opens block devices. Either way nothing is written outside the volumes.
        securityContext: agentSecurityContext(usesDevices),
        volumeMounts: mounts,
      },
    });
  }
}

/** Every registered local class of every LocalStaticProvisioner in the app. */
function allLocalClasses(app: AppIndex): LocalStorageClass[] {
  return app.instancesOf(LocalStaticProvisioner).flatMap((p) => p.storageClasses);
}

/** Why two local classes cannot both be in the app (a StorageClass name, a discovery or mount directory shared). */
function classConflicts(cls: LocalStorageClass, other: LocalStorageClass): string[] {
  const found: string[] = [];
  if (other.name === cls.name) {
    found.push(propError(cls._where, 'name', cls.name, `is already used by ${other._where}`, 'StorageClass names are cluster-wide, give each class its own name').message);
  }
  // Two provisioners whose agents never share a node may use one directory (per node pool).
  const shareNodes = other.provisioner === cls.provisioner || !selectorsDisjoint(cls.provisioner._nodeSelector, other.provisioner._nodeSelector);
  if (shareNodes && pathsOverlap(cls.hostDir, other.hostDir)) {
    const how = cls.hostDir === other.hostDir ? 'is also the hostDir of' : 'overlaps the hostDir of';
    found.push(propError(cls._where, 'hostDir', cls.hostDir, `${how} ${other._where} (${quote(other.hostDir)})`,
      'give each class its own discovery directory, not nested in another (the outer class would publish the inner one as a volume), '
      + 'or run the two provisioners on disjoint nodes (nodeSelectors with different values for one key)').message);
  }
  if (other.provisioner === cls.provisioner && pathsOverlap(cls.mountDir, other.mountDir)) {
    found.push(propError(cls._where, 'mountDir', cls.mountDir, `overlaps the mountDir of ${other._where} (${quote(other.mountDir)}) in the same agent`,
      'give each class its own mountDir').message);
  }
  return found;
}

/** True when no node can match both selectors: they require different values of one label. */
function selectorsDisjoint(a: { [key: string]: string }, b: { [key: string]: string }): boolean {
  return Object.keys(a).some((key) => key in b && a[key] !== b[key]);
}
