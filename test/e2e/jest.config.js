// Jest configuration for the real-control-plane suite (run in band: one
// control plane and one NFS server are shared by every test file).
const fs = require('fs');
const path = require('path');

const rootDir = path.resolve(__dirname, '..', '..');
const tsconfig = path.join(rootDir, 'test', 'tsconfig.json');

/** @type {import('jest').Config} */
module.exports = {
  rootDir,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/e2e/**/*.e2e.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  transform: {
    '^.+\\.ts$': ['ts-jest', fs.existsSync(tsconfig) ? { tsconfig } : { tsconfig: { isolatedModules: true } }],
  },
  // One shared environment: never run test files in parallel.
  maxWorkers: 1,
  testTimeout: 180_000,
  slowTestThreshold: 60,
  globalSetup: '<rootDir>/test/e2e/global-setup.ts',
  globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
  reporters: [
    'default',
    '<rootDir>/test/e2e/harness/failure-reporter.js',
    ['jest-junit', { outputDirectory: 'test-reports', outputName: 'e2e-junit.xml' }],
  ],
  coverageProvider: 'v8',
  collectCoverage: false,
};
