// Jest reporter: leaves a marker next to the e2e state file when any test or
// suite failed, so the global teardown keeps the component logs.
const fs = require('fs');
const path = require('path');

// Keep in sync with FAILURE_MARKER / E2E_STATE_ENV in environment.ts.
const FAILURE_MARKER = 'tests-failed';

class FailureMarkerReporter {
  onRunComplete(_contexts, results) {
    const stateFile = process.env.CDK8S_STORAGE_E2E_STATE;
    if (!stateFile || !fs.existsSync(path.dirname(stateFile))) {
      return;
    }
    if (results.numFailedTests > 0 || results.numRuntimeErrorTestSuites > 0 || results.numFailedTestSuites > 0) {
      fs.writeFileSync(path.join(path.dirname(stateFile), FAILURE_MARKER), '');
    }
  }
}

module.exports = FailureMarkerReporter;
