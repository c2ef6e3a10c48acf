import { isDnsSubdomain, isProvisionerName, leaseNameFor } from '../../src/contract/names';

describe('leaseNameFor', () => {
  test('turns the slash into "-" and lowercases', () => {
    expect(leaseNameFor('example.com/nfs')).toBe('example.com-nfs');
    expect(leaseNameFor('Example.COM/nfs')).toBe('example.com-nfs');
  });

  test('makes a DNS label of a name that is still not a Lease name', () => {
    expect(leaseNameFor('example.com/my_nfs')).toBe('example-com-my-nfs');
  });

  test('gives a valid Lease name for every valid provisioner name', () => {
    const names = ['nfs', 'a/b', 'example.com/NFS_1', 'x.y.z/a.b-c_d', 'a.b/-', 'q/Z.z', `d.e/${'n'.repeat(63)}`];
    for (const name of names.filter(isProvisionerName)) {
      expect(isDnsSubdomain(leaseNameFor(name))).toBe(true);
    }
  });
});
