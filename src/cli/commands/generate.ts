import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { systemdUnit } from '../../manifest/systemd.js';
import { selfArgv } from '../../runtime/self.js';
import { writeFileAtomic } from '../../runtime/state.js';
import { runtimeFor } from '../common.js';

/** `barepod generate systemd POD`: a unit that runs the pod at boot. */
export function registerGenerate(program: Command): void {
  const generate = program.command('generate').description('generate files for other tools');
  generate
    .command('systemd')
    .argument('<pod>')
    .description('print a systemd unit that brings the pod back at boot (up from a stored copy of its manifest) and takes it down on stop')
    .option('--manifest-dir <dir>', 'where the manifest copy is stored (default: <data dir>/manifests)')
    .addHelpText(
      'after',
      `
The pod's manifest (the one it was made from, or its export) is stored as
<manifest-dir>/<pod>.yaml; the unit runs \`barepod up -f\` on it.

Examples:
  barepod generate systemd web > /etc/systemd/system/barepod-web.service
  systemctl daemon-reload && systemctl enable --now barepod-web.service`,
    )
    .action(async (pod: string, o: { manifestDir?: string }, cmd: Command) => {
      // loaded here, not at start-up: the YAML writer and the manifest code
      const { toYaml, exportPod } = await import('./manifest-actions.js');
      const rt = runtimeFor(cmd);
      const rec = rt.store.read(pod);
      const dir = path.resolve(o.manifestDir ?? path.join(rt.settings.dataDir, 'manifests'));
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      const manifest = path.join(dir, `${pod}.yaml`);
      writeFileAtomic(manifest, toYaml(exportPod(rec)));
      fs.chmodSync(manifest, 0o644);
      const root = cmd.optsWithGlobals<{ root?: string }>().root ?? process.env.BAREPOD_ROOT;
      process.stdout.write(
        systemdUnit({
          pod,
          barepod: selfArgv().map((p) => path.resolve(p)),
          manifest,
          ...(root ? { root: path.resolve(root) } : {}),
          graceSeconds: rec.def.graceSeconds,
        }),
      );
      process.stderr.write(`barepod: stored the manifest as ${manifest}\n`);
    });
}
