/**
 * Capabilities and privileged, one reading for the CLI (`run --cap-add
 * --cap-drop --privileged`) and manifests (securityContext): the same names,
 * the same SecurityDefinition, the same capability set (pod-plan.ts's
 * containerCapabilities) and spec.
 */
import { BarepodError } from '../errors.js';
import type { SecurityDefinition } from '../model.js';
import { CAPABILITY_NAMES } from '../oci/default-spec.js';

/** A capability as written (`NET_ADMIN`, `net_admin`, `CAP_NET_ADMIN`, `ALL`) in the form barepod keeps: `CAP_NET_ADMIN` or `ALL`; undefined when Linux has no such capability. */
export function capabilityName(text: string): string | undefined {
  if (text.toUpperCase() === 'ALL') return 'ALL';
  const full = `CAP_${text.toUpperCase().replace(/^CAP_/, '')}`;
  return CAPABILITY_NAMES.includes(full) ? full : undefined;
}

/** `--cap-add`/`--cap-drop` values (repeatable, each may be a comma list) as capability names; an unknown name names the flag. */
export function parseCapabilityFlags(values: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (const value of values) {
    for (const item of value.split(',').map((x) => x.trim())) {
      const name = capabilityName(item);
      if (!name)
        throw new BarepodError('invalid-value', `${flag} "${item}": not a Linux capability`, {
          hint: 'give a name as in capabilities(7), with or without CAP_ (e.g. NET_ADMIN), or ALL',
        });
      if (!out.includes(name)) out.push(name);
    }
  }
  return out;
}

/**
 * The security of a container made with the CLI: undefined when no flag
 * asks for anything (the defaults, as before), else the same definition a
 * manifest's securityContext makes. barepod's CLI keeps no_new_privs on
 * unless privileged (as a manifest without allowPrivilegeEscalation: true).
 */
export function cliSecurity(input: {
  capAdd?: readonly string[] | undefined;
  capDrop?: readonly string[] | undefined;
  privileged?: boolean | undefined;
  /** --read-only: readOnlyRootFilesystem */
  readOnly?: boolean | undefined;
}): SecurityDefinition | undefined {
  const capAdd = parseCapabilityFlags(input.capAdd ?? [], '--cap-add');
  const capDrop = parseCapabilityFlags(input.capDrop ?? [], '--cap-drop');
  const privileged = input.privileged === true;
  const readOnlyRootfs = input.readOnly === true;
  if (!capAdd.length && !capDrop.length && !privileged && !readOnlyRootfs) return undefined;
  return { capAdd, capDrop, privileged, readOnlyRootfs, noNewPrivileges: !privileged };
}
