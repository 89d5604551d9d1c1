import fs from 'node:fs';
import type { Command } from 'commander';
import { hasCode, withDetails } from '../../errors.js';
import { podDefinition } from '../definitions.js';
import { createPod, removePod } from '../../pod/sandbox.js';
import { jobText, listMembers } from '../../pod/views.js';
import { SANDBOX_NAME } from '../../plan/pod-plan.js';
import { networkName } from '../../model.js';
import { collect, DEFAULT_GRACE_SECONDS, explainHook, explainOption, outputOption, parseSeconds, runtimeFor, viewRuntimeFor } from '../common.js';
import { formatPort } from '../output.js';
import { age, printJson, printTable } from '../output.js';

/** `barepod pod create|rm|ls`: the pod sandbox (RunPodSandbox / RemovePodSandbox). */
export function registerPod(program: Command): void {
  const pod = program.command('pod').description('create, list and remove pods (the pause sandbox and its cgroup parent)');

  pod
    .command('create')
    .argument('<name>', 'pod name (DNS-1123 label)')
    .description('start a pod sandbox: a pause process holding the shared namespaces, and the pod cgroup parent')
    .option(
      '--share <list>',
      'namespaces the containers share (net, ipc, uts, pid): a list replaces the default net,ipc,uts; a list led by + adds to it (+pid: net,ipc,uts,pid), as podman',
      'net,ipc,uts',
    )
    .option('--hostname <name>', 'hostname of the pod (default: the pod name)')
    .option('--memory <quantity>', 'pod memory limit on the cgroup parent (e.g. 256Mi)')
    .option('--cpus <quantity>', 'pod CPU limit (e.g. 1.5 or 500m)')
    .option('--pids-limit <n>', 'pod limit on the number of tasks')
    .option(
      '--restart <policy>',
      'restart policy of the containers (always, on-failure, never); with always or on-failure a dead sandbox is recreated',
      'never',
    )
    .option('--backoff <duration>', 'first crash-loop delay (Kubernetes: 10s); doubles per restart', '10s')
    .option('--backoff-max <duration>', 'cap of the crash-loop delay', '5m')
    .option('--backoff-reset <duration>', 'a container that ran this long restarts with the first delay again', '10m')
    .option('--grace-period <seconds>', `SIGTERM-to-SIGKILL grace of stop and pod rm (default ${DEFAULT_GRACE_SECONDS})`)
    .option('--log-size-max <quantity>', 'cap of each container log file; conmon starts a fresh file past it', '10Mi')
    .option(
      '--network <name>',
      "the pod network: barepod (CNI bridge, the default), none (loopback only), host (the host's), or a conflist name from `barepod network ls`",
      'barepod',
    )
    .option('-p, --publish <[hostIP:]hostPort:containerPort[/proto]>', 'forward a host port to the pod (portmap; tcp unless /udp); repeatable', collect)
    .option('--add-host <name:ip>', 'an extra /etc/hosts line (hostAliases); repeatable', collect)
    .option(
      '-v, --volume <NAME[:CTRDIR][:OPTS]>',
      'a pod volume (an emptyDir, removed with the pod) that containers mount with run -v NAME:CTRDIR; with CTRDIR every container run in the pod mounts it there; OPTS: ro, tmpfs, size=64Mi (a tmpfs, capped) (repeatable)',
      collect,
    )
    .option('--json', 'print the pod record as JSON')
    .addOption(explainOption())
    .hook('preAction', explainHook)
    .addHelpText(
      'after',
      `
Examples:
  barepod pod create web
  barepod pod create web -p 8080:80 -p 127.0.0.1:5353:53/udp
  barepod pod create db --network none
  barepod pod create mon --network host
  barepod pod create app --add-host db.local:10.88.0.7
  barepod pod create web --share +pid --memory 256Mi --cpus 1   # net,ipc,uts and pid
  barepod pod create web --share net,uts                       # only these two: ipc is the containers' own
  barepod pod create web --restart always --backoff 1s --backoff-max 30s --grace-period 10
  barepod pod create web --explain          # each step: mount, conmon, runc, CNI calls, the pause's config.json
  barepod pod create job -v scratch         # then: barepod run --pod job --name a -v scratch:/work …
  barepod pod create job -v cache:/cache    # every container of job gets /cache, shared
  barepod pod create job -v mem:tmpfs,size=64Mi   # a tmpfs pod volume (emptyDir medium Memory)

A pod volume is named (-v NAME), as a manifest's emptyDir volume: podman's
pod create -v SRC:CTRDIR mounts SRC in every container; here NAME:CTRDIR does
that for the pod's own volume, and host paths are bound per container (run -v).`,
    )
    .action(async (name: string, o: Record<string, string | boolean | undefined>, cmd: Command) => {
      const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
      const def = podDefinition({
        name,
        share: str('share'),
        hostname: str('hostname'),
        memory: str('memory'),
        cpus: str('cpus'),
        pidsLimit: str('pidsLimit'),
        restart: str('restart'),
        backoff: str('backoff'),
        backoffMax: str('backoffMax'),
        backoffReset: str('backoffReset'),
        gracePeriod: str('gracePeriod'),
        logSizeMax: str('logSizeMax'),
        network: str('network'),
        publish: o.publish as unknown as string[] | undefined,
        addHost: o.addHost as unknown as string[] | undefined,
        volume: o.volume as unknown as string[] | undefined,
      });
      const rt = runtimeFor(cmd);
      const rec = await createPod(rt, def);
      if (o.json) printJson(rec);
      else {
        const n = rec.sandbox.network;
        const where = n?.ip
          ? `, IP ${n.ip} on ${n.network}${n.ports.length ? `, ports ${n.ports.map(formatPort).join(' ')}` : ''}`
          : `, network ${networkName(def.network)}`;
        process.stdout.write(`pod/${name} created (pause pid ${rec.sandbox.pid}, shares ${def.share.join(',')}${where})\n`);
      }
    });

  pod
    .command('rm')
    .alias('remove')
    .argument('<names...>', 'pods to remove')
    .description('stop every container of the pod and the sandbox, and remove all it left: runc state, mounts, cgroups, files')
    .option('-t, --time <seconds>', `grace period before SIGKILL (default: the pod's, ${DEFAULT_GRACE_SECONDS} unless set)`)
    .option('-f, --force', 'no grace period: SIGKILL at once')
    .option('-i, --ignore', 'a pod that does not exist is not an error (as podman pod rm --ignore)')
    .option('--json', 'print [{pod, outcome: removed|already-removed|not-found}] as JSON (and an error as the JSON error object)')
    .addOption(explainOption())
    .hook('preAction', explainHook)
    .addHelpText(
      'after',
      '\nA pod another command removes while this one waits for it is already removed: not an error. A pod that was not there at all is (exit 3), unless --ignore.\n\nExamples:\n  barepod pod rm web\n  barepod pod rm -f web db\n  barepod pod rm -i web              # in a script or ExecStop: no error if it is gone\n  barepod pod rm -i web --json\n  barepod pod rm web --explain       # each signal, runc delete, CNI DEL, umount and rmdir',
    )
    .action(async (names: string[], o: { time?: string; force?: boolean; ignore?: boolean; json?: boolean }, cmd: Command) => {
      const grace = o.force ? 0 : o.time === undefined ? undefined : parseSeconds(o.time, '--time');
      const rt = runtimeFor(cmd);
      const done: { pod: string; outcome: 'removed' | 'already-removed' | 'not-found' }[] = [];
      const say = (pod: string, outcome: (typeof done)[number]['outcome'], text: string) => {
        done.push({ pod, outcome });
        if (!o.json) process.stdout.write(`pod/${pod} ${text}\n`);
      };
      try {
        for (const name of names) {
          const there = rt.store.tryRead(name) !== undefined || fs.existsSync(rt.pod(name).paths.dir);
          try {
            await removePod(rt, name, grace);
          } catch (e) {
            if (!hasCode(e, 'not-found')) throw e;
            if (there) {
              // it was there when this command began: another one removed it while this one waited for its lock
              say(name, 'already-removed', 'already removed (by another command)');
            } else if (o.ignore) {
              say(name, 'not-found', 'not found (ignored)');
            } else {
              throw e;
            }
            continue;
          }
          say(name, 'removed', 'removed');
        }
      } catch (e) {
        // with --json, the pods removed before the failure are in the error's details
        throw o.json && done.length ? withDetails(e, { pods: done }) : e;
      }
      if (o.json) printJson(done);
    });

  pod
    .command('ls')
    .alias('list')
    .description(
      "list pods: state, READY (app containers and sidecars ready, by their probes; init containers do not count), age; -o wide adds the pod's IP, published ports, hostname and network",
    )
    .option('--json', 'print as JSON: [{name, state, readyContainers, appContainers, ip, ports, hostname, network, owner, containers, running, createdAt}]')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
READY is kubectl's: the app containers and native sidecars (init containers
with restartPolicy Always) that run and pass their readiness (or startup)
probe, out of all of them. Init containers are not counted.

