import * as fs from 'fs';
import * as path from 'path';
import { VERSION } from '../../src/runtime/version';

test('the controller reports the version in package.json', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  expect(VERSION).toBe(pkg.version);
  expect(VERSION).not.toBe('');
});
