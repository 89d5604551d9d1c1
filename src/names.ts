import { BarepodError } from './errors.js';

/** Kubernetes' DNS-1123 label: the rule every pod and container name follows before it touches a path. */
export const DNS1123_LABEL_RULE = "a DNS-1123 label: at most 63 characters, lower-case letters, digits and '-', starting and ending with a letter or digit";

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Whether `name` could be a pod's or container's name (so it may name a path, such as a lock file; names read from disk are skipped by it, never thrown at). */
export const isValidName = (name: string): boolean => name.length > 0 && name.length <= 63 && LABEL.test(name);

/** Throws a usage error naming the rule when `name` is not a valid DNS-1123 label. */
export function validateName(kind: 'pod' | 'container' | 'volume', name: string): string {
  if (name.length === 0) throw new BarepodError('invalid-name', `invalid ${kind} name "": must be ${DNS1123_LABEL_RULE}`);
  if (name.length > 63) {
    throw new BarepodError('invalid-name', `invalid ${kind} name "${name}": ${name.length} characters, must be ${DNS1123_LABEL_RULE}`);
  }
  if (!LABEL.test(name)) throw new BarepodError('invalid-name', `invalid ${kind} name "${name}": must be ${DNS1123_LABEL_RULE}`);
  return name;
}

/** Kubernetes' DNS-1123 subdomain: what ConfigMaps and Secrets are named by (and so their files in the store). */
export const DNS1123_SUBDOMAIN_RULE =
  "a DNS-1123 subdomain: at most 253 characters, lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `name` is a DNS-1123 subdomain (no `/`, no `..`: it may name a file). */
export const isSubdomain = (name: string): boolean => name.length > 0 && name.length <= 253 && SUBDOMAIN.test(name);

/** The sandbox's member name: reserved (not a DNS-1123 label, so no container can take it). */
export const SANDBOX_NAME = '_pause';

/** A member of a pod: a container name, or the sandbox's reserved one. */
export function validateMemberName(name: string): string {
  return name === SANDBOX_NAME ? name : validateName('container', name);
}

/**
 * A named volume's name (a PersistentVolumeClaim's): a DNS-1123 label that
 * is not a state root's tag. Every other state root keeps its volumes in
 * `<dataDir>/volumes/barepod-<8 hex>`, beside the default root's volumes, so
 * a default-root volume of that name would be another root's whole set.
 */
export function validateVolumeName(name: string): string {
  validateName('volume', name);
  if (/^barepod-[0-9a-f]{8}$/.test(name)) {
    throw new BarepodError(
      'invalid-name',
      `invalid volume name "${name}": barepod-<8 hex digits> is reserved (the volumes of another state root are kept under that name)`,
      {
        hint: 'pick another claim name',
      },
    );
  }
  return name;
}
