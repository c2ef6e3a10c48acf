/**
 * The package version the controller was built from. esbuild inlines this one field of
 * package.json into the bundle when it is built (after a release has set the version), so
 * `--version` tells which release an image runs without any file beside the bundle.
 */
import { version } from '../../package.json';

export const VERSION: string = version;
