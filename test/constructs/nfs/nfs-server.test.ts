import * as fs from 'fs';
import * as path from 'path';
import { Size } from 'cdk8s';
import { NfsQuota, NfsServer } from '../../../src';

const VERSION: string = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')).version;

describe('NfsServer.external', () => {
  test.each(['10.0.0.5', 'nas', 'nas.example.com', 'NAS.Example.com', 'fd00::5', '[fd00::5]', '::1', 'nas.example.com.'])('accepts the host %s', (host) => {
    expect(NfsServer.external({ host, path: '/exports' }).host).toBe(host);
  });

  test('keeps the export path', () => {
    expect(NfsServer.external({ host: 'nas', path: '/exports/k8s' }).path).toBe('/exports/k8s');
    expect(NfsServer.external({ host: 'nas', path: '/' }).path).toBe('/');
  });

  test('drops a trailing slash from the path', () => {
    expect(NfsServer.external({ host: 'nas', path: '/exports/k8s/' }).path).toBe('/exports/k8s');
  });

  test('throws for an empty host', () => {
    expect(() => NfsServer.external({ host: '', path: '/exports' })).toThrow('NfsServer.external: host "" is empty: give the NFS server\'s host name or IP address');
  });

  test.each([
    ['10.0.0.5:2049', '"10.0.0.5"', '2049'],
    ['nas.example.com:2049', '"nas.example.com"', '2049'],
    ['[fd00::5]:20490', '"[fd00::5]"', '20490'],
  ])('throws for a host with a port, %s, saying ports are not part of host', (host, bare, port) => {
    expect(() => NfsServer.external({ host, path: '/exports' }))
      .toThrow(`NfsServer.external: host "${host}" includes a port: ports are not part of host: give only the server, e.g. ${bare} (NFS v4 uses port 2049; `
        + `for a server on another port, add the mount option "port=${port}" to the class's mountOptions)`);
  });

  test.each(['nfs://nas', 'nas/exports', '10.0.0.5:', 'fd00:::5:x', 'nas example', '-nas', 'nas_1.example.com', 'nas..example', '[fd00::5', '10.0.0.5 '])('throws for the host %j', (host) => {
    expect(() => NfsServer.external({ host, path: '/exports' })).toThrow(/host .* is not a host name or IP address: give only the server/);
  });

  test('throws for an empty path', () => {
    expect(() => NfsServer.external({ host: 'nas', path: '' })).toThrow('NfsServer.external: path "" is empty: give an absolute path, e.g. "/exports/k8s"');
  });

  test('throws for a relative export path', () => {
    expect(() => NfsServer.external({ host: 'nas', path: 'exports/k8s' })).toThrow('NfsServer.external: path "exports/k8s" is relative: write it as an absolute path, e.g. "/exports/k8s"');
  });

  test.each([['/exports/../etc', '/etc'], ['/exports//k8s', '/exports/k8s'], ['/exports/./k8s', '/exports/k8s']])('throws for the unnormalised path %j', (p, normal) => {
    expect(() => NfsServer.external({ host: 'nas', path: p })).toThrow(`has ".", ".." or "//" in it: write the plain path "${normal}"`);
  });

  test('throws for a control character in the path', () => {
    expect(() => NfsServer.external({ host: 'nas', path: '/exports\u0000' })).toThrow(/contains a control character/);
  });

  test('quotes a hostile host safely: control characters escaped, long values cut', () => {
    let message = '';
    try {
      NfsServer.external({ host: `nas\u001b[31m${'x'.repeat(300)}`, path: '/exports' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('host "nas\\u001b[31m');
    expect(message).not.toContain('\u001b');
    expect(message).toContain(`${'x'.repeat(92)}..."`);
    expect(message).not.toContain('x'.repeat(93));
  });
});

describe('NfsServer.inCluster', () => {
  const WHERE = 'NfsServer.inCluster:';

  test('defaults: loop images, sparse, a 10Gi claim of the default class, an assigned IP, this package\'s server image, no eviction', () => {
    const server = NfsServer.inCluster();
    expect(server.host).toBeUndefined();
    expect(server.path).toBeUndefined();
    const { backingSize, ...rest } = server.inClusterOptions!;
    expect(backingSize!.asString()).toBe(Size.gibibytes(10).asString());
    expect(rest).toEqual({
      quota: NfsQuota.LOOP_IMAGE,
      preallocate: false,
      image: `ghcr.io/cdk8s-storage/nfs-server:${VERSION}`,
      allowEviction: false,
    });
  });

  test('an external server has no in-cluster options', () => {
    expect(NfsServer.external({ host: 'nas', path: '/exports' }).inClusterOptions).toBeUndefined();
  });

  test('keeps every prop it is given', () => {
    const options = NfsServer.inCluster({
      quota: NfsQuota.LOOP_IMAGE,
      preallocate: true,
      storageClass: 'fast-ssd',
      backingSize: Size.gibibytes(500),
      clusterIP: '10.96.0.50',
      image: 'registry.example.com/storage/nfs-server:1.2.3',
      allowEviction: true,
    }).inClusterOptions!;
    expect(options.quota).toBe(NfsQuota.LOOP_IMAGE);
    expect(options.preallocate).toBe(true);
    expect(options.storageClass).toBe('fast-ssd');
    expect(options.backingSize!.asString()).toBe(Size.gibibytes(500).asString());
    expect(options.clusterIP).toBe('10.96.0.50');
    expect(options.image).toBe('registry.example.com/storage/nfs-server:1.2.3');
    expect(options.allowEviction).toBe(true);
  });

  test.each([NfsQuota.LOOP_IMAGE, NfsQuota.XFS_PROJECT, NfsQuota.NONE])('accepts quota %s', (quota) => {
    expect(NfsServer.inCluster({ quota }).inClusterOptions!.quota).toBe(quota);
  });

  test('a hostPath replaces the claim: no backing size', () => {
    const options = NfsServer.inCluster({ hostPath: '/var/lib/nfs-data/', hostPathNode: 'node-1.example.com' }).inClusterOptions!;
    expect(options.hostPath).toBe('/var/lib/nfs-data');
    expect(options.hostPathNode).toBe('node-1.example.com');
    expect(options.backingSize).toBeUndefined();
    expect(options.storageClass).toBeUndefined();
  });

  test.each(['10.96.0.50', 'fd00:10:96::50'])('accepts the cluster IP %s', (clusterIP) => {
    expect(NfsServer.inCluster({ clusterIP }).inClusterOptions!.clusterIP).toBe(clusterIP);
  });

  test.each<[string, object, string]>([
    ['quota', { quota: 'ext4' }, `${WHERE} quota "ext4" is not an NfsQuota value: use NfsQuota.LOOP_IMAGE, NfsQuota.XFS_PROJECT or NfsQuota.NONE`],
    ['preallocate', { preallocate: 'yes' }, `${WHERE} preallocate "yes" is not a boolean: use true or false`],
    ['preallocate', { quota: NfsQuota.XFS_PROJECT, preallocate: true },
      `${WHERE} preallocate true has nothing to allocate with quota xfs-project: only loop images are preallocated`],
    ['preallocate', { quota: NfsQuota.NONE, preallocate: true }, `${WHERE} preallocate true has nothing to allocate with quota none`],
    ['storageClass', { hostPath: '/data', storageClass: 'fast' }, `${WHERE} storageClass "fast" is set together with hostPath: the data lives either in a claim`],
    ['backingSize', { hostPath: '/data', backingSize: Size.gibibytes(1) }, `${WHERE} backingSize "1Gi" is set together with hostPath`],
    ['hostPathNode', { hostPathNode: 'node-1' }, `${WHERE} hostPathNode "node-1" is set without hostPath: set hostPath too`],
    ['hostPath', { hostPath: '' }, `${WHERE} hostPath "" is empty: give an absolute path, e.g. "/var/lib/cdk8s-storage/nfs"`],
    ['hostPath', { hostPath: 'data' }, `${WHERE} hostPath "data" is relative: write it as an absolute path, e.g. "/data"`],
    ['hostPath', { hostPath: '/var/../data' }, `${WHERE} hostPath "/var/../data" has ".", ".." or "//" in it: write the plain path "/data"`],
    ['hostPath', { hostPath: '/data\n' }, `${WHERE} hostPath "/data\\n" contains a control character: remove it`],
    ['hostPath', { hostPath: '/' }, `${WHERE} hostPath "/" is the node's root directory: give a directory of its own`],
    ['hostPathNode', { hostPath: '/data', hostPathNode: 'node 1' }, `${WHERE} hostPathNode "node 1" is not a node's hostname label value`],
    ['hostPathNode', { hostPath: '/data', hostPathNode: 'n'.repeat(64) }, 'is not a node\'s hostname label value'],
    ['storageClass', { storageClass: 'Fast_SSD' }, `${WHERE} storageClass "Fast_SSD" is not a valid StorageClass name`],
    ['backingSize', { backingSize: Size.gibibytes(0) }, `${WHERE} backingSize "0Gi" is zero: give the size of the backing claim`],
    ['clusterIP', { clusterIP: 'None' }, `${WHERE} clusterIP "None" makes a headless Service, which has no IP for the volumes to name`],
    ['clusterIP', { clusterIP: 'nfs.example.com' }, `${WHERE} clusterIP "nfs.example.com" is not an IP address: give a free IP of the cluster's service CIDR`],
    ['clusterIP', { clusterIP: '10.96.0.50/32' }, 'is not an IP address'],
    ['clusterIP', { clusterIP: '127.0.0.1' }, `${WHERE} clusterIP "127.0.0.1" is an unspecified, loopback, link-local or multicast address`],
    ['clusterIP', { clusterIP: '0.0.0.0' }, 'is an unspecified, loopback, link-local or multicast address'],
    ['clusterIP', { clusterIP: '169.254.1.1' }, 'is an unspecified, loopback, link-local or multicast address'],
    ['clusterIP', { clusterIP: '239.1.1.1' }, 'is an unspecified, loopback, link-local or multicast address'],
    ['clusterIP', { clusterIP: '::1' }, 'is an unspecified, loopback, link-local or multicast address'],
    ['clusterIP', { clusterIP: 'fe80::1' }, 'is an unspecified, loopback, link-local or multicast address'],
    ['image', { image: 'Registry/NFS' }, `${WHERE} image "Registry/NFS" is not an image reference`],
    ['allowEviction', { allowEviction: 'no' }, `${WHERE} allowEviction "no" is not a boolean: use true or false`],
  ])('throws for a bad %s: %j', (_prop, options, message) => {
    expect(() => NfsServer.inCluster(options as any)).toThrow(message);
  });
});
