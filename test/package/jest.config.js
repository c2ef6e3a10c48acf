// Jest configuration for the package test: packs the package and installs it into a fresh app
// from the npm registry. It needs the compiled lib/ and the registry, so it stays out of the
// unit tests; `npx projen test:package` runs it (and `npx projen e2e` runs it first).
const fs = require('fs');
const path = require('path');

const rootDir = path.resolve(__dirname, '..', '..');
const tsconfig = path.join(rootDir, 'test', 'tsconfig.json');

/** @type {import('jest').Config} */
module.exports = {
  rootDir,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/package/**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  transform: {
    '^.+\\.ts$': ['ts-jest', fs.existsSync(tsconfig) ? { tsconfig } : { tsconfig: { isolatedModules: true } }],
  },
  testTimeout: 300_000,
  reporters: ['default', ['jest-junit', { outputDirectory: 'test-reports', outputName: 'package-junit.xml' }]],
  collectCoverage: false,
};
