import * as fs from 'fs';
import * as path from 'path';

/** Repository of the controller image this package's Dockerfile builds. */
export const CONTROLLER_IMAGE_REPOSITORY = 'ghcr.io/cdk8s-storage/controller';

let cachedVersion: string | undefined;

/**
 * The version of this package, read from its package.json at run time so that the
 * manifests of version X run the controller image of version X (no tag to keep in sync).
 */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    // lib/image.js and src/image.ts both sit one level below the package root.
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
    if (typeof manifest.version !== 'string' || manifest.version.length === 0) {
      throw new Error('cdk8s-storage: package.json has no version; cannot choose the default controller image');
    }
    cachedVersion = manifest.version as string;
  }
  return cachedVersion;
}

/** The default controller image: `ghcr.io/cdk8s-storage/controller:<package version>`. */
export function defaultControllerImage(): string {
  return `${CONTROLLER_IMAGE_REPOSITORY}:${packageVersion()}`;
}
