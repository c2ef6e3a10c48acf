import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { COMMANDS, ENV, LOCAL_FLAGS } from '../../contract/controller-config';
import { flagArg, LOCAL_FLAG_SPECS } from '../../contract/flags';
import { LABELS } from '../../contract/keys';
import { LOCAL_NODE_CLEANUP_RULES } from '../../contract/rbac';
import { clusterScoped } from '../common/cluster-scoped';
import { plainApiObject } from '../common/plain-api-object';
import { fieldEnv, podTemplate, Workload, workloadFlags } from '../common/workload';

const NAME = 'cdk8s-storage-local-node-cleanup';
const COMPONENT = 'local-node-cleanup';

export interface NodeCleanupOptions {
  readonly namespace: string;
  readonly image: string;
  /** The provisioner's labels; the component label is replaced. */
  readonly labels: Record<string, string>;
  /** The pod knobs that apply to it (see helperWorkload). */
  readonly workload: Workload;
}

/**
 * The opt-in node-deletion role of a LocalStaticProvisioner: its own ServiceAccount and
 * ClusterRole (PVs list/delete, nodes list, events), and a one-replica Deployment running
 * `local --node-cleanup`. It needs no host access, so it runs unprivileged.
 */
export function addNodeCleanup(scope: Construct, options: NodeCleanupOptions): void {
  // Its own app name: the DaemonSet selects the agent pods by name and instance only, and
  // that selector is immutable, so these pods must differ in one of those two labels.
  const labels: Record<string, string> = { ...options.labels, [LABELS.name]: NAME, [LABELS.component]: COMPONENT };
  const selector = { [LABELS.name]: NAME, [LABELS.instance]: labels[LABELS.instance] };
  const metadata = { namespace: options.namespace, labels };

  const serviceAccount = new k8s.KubeServiceAccount(scope, 'NodeCleanupServiceAccount', {
    metadata,
    automountServiceAccountToken: true,
  });
  const role = clusterScoped(new k8s.KubeClusterRole(scope, 'NodeCleanupClusterRole', {
    metadata: { labels },
    rules: LOCAL_NODE_CLEANUP_RULES.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })),
  }));
  clusterScoped(new k8s.KubeClusterRoleBinding(scope, 'NodeCleanupClusterRoleBinding', {
    metadata: { labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.name },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount.name, namespace: options.namespace }],
  }));

  plainApiObject(scope, 'NodeCleanup', k8s.KubeDeployment.manifest({
    metadata,
    spec: {
      replicas: 1,
      // One copy at a time is enough; two briefly would be harmless (deletes carry preconditions).
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selector },
      template: podTemplate({
        workload: options.workload,
        labels,
        serviceAccountName: serviceAccount.name,
        podSecurityContext: { seccompProfile: { type: 'RuntimeDefault' } },
        container: {
          name: 'node-cleanup',
          image: options.image,
          args: [
            COMMANDS.local,
            flagArg(LOCAL_FLAG_SPECS, LOCAL_FLAGS.nodeCleanup),
            ...workloadFlags(LOCAL_FLAG_SPECS, options.workload),
          ],
          env: [fieldEnv(ENV.podName, 'metadata.name'), fieldEnv(ENV.podNamespace, 'metadata.namespace')],
          livenessPeriodSeconds: 20,
          readinessPeriodSeconds: 10,
          defaultResources: {
            requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('48Mi') },
            limits: { cpu: k8s.Quantity.fromString('200m'), memory: k8s.Quantity.fromString('128Mi') },
          },
          // Only API calls: no host access, no capabilities, the image's non-root user.
          securityContext: {
            runAsNonRoot: true,
            privileged: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
        },
      }),
    },
  }));
}
