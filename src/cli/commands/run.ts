import type { Command } from 'commander';
import { BarepodError } from '../../errors.js';
import { containerDefinition } from '../definitions.js';
import { runContainer } from '../../pod/containers.js';
import { ensureImage, type PullPolicy } from '../../pod/images.js';
import { resolveSettings } from '../../runtime/host.js';
import { parseTlsVerify } from './images.js';
import { collect, explainHook, explainOption, runtimeFor } from '../common.js';
import { printJson, progressPrinter } from '../output.js';
import { parseMountFlag, parseTmpfsFlag, parseVolumeFlag } from '../../plan/mounts.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../plan/detach-keys.js';
import type { Attached } from '../../runtime/attach.js';
import { openAttach, runAttached } from './attach.js';

/** tty loaded on first use, not at module load: Node does not verify it in a V8 startup snapshot. */
const isatty = (fd: number): boolean => process.getBuiltinModule('node:tty').isatty(fd);

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
    .option(
      '--device <host[:ctr][:rwm]>',
      "a host device node made in the container's /dev and allowed in its devices cgroup (repeatable; default permissions rwm)",
      collect,
      [],
    )
    .option('--cap-add <cap>', 'add a capability (NET_ADMIN or CAP_NET_ADMIN, a comma list, or ALL; repeatable)', collect, [])
    .option('--cap-drop <cap>', 'drop a capability from the default set (a comma list, or ALL; repeatable)', collect, [])
    .option('--privileged', "every capability, every host device, no seccomp filter, /sys writable: the host's power, as podman's --privileged")
    .option('--restart <policy>', "restart policy: always, on-failure or never (default: the pod's)")
    .option(
      '-v, --volume <SRC:CTRDIR[:ro]>',
      'bind mount: SRC an absolute host path (it must exist), or the name of a pod volume (pod create -v NAME); ro for read-only (repeatable)',
      collect,
      [],
    )
    .option(
      '--mount <type=…,…>',
      'type=bind,source=/HOSTDIR,target=/CTRDIR[,readonly] | type=volume,source=NAME,target=/CTRDIR[,subpath=DIR][,readonly] | type=tmpfs,target=/CTRDIR[,tmpfs-size=64Mi] (repeatable)',
      collect,
      [],
    )
    .option('--tmpfs <CTRDIR[:size=N][,ro]>', "a tmpfs of the container's own at CTRDIR (an emptyDir of medium Memory; size caps it) (repeatable)", collect, [])
    .option('--read-only', 'mount the root filesystem read-only (Kubernetes readOnlyRootFilesystem; add --tmpfs /tmp where it must write)')
    .option('--hostname <name>', 'refused: the pod owns the hostname (pod create --hostname)')
    .option('-i, --interactive', "keep the container's stdin open and send ours to it; stays attached (the end of our input ends its stdin)")
    .option('-t, --tty', 'a terminal for the container (conmon holds it); with -i, ours goes raw and its size follows ours')
    .option('-d, --detach', 'with -i/-t: start it and return (attach later: barepod attach POD NAME); without them, run always returns once it has started')
    .option('--detach-keys <keys>', 'the key sequence that detaches from an attached container, leaving it running ("" turns it off)', DEFAULT_DETACH_KEYS)
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
  barepod run --pod vpn --name tun --device /dev/net/tun --cap-add NET_ADMIN -- sh -c 'tunctl -t tun0 && exec sleep 3600'
  barepod run --pod web --name ro --cap-drop ALL --cap-add NET_BIND_SERVICE -- httpd -f -p 80
  barepod run --pod web --name disk --device /dev/loop0:/dev/xvda:r -- sleep 3600
  barepod run --pod lab --name root --privileged -- sh      # all host devices and capabilities: for trusted tools only
  barepod run --pod web --name app --explain -- sleep 3600   # the overlay mount, config.json's namespaces, conmon, runc start
  barepod run --pod web --name app -v /srv/site:/www:ro -v /srv/logs:/logs -- httpd -f -h /www
  barepod run --pod web --name app --read-only --tmpfs /tmp:size=16Mi -- sh -c 'echo ok > /tmp/x; sleep 3600'
  barepod run --pod web --name app --mount type=bind,source=/srv/site,target=/www,readonly -- httpd -f -h /www
  barepod pod create job -v scratch && barepod run --pod job --name a -v scratch:/work -- sh -c 'echo hi > /work/f'
  barepod run --pod job --name b --mount type=volume,source=scratch,target=/in,subpath=sub,readonly -- ls /in
  barepod run -it --pod web --name sh -- sh                 # a shell in the pod: Ctrl-D ends it, ctrl-p,ctrl-q detaches
  barepod run -itd --pod web --name sh -- sh                # a shell to attach to later: barepod attach web sh
  echo hello | barepod run -i --pod web --name rev -- rev   # our stdin is its stdin; its end is the end of the container's