Examples:
  barepod pod ls
  barepod pod ls -o wide          # IP, PORTS, HOSTNAME, NETWORK
  barepod pod ls --json | jq -r '.[] | "\\(.name) \\(.ip)"'`,
    )
    .action((o: { json?: boolean; output?: string }, cmd: Command) => {
      const { pods } = listMembers(viewRuntimeFor(cmd));
      const rows = pods.map((p) => ({
        name: p.name,
        state: p.state,
        job: p.job,
        readyContainers: p.readyContainers,
        appContainers: p.appContainers,
        ip: p.ip,
        ports: p.ports,
        hostname: p.hostname,
        network: p.network,
        owner: p.owner,
        containers: p.containers.length - 1,
        running: p.containers.filter((c) => c.state === 'running' && c.container !== SANDBOX_NAME).length,
        createdAt: p.createdAt,
      }));
      if (o.json || o.output === 'json') return printJson(rows);
      const wide = o.output === 'wide';
      printTable(
        ['POD', 'STATE', 'READY', 'AGE', ...(wide ? ['IP', 'PORTS', 'HOSTNAME', 'NETWORK'] : [])],
        rows.map((r) => [
          r.name,
          r.job ? jobText(r.job) : r.state,
          `${r.readyContainers}/${r.appContainers}`,
          age(r.createdAt),
          ...(wide ? [r.ip ?? '-', r.ports.map(formatPort).join(',') || '-', r.hostname ?? '-', r.network ?? '-'] : []),
        ]),
      );
    });
}
