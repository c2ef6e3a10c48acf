import { cdk8s, javascript, TextFile } from 'projen';

const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-storage',
  description: 'NFS and local persistent storage for Kubernetes as typed cdk8s constructs, with the controller that runs them.',
  author: 'cdk8s-storage contributors',
  authorAddress: 'maintainers@cdk8s-storage.dev',
  repositoryUrl: 'https://github.com/cdk8s-storage/cdk8s-storage.git',
  license: 'Apache-2.0',
  keywords: ['cdk8s', 'kubernetes', 'nfs', 'storage', 'persistent-volume', 'provisioner', 'local-storage'],
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  // Nothing in the constructs or the controller needs more than Node 20.0.
  minNodeVersion: '20.0.0',

  // Peer ranges as wide as what we use allows; projen pins the devDependencies to their
  // minimums, so the build and unit tests run against the oldest versions users may have
  // (test/package installs the packed tarball into an app pinned to them, too).
  // cdk8s 2 / constructs 10 (the projen default is cdk8s 1). cdk8s 2.69.0 is the first with
  // Size.asString(), which exact sizes need; cdk8s-plus-28 itself needs constructs ^10.3.0.
  cdk8sVersion: '2.69.0',
  constructsVersion: '10.3.0',
  jsiiVersion: '~6.0.0',
  // A peer, never a dependency: the app's one copy, whose IPersistentVolumeClaim and enums
  // our API takes.
  peerDeps: ['cdk8s-plus-28@^2.0.3'],
  devDeps: [
    'typescript@~6.0.3',
    '@types/node@^20',
    'jest@^30.5.2',
    'ts-jest@^29.4.15',
    '@types/jest@^30',
    // The controller's runtime dependencies: bundled by esbuild, never part of the jsii API.
    '@kubernetes/client-node@~1.4.0',
    'prom-client@^15.1.3',
    // Bundled in place of Node's deprecated built-in of the same name (see the bundle below).
    'punycode@^2.3.1',
    // Tests.
    'fast-check@^4.10.2',
    'js-yaml@^4.1.0',
    '@types/js-yaml@^4.0.9',
    'ajv@^8.20.0',
    'ajv-formats@^3.0.1',
  ],

  // The controller is not a construct: jsii never sees it; esbuild bundles it.
  excludeTypescript: ['src/runtime/**'],

  jestOptions: {
    // CI must fail on a changed snapshot instead of rewriting it.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testPathIgnorePatterns: ['/node_modules/', '/test/e2e/', '/test/image/', '/test/python/', '/test/package/'],
      testTimeout: 30_000,
      globalSetup: '<rootDir>/test/util/temp-dir-setup.js',
      globalTeardown: '<rootDir>/test/util/temp-dir-teardown.js',
    },
  },

  // The Python package (jsii-pacmak): `npx projen package:python` writes the wheel to dist/python/.
  publishToPypi: { distName: 'cdk8s-storage', module: 'cdk8s_storage' },

  github: false,
  release: false,
  depsUpgrade: false,
  pullRequestTemplate: false,
});

project.addPackageIgnore('/examples/');
project.addPackageIgnore('/bench/');
project.addPackageIgnore('/test/');
project.addPackageIgnore('/.ci/');
project.addPackageIgnore('*.map');

// The runtime controller: one self-contained file, shipped in the package as its `bin`.
const controllerBundle = 'assets/runtime/main/index.js';
project.bundler.addBundle('src/runtime/main.ts', {
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  tsconfigPath: 'src/runtime/tsconfig.json',
  banner: '#!/usr/bin/env node',
  esbuildArgs: {
    '--legal-comments': 'eof',
    '--metafile': 'assets/runtime/main/index.meta.json',
    // client-node's fetch stack still requires Node's built-in punycode, which Node >= 21 warns
    // about on stderr at start (a line that is not JSON in the controller's logs): the userland
    // package of the same code is bundled instead.
    '--alias:punycode': 'punycode/',
    // All of the bundle is evaluated at start: without whitespace and with simpler syntax it
    // takes less memory (an idle controller 77 -> 68 MiB RSS when client-node's generated API
    // classes were still in it). Names are kept, so stack traces in the logs still name functions.
    '--minify-whitespace': true,
    '--minify-syntax': true,
  },
});
// Legal comments carry only comments: the notices file carries every bundled package's license.
project.tasks.tryFind('bundle:runtime/main')!.exec(
  'ts-node --project projenrc/tsconfig.json projenrc/third-party-notices.ts '
  + 'assets/runtime/main/index.meta.json assets/runtime/main/THIRD_PARTY_NOTICES',
);
project.addPackageIgnore('*.meta.json');
project.addBins({ 'cdk8s-storage-controller': controllerBundle });
project.npmignore?.include('/Dockerfile', '/Dockerfile.server', '/.dockerignore');

