/**
 * Pod Security Admission labels for the namespaces the constructs create. Each workload's
 * namespace is labelled with the strictest level its pods meet, enforced (and warned and
 * audited at the same level, so a pod patched beyond it is reported too):
 *  - NFS controller: `baseline`. It runs as uid 0 with DAC_OVERRIDE and FOWNER (both in
 *    baseline's allowed capabilities) and mounts the export as an `nfs` volume;
 *    `restricted` forbids all three (non-root, NET_BIND_SERVICE only, no nfs volumes).
 *  - In-cluster NFS server: `privileged`. Privileged for loop images, and DAC_READ_SEARCH
 *    (not in baseline's capabilities) in every quota mode.
 *  - Local node agent: `privileged`. It mounts the discovery directories with `hostPath`,
 *    which baseline forbids, and runs privileged when a class publishes block devices.
 * test/constructs/common/pod-security.test.ts checks every synthesized pod against the
 * level its namespace carries.
 */

/** The Pod Security Standards levels. */
export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/** The enforce, warn and audit labels of a namespace at `level`. */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  return {
    'pod-security.kubernetes.io/enforce': level,
    'pod-security.kubernetes.io/warn': level,
    'pod-security.kubernetes.io/audit': level,
  };
}

/** The levels from the strictest to the most permissive. */
const LEVELS: readonly PodSecurityLevel[] = ['restricted', 'baseline', 'privileged'];

/**
 * For a label both `had` and `wanted` set: the more permissive Pod Security level when `key`
 * is one of the level labels (enforce, warn, audit), else `had` (the first writer's value).
 */
export function morePermissiveLabel(key: string, had: string, wanted: string): string {
  const levelKey = key.startsWith('pod-security.kubernetes.io/') && !key.endsWith('-version');
  const rank = (v: string) => LEVELS.indexOf(v as PodSecurityLevel);
  if (!levelKey || rank(had) < 0 || rank(wanted) < 0) return had;
  return rank(wanted) > rank(had) ? wanted : had;
}
