import { NfsServer } from '../../../src';

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
