/**
 * The Pod Security Standards (Kubernetes 1.28, https://kubernetes.io/docs/concepts/security/pod-security-standards/)
 * as a pure check of a pod template: what Pod Security Admission would refuse at a level.
 * Only Linux pods; the rules are the documented ones, each a line below.
 */

export type Level = 'privileged' | 'baseline' | 'restricted';

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

/** What in a pod template (`{ metadata, spec }`) breaks `level`; empty when it meets it. */
export function podSecurityViolations(template: any, level: Level): string[] {
  if (level === 'privileged') return [];
  const spec = template.spec ?? {};
  const podContext = spec.securityContext ?? {};
  const containers: any[] = [...spec.initContainers ?? [], ...spec.containers ?? [], ...spec.ephemeralContainers ?? []];
  const found: string[] = [];
  const add = (rule: string, where: string) => found.push(`${rule}: ${where}`);

  // Baseline.
  for (const ns of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[ns]) add('host namespaces', `spec.${ns}`);
  if (podContext.windowsOptions?.hostProcess) add('HostProcess', 'spec.securityContext.windowsOptions.hostProcess');
  for (const v of spec.volumes ?? []) if (v.hostPath) add('hostPath volumes', `volume ${v.name}`);
  for (const s of podContext.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) add('sysctls', s.name);
  checkSeLinux(podContext.seLinuxOptions, 'spec.securityContext', add);
  if (podContext.seccompProfile?.type === 'Unconfined') add('seccomp', 'spec.securityContext.seccompProfile');
  for (const [key, value] of Object.entries<string>(template.metadata?.annotations ?? {})) {
    if (key.startsWith('container.apparmor.security.beta.kubernetes.io/') && value !== 'runtime/default' && !value.startsWith('localhost/')) {
      add('AppArmor', key);
    }
  }
  for (const c of containers) {
    const ctx = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (ctx.privileged) add('privileged containers', where);
    if (ctx.windowsOptions?.hostProcess) add('HostProcess', where);
    for (const cap of ctx.capabilities?.add ?? []) if (!BASELINE_CAPABILITIES.has(cap)) add('capabilities', `${where} adds ${cap}`);
    for (const p of c.ports ?? []) if (p.hostPort) add('host ports', `${where} port ${p.hostPort}`);
    checkSeLinux(ctx.seLinuxOptions, where, add);
    if (ctx.procMount !== undefined && ctx.procMount !== 'Default') add('/proc mount type', where);
    if (ctx.seccompProfile?.type === 'Unconfined') add('seccomp', where);
  }
  if (level === 'baseline') return found;

  // Restricted, on top.
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (type !== undefined && !RESTRICTED_VOLUMES.has(type)) add('volume types', `volume ${v.name} is ${type}`);
  }
  if (podContext.runAsUser === 0) add('running as non-root user', 'spec.securityContext.runAsUser is 0');
  for (const c of containers) {
    const ctx = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (ctx.allowPrivilegeEscalation !== false) add('privilege escalation', `${where} does not set allowPrivilegeEscalation: false`);
    if ((ctx.runAsNonRoot ?? podContext.runAsNonRoot) !== true) add('running as non-root', `${where} does not set runAsNonRoot: true`);
    if (ctx.runAsUser === 0) add('running as non-root user', `${where} runAsUser is 0`);
    const seccomp = ctx.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') add('seccomp', `${where} has no RuntimeDefault or Localhost profile`);
    if (!(ctx.capabilities?.drop ?? []).includes('ALL')) add('capabilities', `${where} does not drop ALL`);
    for (const cap of ctx.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') add('capabilities', `${where} adds ${cap}`);
  }
  return found;
}

function checkSeLinux(options: any, where: string, add: (rule: string, where: string) => void): void {
  if (!options) return;
  if (!SELINUX_TYPES.has(options.type ?? '')) add('SELinux', `${where} type ${options.type}`);
  if (options.user || options.role) add('SELinux', `${where} sets user or role`);
}
