import fs from 'node:fs';
import { catchesSignal, innermostPid, namespaceInode, readComm, readStartTime } from '../runtime/procfs.js';
import { differ, same, type Lab, type LabContext } from './lab.js';

const SIGHUP = 1;
const SECRET = 'DB_PASSWORD=s3cret';

/**
 * The web server: a stand-in for nginx (a script named nginx, so `pidof
 * nginx` finds it) that reloads on SIGHUP by appending to /tmp/reloads.
 * `wait` returns as soon as a trapped signal arrives, so the reload is not
 * held up by the sleep.
 */
const NGINX = `printf "%s\\n" "#!/bin/sh" "trap \\"echo reloaded >> /tmp/reloads\\" HUP" "while :; do sleep 1 & wait \\$!; done" > /usr/sbin/nginx && chmod +x /usr/sbin/nginx && exec nginx`;

/** Runs a shell line in a container of the lab's pod and returns its stdout. */
async function inContainer(ctx: LabContext, container: string, line: string): Promise<{ code: number; out: string }> {
  const r = await ctx.sh(`barepod exec ${ctx.pod('tls')} ${container} -- sh -c '${line}'`);
  return { code: r.code, out: r.stdout };
}

/** The pause's identity, to tell it is still the same process later. */
async function pauseIdentity(ctx: LabContext): Promise<string> {
  const pid = await ctx.pid('tls');
  return `${pid}@${readStartTime(pid) ?? 'gone'}`;
}