// The controller image, from the Dockerfile, and with --server the in-cluster NFS server image
// (Dockerfile.server), with podman or docker; works offline (docs/image.md).
// The script ships in the package as a second bin, so users build and push from the installed package.
project.addBins({ 'cdk8s-storage-image': 'scripts/build-image.sh' });
project.addTask('image', {
  description: 'Build the controller image cdk8s-storage-controller:<version>, or with --server cdk8s-storage-nfs-server:<version> '
    + '(options: --server, --tag <ref>, --push, --debian-base)',
  steps: [{ spawn: 'bundle' }, { exec: 'bash scripts/build-image.sh', receiveArgs: true }],
});

// A nested tsconfig for the controller: ESM-only client-node needs `nodenext`, which jsii's CJS compile rejects.
new TextFile(project, 'src/runtime/tsconfig.json', {
  lines: JSON.stringify({
    extends: '../../tsconfig.json',
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', rootDir: '../..', noEmit: true },
    include: ['**/*.ts', '../contract/**/*.ts'],
    exclude: [],
  }, null, 2).split('\n'),
});
const typecheckController = project.addTask('typecheck:runtime', {
  description: 'Type-check the runtime (excluded from jsii).',
  exec: 'tsc -p src/runtime/tsconfig.json',
});
project.preCompileTask.spawn(typecheckController);

project.eslint?.addOverride({
  // The controller imports its bundled devDependencies on purpose.
  files: ['src/runtime/**/*.ts'],
  rules: { 'import/no-extraneous-dependencies': ['error', { devDependencies: true, peerDependencies: true }] },
});

// Examples: real cdk8s apps, synthesized to dist/examples/<name>/ (the README's first command).
project.addTask('synth:examples', {
  description: 'Synthesize every app in examples/ to dist/examples/',
  exec: 'ts-node --project test/tsconfig.json examples/synth.ts',
});

// The Python binding: the wheel (built by `package` outside CI, else here) installed into a cached
// virtualenv synthesizes a Python app to the same YAML as its TypeScript twin. Last step of `package`
// (so of the build), once the wheel is there.
const pythonTest = project.addTask('test:python', {
  description: 'Install the Python wheel into a virtualenv and check a Python app synthesizes what the TypeScript app does',
  steps: [
    { exec: 'rm -rf dist/python && jsii-pacmak -v --target python', condition: 'node projenrc/python-wheel-stale.js' },
    { exec: 'jest --config test/python/jest.config.js --runInBand', receiveArgs: true },
  ],
});
project.packageTask.spawn(pythonTest);

// The real-control-plane suite (etcd, kube-apiserver, controller-manager, scheduler, nfs-ganesha).
// The image tests build the images (seconds with a warm base cache) and run them; they need no
// control plane, so it has its own jest config, and runs ahead of the suite that will use the image.
const imageTest = project.addTask('test:image', {
  description: 'Build the controller and NFS server images and run them (no control plane needed)',
  steps: [{ spawn: 'bundle' }, { exec: 'jest --config test/image/jest.config.js --runInBand', receiveArgs: true }],
});
// The packed tarball installed into a fresh app pinned to the oldest versions the peer ranges
// allow, synthesized (needs the compiled lib/ and the npm registry; about a minute).
const packageTest = project.addTask('test:package', {
  description: 'Pack the package, install it into an app pinned to the oldest peer versions, and synthesize',
  exec: 'jest --config test/package/jest.config.js --runInBand',
  receiveArgs: true,
});
project.addTask('e2e', {
  description: 'Run the package and image tests, then the end-to-end suite against a real control plane and NFS server',
  steps: [
    { spawn: packageTest.name },
    { spawn: imageTest.name },
    { exec: 'jest --config test/e2e/jest.config.js --runInBand', receiveArgs: true },
  ],
});
project.addTask('e2e:up', {
  description: 'Start the test control plane and NFS server in the background; prints KUBECONFIG=<path> last',
  exec: 'ts-node --transpile-only --project test/tsconfig.json test/e2e/harness/cli.ts up',
});
project.addTask('e2e:down', {
  description: 'Stop what e2e:up started',
  exec: 'ts-node --transpile-only --project test/tsconfig.json test/e2e/harness/cli.ts down',
});
// The crash scenarios in a loop, counting orphans and duplicates (npm run soak -- --rounds 20).
project.addTask('soak', {
  description: 'Run the crash-window and crash-burst scenarios round after round; print orphans and duplicates (must be 0)',
  exec: 'ts-node --transpile-only --project test/tsconfig.json test/e2e/soak.ts',
  receiveArgs: true,
});

project.gitignore.exclude('/test-reports/', '/coverage/', '/.e2e/');

project.synth();
