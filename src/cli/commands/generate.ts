import path from 'node:path';
import type { Command } from 'commander';
import { systemdUnit } from '../../manifest/systemd.js';
import { selfArgv } from '../../runtime/self.js';
import { ownDataDir } from '../../runtime/host.js';
import { ensurePrivateDir, writeFileAtomic } from '../../runtime/private-fs.js';
import { runtimeFor } from '../common.js';

/** `barepod generate systemd POD`: a unit that runs the pod at boot. */
export function registerGenerate(program: Command): void {
  const generate = program.command('generate').description('generate files for other tools');
  generate
    .command('systemd')
    .argument('<pod>')
    .description('print a systemd unit that brings the pod back at boot (up from a stored copy of its manifest) and takes it down on stop')
    .option(
      '--manifest-dir <dir>',
      'where the manifest copy is stored (default: <data dir>/manifests, or <data dir>/manifests/barepod-<root hash> for a state root other than /run/barepod)',
    )
    .addHelpText(
      'after',
      `
The pod's manifest (the one it was made from, or its export) is stored as
<manifest-dir>/<pod>.yaml; the unit runs \`barepod up -f\` on it. Pods of a
state root other than /run/barepod get a directory of their root's own
(manifests/barepod-<root hash>, the root's cgroup name), so a pod of the
same name under another root never overwrites the copy.

Examples:
  barepod generate systemd web > /etc/systemd/system/barepod-web.service
  systemctl daemon-reload && systemctl enable --now barepod-web.service`,
    )
    .action(async (pod: string, o: { manifestDir?: string }, cmd: Command) => {
      // loaded here, not at start-up: the YAML writer and the manifest code
      const { toYaml, exportPod } = await import('./manifest-actions.js');
      const rt = runtimeFor(cmd);
      const rec = rt.store.read(pod);
      // the default root keeps manifests/<pod>.yaml; another root's pods are kept apart under the root's own tag
      const own = rt.settings.cgroupRoot === 'barepod' ? undefined : rt.settings.cgroupRoot;
      const dir = path.resolve(o.manifestDir ?? ownDataDir(rt.settings, 'manifests'));
      const manifest = path.join(dir, `${pod}.yaml`);
      const root = cmd.optsWithGlobals<{ root?: string }>().root ?? process.env.BAREPOD_ROOT;
      // the unit first: a value it cannot hold (a newline in a path) is refused before anything is written
      const unit = systemdUnit({
        pod,
        barepod: selfArgv().map((p) => path.resolve(p)),
        manifest,
        ...(root ? { root: path.resolve(root) } : {}),
        graceSeconds: rec.def.graceSeconds,
        ...(own ? { unit: `${own}-${pod}` } : {}),
      });
      // the manifest holds the pod's env values: 0600 in a 0700 dir nobody else can write to
      ensurePrivateDir(dir, 'manifest dir');
      writeFileAtomic(manifest, toYaml(exportPod(rec)), 0o600);
      process.stdout.write(unit);
      process.stderr.write(`barepod: stored the manifest as ${manifest}\n`);
    });
}
