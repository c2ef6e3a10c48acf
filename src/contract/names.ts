/**
 * Kubernetes name rules, shared by construct validation and the controller.
 */

/** RFC 1123 DNS label: lowercase alphanumerics and '-', 1-63 chars, alphanumeric at both ends. */
export function isDnsLabel(value: string): boolean {
  return value.length > 0 && value.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value);
}

/** RFC 1123 DNS subdomain: dot-separated DNS labels, at most 253 chars. */
export function isDnsSubdomain(value: string): boolean {
  return value.length > 0 && value.length <= 253
    && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value);
}

/**
 * A provisioner name as the StorageClass `provisioner` field accepts it (a qualified name
 * such as `example.com/nfs`): an optional DNS-subdomain prefix and '/', then a name of
 * alphanumerics, '-', '_' and '.' starting and ending alphanumeric, at most 63 chars.
 */
export function isProvisionerName(value: string): boolean {
  const slash = value.indexOf('/');
  const prefix = slash >= 0 ? value.slice(0, slash) : undefined;
  const name = slash >= 0 ? value.slice(slash + 1) : value;
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return false;
  return name.length > 0 && name.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name);
}

/** Turns any string into a valid DNS label (lowercase, '-' for anything else, trimmed to 63). */
export function toDnsLabel(value: string): string {
  const label = value.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, 63).replace(/-+$/, '');
  return label.length > 0 ? label : 'x';
}

/**
 * Domains Kubernetes keeps for itself: a provisioner name in `kubernetes.io/` is taken by
 * the PV controller as an in-tree plugin (claims are never handed to an external
 * provisioner; a name it does not know fails there), and the `kubernetes.io` and `k8s.io`
 * domains, subdomains included, are reserved for Kubernetes' own components.
 */
const RESERVED_DOMAINS: readonly string[] = ['kubernetes.io', 'k8s.io'];

/** The reserved domain a qualified name (`<domain>/<name>`) is in, or undefined. */
export function reservedDomainOf(value: string): string | undefined {
  const slash = value.indexOf('/');
  if (slash < 0) return undefined;
  const prefix = value.slice(0, slash).toLowerCase();
  return RESERVED_DOMAINS.find((domain) => prefix === domain || prefix.endsWith(`.${domain}`));
}

/**
 * The Lease the NFS controller of `provisionerName` elects its leader with. The construct
 * names it in the Role's resourceNames and the controller defaults to it, so both must
 * derive it here. A provisioner name may hold characters a Lease name may not (`_`,
 * uppercase): the slash becomes '-', the rest is lowercased, and a name that is still not
 * a DNS subdomain is made a DNS label, so every valid provisioner name has a Lease.
 */
export function leaseNameFor(provisionerName: string): string {
  const candidate = provisionerName.replace(/\//g, '-').toLowerCase();
  return isDnsSubdomain(candidate) ? candidate : toDnsLabel(candidate);
}

/** A label key (and an annotation key) follows the qualified-name rule of a provisioner name: `[prefix/]name`. */
export function isQualifiedName(value: string): boolean {
  return isProvisionerName(value);
}

/** A label value: empty, or at most 63 alphanumerics, '-', '_', '.', alphanumeric at both ends. */
export function isLabelValue(value: string): boolean {
  return value.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value);
}

/** What a bad label value is told to be. */
export const LABEL_VALUE_FIX = 'use at most 63 letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit';
