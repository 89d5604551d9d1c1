/**
 * iptables state, read and changed the one way: a table is read with
 * iptables-save (parsed by plan/iptables-save.ts) and a rule deleted as
 * iptables-save printed it, through iptables-restore.
 */
import { parseIptablesSave, type SavedTable } from '../../plan/iptables-save.js';
import { runTool } from '../exec.js';
import { findBinary } from '../host.js';

/** `iptables-save -t TABLE`, parsed; empty when iptables is missing or fails. */
export async function savedTable(table: 'nat' | 'filter'): Promise<SavedTable> {
  const save = findBinary('iptables-save');
  if (!save) return { chains: [], rules: [] };
  try {
    return parseIptablesSave(await runTool([save, '-t', table]));
  } catch {
    return { chains: [], rules: [] };
  }
}

/**
 * Deletes one rule as iptables-save printed it: it goes back through
 * iptables-restore as a -D line, so its quoting is iptables-save's own, with
 * no shell in between. Whether it was there to delete.
 */
export async function deleteSavedRule(table: string, rule: string): Promise<boolean> {
  const restore = findBinary('iptables-restore');
  if (!restore) return false;
  return runTool([restore, '-w', '--noflush'], { input: `*${table}\n${rule.replace(/^-A /, '-D ')}\nCOMMIT\n` }).then(
    () => true,
    () => false, // gone meanwhile
  );
}
