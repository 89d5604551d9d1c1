import type { Command } from 'commander';
import { BarepodError } from '../../errors.js';
import { containerDefinition } from '../definitions.js';
import { runContainer } from '../../pod/containers.js';
import { ensureImage, type PullPolicy } from '../../pod/images.js';
import { resolveSettings } from '../../runtime/host.js';
import { parseTlsVerify } from './images.js';
import { collect, explainHook, explainOption, runtimeFor } from '../common.js';
import { printJson, progressPrinter } from '../output.js';

/** `barepod run`: CreateContainer + StartContainer in an existing pod. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description("create and start a container in a pod; it joins the pod's shared namespaces")
    .requiredOption('--pod <pod>', 'the pod to run in')
    .requiredOption('--name <name>', 'container name (DNS-1123 label)')
    .option('--image <image>', 'image: the built-in busybox (default), or one of the store (pulled first when missing)')
    .option(
      '--pull <policy>',
      'missing (pull the image when it is not in the store), never, or always; a localhost/ name (an imported image) is never pulled',
      'missing',
    )
    .option('--tls-verify <bool>', 'for the pull: false for a local plain-HTTP registry')
    .option('--entrypoint <path>', "replace the image's entrypoint (its cmd is then dropped; the words after -- become the arguments)")
    .option('--rootfs <dir>', 'a prepared root filesystem directory, used as-is (instead of --image)')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', "user (and group) to run as: numbers, or names from the image's /etc/passwd and /etc/group")
    .option('--memory <quantity>', 'container memory limit (e.g. 64Mi)')
    .option('--cpus <quantity>', 'container CPU limit (e.g. 0.5 or 500m)')
    .option('--pids-limit <n>', 'container limit on the number of tasks')
    .option('--pid <mode>', '"pod" joins the pod\'s pid namespace when it shares one; "private" opts out', 'pod')
    .option('--security-opt <opt>', 'seccomp=unconfined to run without the default seccomp filter (repeatable)', collect, [])
    .option('--restart <policy>', "restart policy: always, on-failure or never (default: the pod's)")
    .option('--json', 'print the container record as JSON')
    .addOption(explainOption())
    .hook('preAction', explainHook)
    .argument('[command...]', "command and arguments (after --); default: the image's")
    .addHelpText(
      'after',
      `
Examples:
  barepod run --pod web --name app --image busybox -- httpd -f -p 8080
  barepod run --pod web --name side --memory 64Mi -- sh -c 'while :; do wget -qO- 127.0.0.1:8080; sleep 5; done'
  barepod run --pod web --name tool --pid private -- sleep 3600
  barepod run --pod web --name app --restart always -- sh -c 'httpd -f -p 8080'
  barepod run --pod web --name web --image nginx:1.27                      # the image's entrypoint, cmd, env, workdir, user
  barepod run --pod web --name app --image localhost:5000/app:1 --tls-verify=false --pull always
  barepod run --pod web --name dbg --image app:1 --entrypoint /bin/sh -- -c 'id; env'
  barepod run --pod web --name app --image app:1 --pull never -u nobody
  barepod run --pod web --name app --image localhost/myimg                 # an imported image (barepod import): never pulled
  barepod run --pod web --name app --explain -- sleep 3600   # the overlay mount, config.json's namespaces, conmon, runc start`,
    )
    .action(async (command: string[], o: Record<string, unknown>, cmd: Command) => {
      const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
      if (o.image !== undefined && o.rootfs !== undefined) throw new BarepodError('usage', '--image and --rootfs are mutually exclusive');
      const json = o.json === true;
      const settings = resolveSettings();
      const image =
        o.rootfs === undefined
          ? await ensureImage(settings, str('image') ?? 'busybox', str('pull') as PullPolicy, {
              tlsVerify: parseTlsVerify(o.tlsVerify),
              progress: progressPrinter(json),
            })
          : undefined;
      const def = containerDefinition({
        name: str('name') ?? '',
        image: str('image'),
        rootfs: str('rootfs'),
        command,
        entrypoint: str('entrypoint'),
        env: o.env as string[],
        workdir: str('workdir'),
        user: str('user'),
        memory: str('memory'),
        cpus: str('cpus'),
        pidsLimit: str('pidsLimit'),
        pid: str('pid'),
        securityOpt: o.securityOpt as string[],
        restart: str('restart'),
        imageDefaults: image?.defaults,
        imageId: image?.digest,
      });
      const rt = runtimeFor(cmd);
      const c = await runContainer(rt, str('pod') ?? '', def);
      if (json) printJson(c);
      else process.stdout.write(`${str('pod')}/${def.name} running (pid ${c.process?.pid})\n`);
    });
}
