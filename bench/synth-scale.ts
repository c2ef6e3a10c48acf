/**
 * Benchmark: how long a cdk8s app using the constructs takes to build and synthesize, as
 * the app grows: one NfsProvisioner with C storage classes and K ResizableClaims spread
 * over them (the claims in a chart of their own, as an application team would write
 * them), up to 50 classes x 200 claims.
 *
 * Baseline in the same run: a plain cdk8s app with the same ApiObjects (the manifests the
 * construct app wrote, each given to a plain `ApiObject`): the cost of cdk8s itself,
 * without the constructs' validation and app-wide checks.
 *
 * Each size is built and synthesized (`app.synthYaml()`) several times in this process;
 * the median is printed.
 *
 *   npx ts-node --project test/tsconfig.json bench/synth-scale.ts [--runs=5] [--sizes=5x20,10x50,25x100,50x200]
 */
import { ApiObject, App, Chart, Size } from 'cdk8s';
import { NfsProvisioner, NfsServer, ResizableClaim } from '../src';

interface Size2 {
  readonly classes: number;
  readonly claims: number;
}

function option(name: string, fallback: string): string {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

/** The app under test: C classes of one provisioner, K claims spread round-robin over them. */
function constructApp(size: Size2): App {
  const app = new App();
  const platform = new Chart(app, 'platform');
  const provisioner = new NfsProvisioner(platform, 'nfs', {
    server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }),
    provisionerName: 'example.com/nfs',
  });
  const classes = Array.from({ length: size.classes }, (_, i) => provisioner.addStorageClass(`class-${i}`, { name: `nfs-${i}` }));
  const team = new Chart(app, 'team', { namespace: 'team' });
  for (let i = 0; i < size.claims; i++) {
    new ResizableClaim(team, `claim-${i}`, { name: `data-${i}`, storageClass: classes[i % classes.length], storage: Size.gibibytes(10) });
  }
  return app;
}

/** The same manifests as plain ApiObjects (no construct logic, no checks). */
function plainApp(manifests: readonly any[]): App {
  const app = new App();
  const chart = new Chart(app, 'plain');
  manifests.forEach((manifest, i) => new ApiObject(chart, `o${i}`, manifest));
  return app;
}

function apiObjectsOf(app: App): ApiObject[] {
  return app.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
}

interface Timing {
  readonly buildMs: number;
  readonly synthMs: number;
}

function time(build: () => App): Timing {
  const started = performance.now();
  const app = build();
  const built = performance.now();
  app.synthYaml();
  return { buildMs: built - started, synthMs: performance.now() - built };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function medianTiming(runs: number, build: () => App): Timing & { totalMs: number } {
  const timings = Array.from({ length: runs }, () => time(build));
  return {
    buildMs: median(timings.map((t) => t.buildMs)),
    synthMs: median(timings.map((t) => t.synthMs)),
    totalMs: median(timings.map((t) => t.buildMs + t.synthMs)),
  };
}

function main(): void {
  const runs = Number(option('runs', '5'));
  const sizes = option('sizes', '5x20,10x50,25x100,50x200').split(',').map((s) => {
    const [classes, claims] = s.split('x').map(Number);
    return { classes, claims };
  });
  // Untimed rounds first: module loading and JIT warm-up are not the app's cost.
  for (let i = 0; i < 3; i++) {
    time(() => constructApp(sizes[0]));
    time(() => plainApp(apiObjectsOf(constructApp(sizes[0])).map((o) => o.toJson())));
  }

  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(`median of ${runs} runs, build + synthYaml, ms`);
  console.log(`${'classes x claims'.padEnd(18)}${pad('ApiObjects', 11)}${pad('constructs: build', 19)}${pad('synth', 8)}${pad('total', 8)}`
    + `${pad('plain cdk8s: total', 20)}${pad('ratio', 8)}`);
  for (const size of sizes) {
    const manifests = apiObjectsOf(constructApp(size)).map((o) => o.toJson());
    const ours = medianTiming(runs, () => constructApp(size));
    const plain = medianTiming(runs, () => plainApp(manifests));
    console.log(`${`${size.classes} x ${size.claims}`.padEnd(18)}${pad(manifests.length, 11)}${pad(ours.buildMs.toFixed(0), 19)}`
      + `${pad(ours.synthMs.toFixed(0), 8)}${pad(ours.totalMs.toFixed(0), 8)}${pad(plain.totalMs.toFixed(0), 20)}`
      + `${pad(`${(ours.totalMs / plain.totalMs).toFixed(2)}x`, 8)}`);
  }
}

main();
