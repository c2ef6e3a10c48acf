/**
 * The controller image the constructs run by default: this package's own image, tagged
 * with this package's version, so constructs and controller always come from one release.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Where the release images are published. */
export const CONTROLLER_IMAGE_REPOSITORY = 'ghcr.io/cdk8s-storage/controller';

let version: string | undefined;

/** The version in this package's package.json (read once). */
export function packageVersion(): string {
  if (version === undefined) {
    // Two levels up from both src/shared (tests) and lib/shared (the published package).
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    if (typeof pkg.version !== 'string' || pkg.version.length === 0) {
      throw new Error('package.json of cdk8s-storage has no version');
    }
    version = pkg.version as string;
  }
  return version;
}

/** `ghcr.io/cdk8s-storage/controller:<package version>`. */
export function defaultControllerImage(): string {
  return `${CONTROLLER_IMAGE_REPOSITORY}:${packageVersion()}`;
}
