import type { Command } from 'commander';

/** The commands' work is loaded when one runs. */
type Actions = typeof import('./volume-actions.js');
const load = (): Promise<Actions> => import('./volume-actions.js');

/** `barepod volume ls|inspect|rm`: the named local volumes persistentVolumeClaim volumes mount. */
export function registerVolume(program: Command): void {
  const volume = program
    .command('volume')
    .description('named local volumes: what a persistentVolumeClaim volume mounts (<data dir>/volumes/<claim>), made on first use, kept by down');

  volume
    .command('ls')
    .alias('list')
    .description('list the named volumes: name, size requested, the pods using it, age')
    .option('--json', 'print as JSON: [{name, createdAt, createdBy, storage, storageBytes, accessModes, storageClassName, pods, mountpoint}]')
    .addHelpText('after', '\nExamples:\n  barepod volume ls\n  barepod volume ls --json | jq -r .[].name')
    .action(async (...a: Parameters<Actions['lsAction']>) => (await load()).lsAction(...a));

  volume
    .command('inspect')
    .argument('<names...>', 'volume (claim) names')
    .description('print volumes as JSON: where the data is, when it was made and by what, the claim it was made for, the pods using it, its size on disk')
    .option('--json', 'print as JSON (the default)')
    .addHelpText('after', '\nExamples:\n  barepod volume inspect data\n  barepod volume inspect data | jq -r .[0].mountpoint')
    .action(async (...a: Parameters<Actions['inspectAction']>) => (await load()).inspectAction(...a));

  volume
    .command('rm')
    .alias('remove')
    .argument('<names...>', 'volume (claim) names')
    .description('remove volumes and their data; refused while a pod uses one (it names the pod), unless -f')
    .option('-f, --force', 'take the pods using the volume down first (as podman volume rm -f removes its containers), then remove it')
    .option('-t, --time <seconds>', "with -f: grace period of the pods taken down (default: each pod's terminationGracePeriodSeconds)")
    .option('--json', 'print [{volume, outcome: removed, pods}] as JSON (and an error as the JSON error object)')
    .addHelpText(
      'after',
      '\nA volume that is not there is an error (exit 3).\n\nExamples:\n  barepod volume rm data\n  barepod volume rm -f data        # down its pods first\n  barepod volume rm data --json',
    )
    .action(async (...a: Parameters<Actions['rmAction']>) => (await load()).rmAction(...a));
}
