import { k8s } from 'cdk8s-plus-28';

/**
 * What a node agent that only serves mount points needs beyond a plain root process: its
 * wipe empties volumes whose files belong to whatever users the pods ran as.
 *  - DAC_OVERRIDE: read, search and write directories of any owner and mode (a tenant's
 *    `0700` directory, a `0555` one), to list and unlink what is inside;
 *  - FOWNER: unlink in sticky directories (`1777`, like /tmp) entries it does not own.
 * Nothing else: reading mountinfo, sysfs and statfs needs no capability, and
 * HostToContainer mount propagation needs no privileged container (only Bidirectional does).
 * test/runtime/capabilities.test.ts runs a wipe with exactly these, and without each.
 */
const FILESYSTEM_AGENT_CAPABILITIES: readonly string[] = ['DAC_OVERRIDE', 'FOWNER'];

/**
 * The node agent container's security context. Root in both cases: the volumes' files
 * belong to any user. `usesDevices`: some class publishes block devices, which the agent
 * opens (exclusively) to identify and wipe: that needs the host's device nodes let through
 * the device cgroup and CAP_SYS_ADMIN (BLKDISCARD, BLKGETSIZE64 ...), i.e. privileged.
 */
export function agentSecurityContext(usesDevices: boolean): k8s.SecurityContext {
  if (usesDevices) {
    return { privileged: true, runAsUser: 0, runAsNonRoot: false, readOnlyRootFilesystem: true };
  }
  return {
    privileged: false,
    runAsUser: 0,
    runAsNonRoot: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'], add: [...FILESYSTEM_AGENT_CAPABILITIES] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
