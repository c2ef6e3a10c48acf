import {
  LOCAL_AGENT_RULES, LOCAL_NODE_CLEANUP_RULES, NFS_CONTROLLER_RULES, nfsLeaderElectionRules, nfsServerServiceRules, PolicyRule, rulesAllow,
} from '../../src/contract/rbac';

const tables: Array<[string, readonly PolicyRule[]]> = [
  ['NFS controller', NFS_CONTROLLER_RULES],
  ['NFS leader election', nfsLeaderElectionRules('nfs-lock')],
  ['NFS server Service', nfsServerServiceRules('nfs-server')],
  ['local agent', LOCAL_AGENT_RULES],
  ['local node cleanup', LOCAL_NODE_CLEANUP_RULES],
];

describe.each(tables)('%s rules', (_name, rules) => {
  test('no wildcard anywhere', () => {
    for (const rule of rules) {
      for (const value of [...rule.apiGroups, ...rule.resources, ...rule.verbs, ...(rule.resourceNames ?? [])]) {
        expect(value).not.toContain('*');
      }
    }
  });

  test('no access to Secrets, ConfigMaps, Pods or RBAC objects', () => {
    const resources = rules.flatMap((r) => r.resources);
    for (const forbidden of ['secrets', 'configmaps', 'pods', 'pods/exec', 'serviceaccounts/token', 'roles', 'clusterroles', 'rolebindings', 'clusterrolebindings']) {
      expect(resources).not.toContain(forbidden);
    }
    expect(rules.flatMap((r) => r.apiGroups)).not.toContain('rbac.authorization.k8s.io');
  });

  test('no escalate, bind, impersonate or deletecollection', () => {
    const verbs = rules.flatMap((r) => r.verbs);
    for (const forbidden of ['escalate', 'bind', 'impersonate', 'deletecollection']) {
      expect(verbs).not.toContain(forbidden);
    }
  });

  test('every rule is non-empty and frozen', () => {
    for (const rule of rules) {
      expect(rule.apiGroups.length).toBeGreaterThan(0);
      expect(rule.resources.length).toBeGreaterThan(0);
      expect(rule.verbs.length).toBeGreaterThan(0);
      expect(Object.isFrozen(rule)).toBe(true);
      expect(Object.isFrozen(rule.verbs)).toBe(true);
    }
    expect(Object.isFrozen(rules)).toBe(true);
  });

  test('a rule limited by name never carries create, list or watch (Kubernetes ignores names for them)', () => {
    for (const rule of rules.filter((r) => r.resourceNames)) {
      expect(rule.verbs.filter((v) => ['create', 'list', 'watch'].includes(v))).toEqual([]);
    }
  });
});

describe('NFS controller', () => {
  test.each([
    ['', 'persistentvolumes', ['get', 'list', 'watch', 'create', 'delete', 'patch']],
    ['', 'persistentvolumeclaims', ['get', 'list', 'watch', 'patch']],
    ['', 'persistentvolumeclaims/status', ['patch']],
    ['storage.k8s.io', 'storageclasses', ['get', 'list', 'watch']],
    ['', 'events', ['create', 'patch']],
  ])('can %s %s: %j', (group, resource, verbs) => {
    for (const verb of verbs) expect(rulesAllow(NFS_CONTROLLER_RULES, group, resource, verb)).toBe(true);
  });

  test('cannot delete claims, touch nodes or leases cluster-wide', () => {
    expect(rulesAllow(NFS_CONTROLLER_RULES, '', 'persistentvolumeclaims', 'delete')).toBe(false);
    expect(rulesAllow(NFS_CONTROLLER_RULES, '', 'persistentvolumeclaims', 'create')).toBe(false);
    expect(rulesAllow(NFS_CONTROLLER_RULES, '', 'nodes', 'get')).toBe(false);
    expect(rulesAllow(NFS_CONTROLLER_RULES, 'coordination.k8s.io', 'leases', 'get')).toBe(false);
    expect(rulesAllow(NFS_CONTROLLER_RULES, 'storage.k8s.io', 'storageclasses', 'update')).toBe(false);
  });
});

describe('NFS leader election', () => {
  test('creates any lease, reads and renews only its own', () => {
    const rules = nfsLeaderElectionRules('nfs-lock');
    expect(rulesAllow(rules, 'coordination.k8s.io', 'leases', 'create')).toBe(true);
    expect(rulesAllow(rules, 'coordination.k8s.io', 'leases', 'get', 'nfs-lock')).toBe(true);
    expect(rulesAllow(rules, 'coordination.k8s.io', 'leases', 'update', 'nfs-lock')).toBe(true);
    expect(rulesAllow(rules, 'coordination.k8s.io', 'leases', 'update', 'kube-scheduler')).toBe(false);
    expect(rulesAllow(rules, 'coordination.k8s.io', 'leases', 'delete', 'nfs-lock')).toBe(false);
  });

  test('throws for an empty lease name', () => {
    expect(() => nfsLeaderElectionRules('')).toThrow(/leaseName is empty/);
  });
});

describe('NFS server Service', () => {
  test('reads its own Service by name and nothing else', () => {
    const rules = nfsServerServiceRules('nfs-server');
    expect(rulesAllow(rules, '', 'services', 'get', 'nfs-server')).toBe(true);
    expect(rulesAllow(rules, '', 'services', 'get', 'kubernetes')).toBe(false);
    expect(rulesAllow(rules, '', 'services', 'list')).toBe(false);
    expect(rulesAllow(rules, '', 'services', 'update', 'nfs-server')).toBe(false);
  });

  test('throws for an empty Service name', () => {
    expect(() => nfsServerServiceRules('')).toThrow(/serviceName is empty/);
  });
});

describe('local agent', () => {
  test.each([
    ['', 'persistentvolumes', ['get', 'list', 'watch', 'create', 'delete']],
    ['', 'nodes', ['get']],
    ['', 'events', ['create', 'patch']],
  ])('can %s %s: %j', (group, resource, verbs) => {
    for (const verb of verbs) expect(rulesAllow(LOCAL_AGENT_RULES, group, resource, verb)).toBe(true);
  });

  test('cannot change nodes or claims', () => {
    expect(rulesAllow(LOCAL_AGENT_RULES, '', 'nodes', 'update')).toBe(false);
    expect(rulesAllow(LOCAL_AGENT_RULES, '', 'nodes', 'patch')).toBe(false);
    expect(rulesAllow(LOCAL_AGENT_RULES, '', 'persistentvolumeclaims', 'get')).toBe(false);
  });

  test('cannot read StorageClasses (its classes come from the class map) or list and watch nodes (it reads its own by name)', () => {
    for (const verb of ['get', 'list', 'watch']) expect(rulesAllow(LOCAL_AGENT_RULES, 'storage.k8s.io', 'storageclasses', verb)).toBe(false);
    expect(rulesAllow(LOCAL_AGENT_RULES, '', 'nodes', 'list')).toBe(false);
    expect(rulesAllow(LOCAL_AGENT_RULES, '', 'nodes', 'watch')).toBe(false);
  });
});