Volumes: -v HOSTDIR:CTRDIR binds a host path (it must exist: barepod creates no
missing or relative path) as a hostPath volume of the pod; -v NAME:CTRDIR mounts
a volume the pod was created with (pod create -v NAME), shared by the containers
that mount it; --tmpfs and --mount type=tmpfs are an emptyDir of medium Memory.
Each is what a manifest's volumes and volumeMounts say, and barepod export
writes them so.

With -i or -t, barepod stays attached (without -d): the container's output
comes to this terminal from its very start, and barepod exits with its exit
code once it ends (a restart by policy then runs on, detached). -t gives the
container a terminal (TERM=xterm), as a manifest's tty: true does; -i keeps
its stdin open (stdin: true; without -t and -d also stdinOnce: true).`,
    )
    .action(async (command: string[], o: Record<string, unknown>, cmd: Command) => {
      const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
      if (o.hostname !== undefined)
        throw new BarepodError('usage', `--hostname "${str('hostname')}": the pod owns the hostname (set it with pod create --hostname)`, {
          hint: `every container of pod "${str('pod')}" shares its UTS namespace, so its hostname; a pod created with --share without uts gives each container its name as hostname`,
        });
      const mounts = [
        ...(o.volume as string[]).map(parseVolumeFlag),
        ...(o.mount as string[]).map(parseMountFlag),
        ...(o.tmpfs as string[]).map(parseTmpfsFlag),
      ];
      if (o.image !== undefined && o.rootfs !== undefined) throw new BarepodError('usage', '--image and --rootfs are mutually exclusive');
      const json = o.json === true;
      const tty = o.tty === true;
      const stdin = o.interactive === true;
      const attach = (tty || stdin) && o.detach !== true;
      if (attach && json)
        throw new BarepodError('usage', "--json with -i/-t needs -d: an attached run prints the container's output", { hint: 'add -d, or drop --json' });
      const detachKeys = str('detachKeys') ?? DEFAULT_DETACH_KEYS;
      parseDetachKeys(detachKeys); // a typo is an error before anything is made
      // as exec -t and docker: a terminal's input must come from one (our end of input would never reach the shell)
      if (attach && tty && stdin && !isatty(0))
        throw new BarepodError('usage', 'the input device is not a TTY', {
          hint: 'drop -t (run -i passes a pipe on), or add -d and attach later from a terminal',
        });
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
        device: o.device as string[],
        capAdd: o.capAdd as string[],
        capDrop: o.capDrop as string[],
        privileged: o.privileged === true,
        restart: str('restart'),
        readOnly: o.readOnly === true,
        tty,
        stdin,
        stdinOnce: stdin && !tty && attach,
        imageDefaults: image?.defaults,
        imageId: image?.digest,
      });
      const rt = runtimeFor(cmd);
      const pod = str('pod') ?? '';
      if (attach) {
        // attached between runc create and runc start: nothing the container writes is missed
        let attached: Attached | undefined;
        try {
          await runContainer(rt, pod, def, mounts, async () => {
            attached = await openAttach(rt, pod, def.name, { tty, stdin, detachKeys });
          });
        } catch (e) {
          attached?.close();
          throw e;
        }
        await runAttached(rt, pod, def.name, attached!);
        return;
      }
      const c = await runContainer(rt, pod, def, mounts);
      if (json) printJson(c);
      else process.stdout.write(`${str('pod')}/${def.name} running (pid ${c.process?.pid})\n`);
    });
}
