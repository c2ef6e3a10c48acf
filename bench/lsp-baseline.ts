/**
 * BASELINE EMULATION of the sig-storage local-static-provisioner's discovery (the anchor
 * behaviour), written from its documented algorithm and source layout; it is not the real
 * binary. Run as a child process by local-discovery.ts.
 *
 * What it reproduces, per the anchor:
 *  - startup: GET its Node; informers (LIST + WATCH) on all PersistentVolumes (the cache of
 *    "its" PVs is filtered client-side) and on StorageClasses (reclaim policy, mount options);
 *  - then forever, serially: a deleter pass over the cache (no API calls when nothing is
 *    Released), a discovery pass, and `time.Sleep(10 * time.Second)`;
 *  - discovery per class: read the class's StorageClass from the cache, list the directory,
 *    read the mount table (/proc/mounts), and for each entry: stat it, name the PV
 *    `local-pv-<fnv32a(file, node, class)>`, skip it if cached, require a mount point, statfs,
 *    and create the PV with one synchronous POST (capacity rounded down to GiB/MiB);
 *  - a client with client-go's defaults when QPS is not configured (the anchor sets none):
 *    a token bucket of 5 requests/s with a burst of 10 in front of every request.
 *
 * Prints one JSON line per event on stdout: `started`, and `pass` (with the time the next
 * pass starts).
 */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import * as yaml from 'js-yaml';

const DISCOVERY_SLEEP_MS = 10_000;
const CLIENT_QPS = 5;
const CLIENT_BURST = 10;

function flag(name: string): string {
  const prefix = `--${name}=`;
  const arg = process.argv.find((a) => a.startsWith(prefix));
  if (!arg) throw new Error(`missing --${name}`);
  return arg.slice(prefix.length);
}

const kubeconfig = yaml.load(fs.readFileSync(flag('kubeconfig'), 'utf8')) as any;
const server: string = kubeconfig.clusters[0].cluster.server;
const token: string = kubeconfig.users[0].user.token;
const nodeName = flag('node');
const className = flag('class');
const hostDir = flag('host-dir');
const mountDir = flag('mount-dir');
/** `labelsForPV`, a documented option of the anchor: here it marks the PVs for cleanup. */
const [labelKey, labelValue] = flag('label').split('=');

/** client-go's token bucket: `CLIENT_BURST` tokens, refilled at `CLIENT_QPS` per second. */
class TokenBucket {
  private tokens = CLIENT_BURST;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();

  public take(): Promise<void> {
    const next = this.queue.then(async () => {
      for (;;) {
        const now = Date.now();
        this.tokens = Math.min(CLIENT_BURST, this.tokens + ((now - this.last) / 1000) * CLIENT_QPS);
        this.last = now;
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / CLIENT_QPS) * 1000)));
      }
    });
    this.queue = next;
    return next;
  }
}
const limiter = new TokenBucket();
const client = server.startsWith('https:') ? https : http;

async function request(method: string, p: string, body?: unknown): Promise<any> {
  await limiter.take();
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = client.request(new URL(server + p), {
      method,
      headers: { 'Authorization': `Bearer ${token}`, 'Accept': 'application/json', ...(payload ? { 'Content-Type': 'application/json' } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${p}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
        else resolve(text ? JSON.parse(text) : undefined);
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A list + watch cache of a collection (a shared informer). */
async function informer(collection: string, cache: Map<string, any>): Promise<void> {
  const list = await request('GET', `${collection}?resourceVersion=0`);
  for (const item of list.items) cache.set(item.metadata.name, item);
  await limiter.take();
  const req = client.request(new URL(`${server}${collection}?watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`), {
    headers: { Authorization: `Bearer ${token}` },
  }, (res) => {
    let buffered = '';
    res.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.trim()) continue;
        const event = JSON.parse(line);
        if (event.type === 'DELETED') cache.delete(event.object.metadata.name);
        else if (event.type === 'ADDED' || event.type === 'MODIFIED') cache.set(event.object.metadata.name, event.object);
      }
    });
  });
  req.end();
}

function fnv32a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16);
}

function roundDownCapacityPretty(bytes: number): number {
  for (const unit of [1024 ** 3, 1024 ** 2]) {
    if (Math.floor(bytes / unit) >= 10) return Math.floor(bytes / unit) * unit;
  }
  return bytes;
}

function mountPoints(): Set<string> {
  return new Set(fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter(Boolean)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))));
}

async function main(): Promise<void> {
  const node = await request('GET', `/api/v1/nodes/${nodeName}`);
  const provisionerName = `local-volume-provisioner-${node.metadata.name}-${node.metadata.uid}`;
  const hostname = node.metadata.labels['kubernetes.io/hostname'];
  const pvs = new Map<string, any>();
  const classes = new Map<string, any>();
  await informer('/api/v1/persistentvolumes', pvs);
  await informer('/apis/storage.k8s.io/v1/storageclasses', classes);
  process.stdout.write(`${JSON.stringify({ msg: 'started' })}\n`);

  for (;;) {
    const startedAt = Date.now();
    // Deleter pass: only Released PVs of this provisioner would cause API calls.
    let released = 0;
    for (const pv of pvs.values()) {
      if (pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] === provisionerName && pv.status?.phase === 'Released') released++;
    }
    // Discovery pass.
    let created = 0;
    const errors: string[] = [];
    const sc = classes.get(className);
    if (!sc) {
      errors.push(`failed to get ReclaimPolicy from storage class ${className}: not found`);
    } else {
      const files = fs.readdirSync(mountDir);
      const mounts = mountPoints();
      for (const file of files) {
        const filePath = path.join(mountDir, file);
        const st = fs.statSync(filePath);
        if (!st.isDirectory()) continue;
        const pvName = `local-pv-${fnv32a(file + nodeName + className)}`;
        if (pvs.has(pvName)) continue;
        if (!mounts.has(filePath)) {
          errors.push(`path ${filePath} is not an actual mountpoint`);
          continue;
        }
        const statfs = fs.statfsSync(filePath);
        const pv = {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: pvName, labels: { [labelKey]: labelValue }, annotations: { 'pv.kubernetes.io/provisioned-by': provisionerName } },
          spec: {
            capacity: { storage: String(roundDownCapacityPretty(statfs.blocks * statfs.bsize)) },
            local: { path: path.join(hostDir, file) },
            accessModes: ['ReadWriteOnce'],
            storageClassName: className,
            persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
            volumeMode: 'Filesystem',
            ...(sc.mountOptions ? { mountOptions: sc.mountOptions } : {}),
            nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [hostname] }] }] } },
          },
        };
        try {
          await request('POST', '/api/v1/persistentvolumes', pv);
          created++;
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    }
    const nextAt = Date.now() + DISCOVERY_SLEEP_MS;
    process.stdout.write(`${JSON.stringify({ msg: 'pass', startedAt, endedAt: Date.now(), nextAt, created, released, errors: errors.length })}\n`);
    await new Promise((r) => setTimeout(r, DISCOVERY_SLEEP_MS));
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
