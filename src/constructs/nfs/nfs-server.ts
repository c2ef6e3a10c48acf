import * as net from 'net';
import { normalizeAbsolutePath } from '../common/absolute-path';
import { propError, quote } from '../common/errors';

/**
 * An NFS export that already exists (a NAS, a Linux server, a cloud file service).
 */
export interface NfsExternalServerOptions {
  /**
   * Host name or IP address of the NFS server. Written into every volume, so the nodes
   * (not the pods) must resolve and reach it: cluster-internal DNS names usually do not work.
   */
  readonly host: string;

  /**
   * The exported path on the server (absolute, e.g. `/exports/k8s`). Every volume is a
   * directory below it.
   */
  readonly path: string;
}

/**
 * Where an `NfsProvisioner` creates its volumes.
 */
export class NfsServer {
  /**
   * Subdirectory mode: one directory per volume on an existing export.
   */
  public static external(options: NfsExternalServerOptions): NfsServer {
    return new NfsServer(checkHost(options.host), checkPath(options.path));
  }

  /** Host name or IP address of the server. */
  public readonly host: string;

  /** Exported path on the server (normalised: no trailing `/`). */
  public readonly path: string;

  private constructor(host: string, exportPath: string) {
    this.host = host;
    this.path = exportPath;
  }
}

const WHERE = 'NfsServer.external';

function checkHost(host: string): string {
  if (typeof host !== 'string' || host.length === 0) {
    throw propError(WHERE, 'host', host, 'is empty', 'give the NFS server\'s host name or IP address, e.g. "10.0.0.5" or "nas.example.com"');
  }
  const hostname = /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$/;
  const isHost = (h: string) => net.isIPv4(h) || hostname.test(h);
  // "10.0.0.5:2049" would otherwise pass as an IPv6 address (hex digits, dots and colons).
  const withPort = /^(.*):([0-9]+)$/.exec(host);
  if (withPort && (isHost(withPort[1]) || /^\[.*\]$/.test(withPort[1]))) {
    throw propError(WHERE, 'host', host, 'includes a port',
      `ports are not part of host: give only the server, e.g. ${quote(withPort[1])} (NFS v4 uses port 2049; for a server on another port, `
      + `add the mount option "port=${withPort[2]}" to the class's mountOptions)`);
  }
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (!(net.isIPv6(bare) || (bare === host && isHost(host)))) {
    throw propError(WHERE, 'host', host, 'is not a host name or IP address',
      'give only the server, e.g. "10.0.0.5", "fd00::5" or "nas.example.com" (no scheme, port or path)');
  }
  return host;
}

function checkPath(exportPath: string): string {
  return normalizeAbsolutePath(WHERE, 'path', exportPath, '/exports/k8s');
}
