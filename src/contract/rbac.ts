/**
 * The RBAC rule table: every permission the controllers hold, in one place.
 *
 * The constructs turn these rules into ClusterRoles/Roles; the end-to-end suite runs the
 * controllers under exactly those roles, so a missing permission fails a test. Rules are
 * minimal: no wildcards, no Secrets, nothing a role does not use (the comments say who
 * uses each one).
 */

/** One RBAC PolicyRule, as plain data. */
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  /** Limits the rule to these object names (never usable with `create`, `list` or `watch`). */
  readonly resourceNames?: readonly string[];
}

const CORE = '';
const STORAGE = 'storage.k8s.io';
const COORDINATION = 'coordination.k8s.io';

/**
 * Cluster-wide rules of the NFS controller (provisioner + external resizer).
 */
export const NFS_CONTROLLER_RULES: readonly PolicyRule[] = freeze([
  // Provisioning: watch volumes, create one per claim (pvc-<uid>), delete released ones.
  // patch: capacity (and the recorded size) after a resize. All writes are patches: no update.
  { apiGroups: [CORE], resources: ['persistentvolumes'], verbs: ['get', 'list', 'watch', 'create', 'delete', 'patch'] },
  // Claims: watch what to provision and resize; patch: the used-bytes annotations, and
  // autoGrow raising spec.resources.requests.storage.
  { apiGroups: [CORE], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch', 'patch'] },
  // Resize: status.capacity and the resize conditions live in the status subresource.
  { apiGroups: [CORE], resources: ['persistentvolumeclaims/status'], verbs: ['patch'] },
  // Class parameters (pathPattern, onDelete, directoryMode, maxVolumeSize) at provision/resize time.
  { apiGroups: [STORAGE], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
  // ProvisioningFailed, VolumeResizeFailed, ... on the claim; patch aggregates repeats.
  { apiGroups: [CORE], resources: ['events'], verbs: ['create', 'patch'] },
]);

/**
 * Namespaced rules of the NFS controller for leader election, in its own namespace.
 * `create` cannot be limited by name (the object does not exist yet); `get`/`update` can.
 */
export function nfsLeaderElectionRules(leaseName: string): readonly PolicyRule[] {
  if (!leaseName) throw new Error('nfsLeaderElectionRules: leaseName is empty');
  return freeze([
    { apiGroups: [COORDINATION], resources: ['leases'], verbs: ['create'] },
    { apiGroups: [COORDINATION], resources: ['leases'], verbs: ['get', 'update'], resourceNames: [leaseName] },
  ]);
}

/**
 * Namespaced rules of the in-cluster NFS server (the `nfs-server` command) besides its
 * Lease: its own Service, read by name, whose cluster IP it writes into every volume. Its
 * cluster-wide rules are the NFS controller's ({@link NFS_CONTROLLER_RULES}).
 */
export function nfsServerServiceRules(serviceName: string): readonly PolicyRule[] {
  if (!serviceName) throw new Error('nfsServerServiceRules: serviceName is empty');
  return freeze([
    { apiGroups: [CORE], resources: ['services'], verbs: ['get'], resourceNames: [serviceName] },
  ]);
}

/**
 * Cluster-wide rules of the local node agent (one pod per node, no leader election): exactly
 * the requests behind its port (src/runtime/ports/local.ts; test/runtime/contract.test.ts
 * holds the two to each other). Classes come from its class map, never from StorageClasses.
 */
export const LOCAL_AGENT_RULES: readonly PolicyRule[] = freeze([
  // Publish discovered volumes, list and watch its node's (label selector), re-read one
  // before a wipe, delete released ones after the wipe.
  { apiGroups: [CORE], resources: ['persistentvolumes'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  // Its own Node, read by name: the hostname label the PV node affinity must select (it can differ from the name).
  { apiGroups: [CORE], resources: ['nodes'], verbs: ['get'] },
  // VolumeFailedDelete, wipe failures, ... on the PVs; patch aggregates repeats.
  { apiGroups: [CORE], resources: ['events'], verbs: ['create', 'patch'] },
]);

/**
 * Cluster-wide rules of the opt-in node-deletion role (one replica per cluster): it compares
 * the local agents' PVs with the Node list and removes the Available PVs of deleted nodes.
 */
export const LOCAL_NODE_CLEANUP_RULES: readonly PolicyRule[] = freeze([
  // The agents' PVs (by label), and deleting the unused ones of nodes that are gone.
  { apiGroups: [CORE], resources: ['persistentvolumes'], verbs: ['list', 'delete'] },
  // Which nodes still exist.
  { apiGroups: [CORE], resources: ['nodes'], verbs: ['list'] },
  // ReferencedNodeDeleted / NodeDeletedVolumeRemoved on the PVs.
  { apiGroups: [CORE], resources: ['events'], verbs: ['create', 'patch'] },
]);

/** Does a rule set allow a verb on a resource (`pods`, `persistentvolumeclaims/status`)? */
export function rulesAllow(rules: readonly PolicyRule[], apiGroup: string, resource: string, verb: string, name?: string): boolean {
  return rules.some((r) => r.apiGroups.includes(apiGroup)
    && r.resources.includes(resource)
    && r.verbs.includes(verb)
    && (r.resourceNames === undefined || (name !== undefined && r.resourceNames.includes(name))));
}

function freeze(rules: PolicyRule[]): readonly PolicyRule[] {
  for (const rule of rules) {
    Object.freeze(rule.apiGroups);
    Object.freeze(rule.resources);
    Object.freeze(rule.verbs);
    if (rule.resourceNames) Object.freeze(rule.resourceNames);
    Object.freeze(rule);
  }
  return Object.freeze(rules);
}
