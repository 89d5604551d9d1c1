/** `volume`'s work, loaded only when one of its commands runs. */
import type { Command } from 'commander';
import { BarepodError, withDetails } from '../../errors.js';
import { formatBytes } from '../../quantity.js';
import { listVolumes, readVolume, removeVolume, usersOf, volumePaths, volumeUsage, type VolumeMeta } from '../../pod/named-volumes.js';
import { downPod } from '../../pod/sandbox.js';
import type { Runtime } from '../../pod/runtime.js';
import { parseSeconds, runtimeFor } from '../common.js';
import { age, printJson, printTable } from '../output.js';

/** One volume as ls and inspect show it: its metadata, where its data is, the pods of the state root that use it now. */
function volumeView(rt: Runtime, name: string, meta: VolumeMeta) {
  return {
    name,
    createdAt: meta.createdAt,
    createdBy: meta.createdBy,
    storage: meta.claim ? formatBytes(meta.claim.storageBytes) : null,
    storageBytes: meta.claim?.storageBytes ?? null,
    accessModes: meta.claim?.accessModes ?? [],
    storageClassName: meta.claim?.storageClassName ?? null,
    pods: usersOf(rt.store, name),
    mountpoint: volumePaths(rt.settings, name).data,
  };
}

function readOrFail(rt: Runtime, name: string): VolumeMeta {
  const meta = readVolume(rt.settings, name);
  if (!meta) throw new BarepodError('not-found', `volume "${name}" not found`, { hint: 'barepod volume ls lists the volumes of this state root' });
  return meta;
}

export function lsAction(o: { json?: boolean }, cmd: Command): void {
  const rt = runtimeFor(cmd);
  const rows = listVolumes(rt.settings).flatMap((n) => {
    const meta = readVolume(rt.settings, n);
    return meta ? [volumeView(rt, n, meta)] : [];
  });
  if (o.json) return printJson(rows);
  printTable(
    ['VOLUME', 'STORAGE', 'PODS', 'AGE'],
    rows.map((r) => [r.name, r.storage ?? '-', r.pods.join(',') || '-', age(r.createdAt)]),
  );
}

export function inspectAction(names: string[], _o: { json?: boolean }, cmd: Command): void {
  const rt = runtimeFor(cmd);
  printJson(
    names.map((n) => {
      const meta = readOrFail(rt, n);
      const v = volumeView(rt, n, meta);
      return { ...v, usage: volumeUsage(v.mountpoint), podsThatUsedIt: meta.pods };
    }),
  );
}

export async function rmAction(names: string[], o: { force?: boolean; time?: string; json?: boolean }, cmd: Command): Promise<void> {
  const rt = runtimeFor(cmd);
  const grace = o.time === undefined ? undefined : parseSeconds(o.time, '--time');
  for (const n of names) readOrFail(rt, n); // all named volumes exist, or nothing is done
  const done: { volume: string; outcome: 'removed'; pods: string[] }[] = [];
  try {
    for (const n of names) {
      const users = o.force ? usersOf(rt.store, n) : [];
      for (const pod of users) {
        await downPod(rt, pod, grace);
        if (!o.json) process.stdout.write(`pod/${pod} removed (it used volume ${n})\n`);
      }
      if ((await removeVolume(rt.settings, rt.store, n)) === 'not-found') readOrFail(rt, n);
      done.push({ volume: n, outcome: 'removed', pods: users });
      if (!o.json) process.stdout.write(`volume/${n} removed\n`);
    }
  } catch (e) {
    throw o.json && done.length ? withDetails(e, { volumes: done }) : e;
  }
  if (o.json) printJson(done);
}