/** Lab 3 (seeds 000, 004; scenario S2): one pid namespace for the pod: signals across containers, and what else it shares. */
export const lab3: Lab = {
  id: 3,
  page: '03-pid-sharing.md',
  title: 'PID sharing and signals',
  seeds: ['000', '004'],
  summary:
    'With --share pid every container of the pod sees every process: certbot can send SIGHUP to nginx in another container. The caveats come with it: pause is PID 1 (kill -HUP 1 reaches it, and it survives), environment and files of the other containers are readable through /proc, and a container can opt out with --pid private.',
  pods: ['tls'],
  steps: [
    {
      title: 'A pod that shares its pid namespace',
      say: 'The pod is made with --share net,ipc,uts,pid: the pause\'s pid namespace is joined by every container, like Kubernetes\' shareProcessNamespace: true. web runs "nginx" (a shell script that reloads on SIGHUP; it has a password in its environment); certbot would renew certificates.',
      run: [
        'barepod pod create {pod:tls} --network none --share net,ipc,uts,pid',
        `barepod run --pod {pod:tls} --name web -e ${SECRET} -- sh -c '${NGINX}'`,
        'barepod run --pod {pod:tls} --name certbot -- sleep 3600',
        'barepod exec {pod:tls} certbot -- ps',
        'readlink /proc/{pid:tls}/ns/pid /proc/{pid:tls/web}/ns/pid /proc/{pid:tls/certbot}/ns/pid',
        'grep NSpid /proc/{pid:tls}/status /proc/{pid:tls/web}/status /proc/{pid:tls/certbot}/status',
        'barepod top {pod:tls}',
      ],
      look: 'in certbot\'s ps: PID 1 is /pause, and nginx of the other container is there; one pid:[N] for all three; NSpid: the host pid, then the pid inside the pod.',
      claims: [
        {
          says: 'pause, web and certbot are in one pid namespace, the pause\'s',
          holds: async (ctx) => {
            const [p, w, c] = [await ctx.pid('tls'), await ctx.pid('tls/web'), await ctx.pid('tls/certbot')].map((pid) => namespaceInode(pid, 'pid'));
            ctx.vars.pause = await pauseIdentity(ctx);
            return p !== undefined && w === p && c === p ? true : `pause ${p}, web ${w}, certbot ${c}`;
          },
        },
        {
          says: 'the pause is PID 1 of the pod; web\'s process is not',
          holds: async (ctx) => {
            const [p, w] = [innermostPid(await ctx.pid('tls')), innermostPid(await ctx.pid('tls/web'))];
            return p === 1 && w !== 1 ? true : `pause is PID ${p}, web is PID ${w} in the pod`;
          },
        },
        {
          says: 'nginx is running with its SIGHUP handler in place',
          holds: async (ctx) => {
            const web = await ctx.pid('tls/web');
            await ctx.until(() => readComm(web) === 'nginx' && catchesSignal(web, SIGHUP), 'nginx to trap SIGHUP');
            ctx.vars.nginx = `${web}@${readStartTime(web) ?? 'gone'}`;
            return true as const;
          },
        },
        {
          says: 'certbot\'s ps lists the pause as PID 1 and web\'s nginx',
          holds: async (ctx) => {
            const { out } = await inContainer(ctx, 'certbot', 'ps -o pid,args');
            const rows = out.split('\n').map((l) => l.trim().split(/\s+/));
            const pause = rows.find((r) => r[0] === '1')?.[1];
            const nginx = rows.some((r) => r.some((w) => w.endsWith('nginx')));
            return pause === '/pause' && nginx ? true : `PID 1 is ${String(pause)}; nginx ${nginx ? 'listed' : 'missing'}:\n${out}`;
          },
        },
      ],
    },
    {
      title: 'certbot sends SIGHUP to nginx',
      say: 'After a renewal certbot must make nginx reload. With one pid namespace it finds nginx by name and signals it, across containers. kill(2) only asks that the sender be the same user as the target or have CAP_KILL; root in these containers is both.',
      run: [
        'barepod exec {pod:tls} certbot -- pidof nginx',
        "barepod exec {pod:tls} certbot -- sh -c 'kill -HUP $(pidof nginx)'",
        { cmd: 'barepod exec {pod:tls} web -- cat /tmp/reloads', retrySeconds: 20 },
        'cat /proc/{pid:tls/web}/root/tmp/reloads',
      ],
      look: '"reloaded": nginx\'s trap ran, in the web container.',
      claims: [
        {
          says: 'the signal landed: nginx\'s trap wrote /tmp/reloads in web\'s filesystem',
          holds: async (ctx) => {
            const web = await ctx.pid('tls/web');
            const text = await ctx.until(() => {
              try {
                return fs.readFileSync(`/proc/${web}/root/tmp/reloads`, 'utf8');
              } catch {
                return undefined;
              }
            }, 'nginx to write /tmp/reloads');
            return same('/tmp/reloads', text.trim(), 'reloaded');
          },
        },
        {
          says: 'nginx handled it and lives on: the same process as before the signal',
          holds: async (ctx) => {
            const web = await ctx.pid('tls/web');
            return same('nginx pid@starttime', `${web}@${readStartTime(web) ?? 'gone'}`, ctx.vars.nginx);
          },
        },
      ],
    },
    {
      title: 'kill -HUP 1 reaches the pause',
      say: 'Images that reload their main process with `kill -HUP 1` meet the first caveat: PID 1 is now the pause. The pause installs handlers for SIGINT, SIGTERM and SIGCHLD only (SigCgt, the mask of caught signals in /proc/<pid>/status, is 0x14002: bits 1, 14 and 16, for signals 2, 15 and 17). The kernel delivers to a pid namespace\'s init only the signals it has a handler for (SIGKILL and SIGSTOP from outside aside): the SIGHUP is dropped, and the pause, and with it the pod, survives. (A SIGTERM would end the pause, and the pod.)',
      run: [
        'grep -E \'SigCgt|SigIgn\' /proc/{pid:tls}/status',
        'barepod exec {pod:tls} certbot -- kill -HUP 1',
        'barepod ps {pod:tls}',
      ],
      look: 'kill exits 0 (the signal was sent), yet the sandbox is still Running with the same pid.',
      claims: [
        {
          says: 'the pause has no SIGHUP handler',
          holds: async (ctx) => same('pause catches SIGHUP', catchesSignal(await ctx.pid('tls'), SIGHUP), false),
        },
        {
          says: 'after kill -HUP 1 the pause is alive: the same process as before',
          holds: async (ctx) => same('pause pid@starttime', await pauseIdentity(ctx), ctx.vars.pause),
        },
      ],
    },
    {
      title: 'What else is shared: args, environment, files',
      say: 'The second and third caveats: /proc/<pid> of every process in the pod is visible to every container. Another container\'s command line and environment (passwords passed as env or args) can be read, and so can its whole filesystem through /proc/<pid>/root, protected only by ordinary Unix permissions.',
      run: [
        "barepod exec {pod:tls} certbot -- sh -c 'tr \"\\0\" \" \" < /proc/$(pidof nginx)/cmdline; echo'",
        "barepod exec {pod:tls} certbot -- sh -c 'tr \"\\0\" \"\\n\" < /proc/$(pidof nginx)/environ'",
        "barepod exec {pod:tls} certbot -- sh -c 'cat /proc/$(pidof nginx)/root/usr/sbin/nginx'",
        { cmd: 'barepod exec {pod:tls} certbot -- cat /usr/sbin/nginx', mayFail: true },
      ],
      look: `${SECRET} in nginx's environment, read by certbot; web's /usr/sbin/nginx read through /proc/<pid>/root, though certbot's own filesystem has no such file.`,
      claims: [
        {
          says: 'certbot reads nginx\'s environment, password included',
          holds: async (ctx) => {
            const { out } = await inContainer(ctx, 'certbot', 'tr "\\0" "\\n" < /proc/$(pidof nginx)/environ');
            return out.split('\n').includes(SECRET) ? true : `not in what certbot read: ${out.trim().replace(/\n/g, ' ')}`;
          },
        },
        {
          says: 'certbot reads web\'s files through /proc/<pid>/root, files its own filesystem does not have',
          holds: async (ctx) => {
            const own = await inContainer(ctx, 'certbot', 'cat /usr/sbin/nginx');
            const other = await inContainer(ctx, 'certbot', 'cat /proc/$(pidof nginx)/root/usr/sbin/nginx');
            const mnt = differ('mount namespace of web and certbot', namespaceInode(await ctx.pid('tls/web'), 'mnt'), namespaceInode(await ctx.pid('tls/certbot'), 'mnt'));
            if (mnt !== true) return mnt;
            return own.code !== 0 && other.code === 0 && other.out.includes('trap') ? true : `own /usr/sbin/nginx: exit ${own.code}; through /proc: exit ${other.code}, "${other.out.trim()}"`;
          },
        },
      ],
    },
    {
      title: 'Opting out: --pid private',
      say: 'PID sharing is per pod, and a container can opt out: `run --pid private` gives it a pid namespace of its own (it still shares the pod\'s network, IPC and hostname). Its process is PID 1 there, and the others are invisible to it.',
      run: [
        'barepod run --pod {pod:tls} --name tool --pid private -- sleep 3600',
        'barepod exec {pod:tls} tool -- ps',
        { cmd: 'barepod exec {pod:tls} tool -- pidof nginx', mayFail: true },
        'readlink /proc/{pid:tls}/ns/pid /proc/{pid:tls/tool}/ns/pid',
        'barepod ns {pod:tls}',
      ],
      look: 'tool\'s ps shows only its own sleep (PID 1) and ps; pidof nginx finds nothing; two different pid:[N].',
      claims: [
        {
          says: 'tool has a pid namespace of its own, where its sleep is PID 1, and still the pod\'s network namespace',
          holds: async (ctx) => {
            const [pause, tool] = [await ctx.pid('tls'), await ctx.pid('tls/tool')];
            const pid = differ('pid namespace of tool and of the pod', namespaceInode(tool, 'pid'), namespaceInode(pause, 'pid'));
            if (pid !== true) return pid;
            if (innermostPid(tool) !== 1) return `tool's sleep is PID ${innermostPid(tool)} in its namespace`;
            return same('net namespace of tool and of the pod', namespaceInode(tool, 'net'), namespaceInode(pause, 'net'));
          },
        },
        {
          says: 'tool sees neither the pause nor nginx',
          holds: async (ctx) => {
            const { out } = await inContainer(ctx, 'tool', 'ps -o pid,args');
            return !out.includes('pause') && !out.includes('nginx') ? true : `tool's ps:\n${out}`;
          },
        },
      ],
    },
  ],
};
