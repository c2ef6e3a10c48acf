// Removes the run's temporary directory made by temp-dir-setup.js.
const fs = require('fs');

module.exports = async () => {
  const dir = process.env.CDK8S_STORAGE_UNIT_TMPDIR;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
};
