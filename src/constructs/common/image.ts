/**
 * The images the constructs run by default: this package's own images (the controller, and
 * the in-cluster NFS server built on it), tagged with this package's version, so constructs
 * and runtime always come from one release.
 */
import * as fs from 'fs';
import * as path from 'path';
import { quote } from './errors';

/** Where the release images are published. */
const IMAGE_REGISTRY = 'ghcr.io/cdk8s-storage';

let version: string | undefined;

/** The version in this package's package.json (read once). */
function packageVersion(): string {
  if (version === undefined) {
    // Three levels up from both src/constructs/common (tests) and lib/constructs/common (the published package).
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
    if (typeof pkg.version !== 'string' || pkg.version.length === 0) {
      throw new Error('package.json of cdk8s-storage has no version');
    }
    version = pkg.version as string;
  }
  return version;
}

/** `ghcr.io/cdk8s-storage/controller:<package version>`. */
export function defaultControllerImage(): string {
  return `${IMAGE_REGISTRY}/controller:${packageVersion()}`;
}

/** `ghcr.io/cdk8s-storage/nfs-server:<package version>` (scripts/build-image.sh --server). */
export function defaultNfsServerImage(): string {
  return `${IMAGE_REGISTRY}/nfs-server:${packageVersion()}`;
}

/**
 * Why `ref` is not a container image reference a kubelet can pull, or undefined when it is.
 * The grammar (distribution's reference grammar, as Kubernetes documents it):
 * `[registry[:port]/]path[:tag][@sha256:<64 hex digits>]`, where the path is one or more
 * lower-case components of letters and digits joined by `.`, `_`, `__` or dashes, and the
 * first component is a registry when it has a `.` or a port, or is `localhost`.
 */
export function imageReferenceProblem(ref: string): string | undefined {
  if (typeof ref !== 'string' || ref.length === 0) return 'is empty';
  if (/[\s\u0000-\u001f\u007f]/.test(ref)) return 'contains white space or a control character';
  if (ref.length > 512) return 'is longer than 512 characters';

  let rest = ref;
  const at = rest.indexOf('@');
  if (at >= 0) {
    if (!/^sha256:[0-9a-f]{64}$/.test(rest.slice(at + 1))) return 'has a digest that is not "sha256:" and 64 lower-case hex digits';
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(rest.slice(colon + 1))) {
      return 'has a tag that is not 1-128 letters, digits, "_", "." or "-" (not starting with "." or "-")';
    }
    rest = rest.slice(0, colon);
  }

  const components = rest.split('/');
  const first = components[0];
  if (components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    const host = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
    if (!host.test(first)) return `has the registry ${quote(first)}, which is not a host name with an optional port`;
    components.shift();
  }
  if (components.length === 0 || components.some((c) => c.length === 0)) return 'has an empty path component (a leading, trailing or doubled "/")';
  const bad = components.find((c) => !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(c));
  if (bad !== undefined) {
    return `has the path component ${quote(bad)}; path components are lower-case letters and digits joined by ".", "_", "__" or "-"`;
  }
  return undefined;
}
