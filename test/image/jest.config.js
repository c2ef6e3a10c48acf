// Jest configuration for the image test: builds the controller image and runs it. It needs no
// control plane, so it stays out of the e2e suite's global setup; `npx projen e2e` runs it first.
const fs = require('fs');
const path = require('path');

const rootDir = path.resolve(__dirname, '..', '..');
const tsconfig = path.join(rootDir, 'test', 'tsconfig.json');

/** @type {import('jest').Config} */
module.exports = {
  rootDir,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/image/**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  transform: {
    '^.+\\.ts$': ['ts-jest', fs.existsSync(tsconfig) ? { tsconfig } : { tsconfig: { isolatedModules: true } }],
  },
  testTimeout: 60_000,
  reporters: ['default', ['jest-junit', { outputDirectory: 'test-reports', outputName: 'image-junit.xml' }]],
  collectCoverage: false,
};
