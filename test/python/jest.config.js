// Jest configuration for the Python binding test: installs the wheel jsii-pacmak built into a
// virtualenv and synthesizes a Python app. It needs Python 3 with venv and PyPI on its first
// run (the virtualenv is cached), so it stays out of the unit suite; `npx projen test:python` runs it.
const fs = require('fs');
const path = require('path');

const rootDir = path.resolve(__dirname, '..', '..');
const tsconfig = path.join(rootDir, 'test', 'tsconfig.json');

/** @type {import('jest').Config} */
module.exports = {
  rootDir,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/python/**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  transform: {
    '^.+\\.ts$': ['ts-jest', fs.existsSync(tsconfig) ? { tsconfig } : { tsconfig: { isolatedModules: true } }],
  },
  // Creating the virtualenv (first run only) downloads cdk8s, cdk8s-plus-28 and jsii from PyPI.
  testTimeout: 600_000,
  reporters: ['default', ['jest-junit', { outputDirectory: 'test-reports', outputName: 'python-junit.xml' }]],
  collectCoverage: false,
};
