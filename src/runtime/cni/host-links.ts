/**
 * Host links of pods: the host end of each pod's veth carries its container id
 * (ifalias "barepod:ID"), so gc finds the ones left behind by owner.
 */
import fs from 'node:fs';
import { runTool } from '../exec.js';

/** Marks the host end of a pod's veth with its container id (ifalias), so leftovers can be found by owner. */
export function labelLink(dev: string, containerId: string): void {
  try {
    fs.writeFileSync(`/sys/class/net/${dev}/ifalias`, `barepod:${containerId}`);
  } catch {
    // the label is for finding leftovers only
  }
}

/** Host links labelled by barepod: device → container id. */
export function labelledLinks(): Map<string, string> {
  const out = new Map<string, string>();
  for (const dev of fs.existsSync('/sys/class/net') ? fs.readdirSync('/sys/class/net') : []) {
    try {
      const alias = fs.readFileSync(`/sys/class/net/${dev}/ifalias`, 'utf8').trim();
      if (alias.startsWith('barepod:')) out.set(dev, alias.slice('barepod:'.length));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Removes a host link (a veth left behind: its peer goes with it). */
export async function deleteLink(dev: string): Promise<void> {
  await runTool(['ip', 'link', 'del', dev]);
}
