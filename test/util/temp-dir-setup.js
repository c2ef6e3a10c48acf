// Every unit-test run gets its own temporary directory (TMPDIR for the workers, which inherit
// this process's environment): cdk8s's Testing.app() makes an output directory per app and
// never removes it, so without this each run leaves thousands of directories in /tmp.
const fs = require('fs');
const os = require('os');
const path = require('path');

module.exports = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-unit-'));
  process.env.CDK8S_STORAGE_UNIT_TMPDIR = dir;
  process.env.TMPDIR = dir;
};
