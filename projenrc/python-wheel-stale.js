// Exits 0 when dist/python/ lacks one wheel at least as new as the jsii assembly (.jsii), so
// `test:python` builds the wheel only when `package` did not already (CI packages js only).
const fs = require('fs');
const path = require('path');

const dir = path.join('dist', 'python');
const wheels = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.whl')) : [];
const fresh = wheels.length === 1 && fs.statSync(path.join(dir, wheels[0])).mtimeMs >= fs.statSync('.jsii').mtimeMs;
process.exit(fresh ? 1 : 0);
