import fs from 'node:fs';
import path from 'node:path';
import { readPidFile } from '../runtime/conmon.js';
import { CgroupFs } from '../runtime/cgroupfs.js';
import { namespaceInode, readStartTime } from '../runtime/procfs.js';
import { differ, same, type Lab, type LabContext } from './lab.js';
import { listeningSocketInode, socketInodesOf } from './probes.js';
import { quote } from './runner.js';

const PORT = 9000;
const HELLO = 'hello from the sidecar';
const TUN_IF = 'lab2tun0';

/** The app's restart count, as `barepod ps --json` reports it. */
async function restarts(ctx: LabContext): Promise<number> {
  const view = await ctx.json<{ pods: { containers: { container: string; restarts: number }[] }[] }>(['ps', ctx.pod('game')]);
  return view.pods[0]?.containers.find((c) => c.container === 'app')?.restarts ?? 0;
}

/** One line per run of the app: the netns it saw and what the sidecar answered. */
async function appRuns(ctx: LabContext): Promise<{ netns: number | undefined; answer: string }[]> {
  // logs --json prints JSON lines, one object per log line
  const r = await ctx.sh(`barepod logs ${quote(ctx.pod('game'))} app --json`);
  if (r.code !== 0) throw new Error(`barepod logs ${ctx.pod('game')} app exited ${r.code}: ${r.stderr.trim()}`);
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { stream: string; text: string });
  // stderr holds nc's own complaints (a first run may ask before the sidecar listens)
  return lines.filter((l) => l.stream === 'stdout').map((l) => {
    const m = /^net:\[(\d+)\] ?(.*)$/.exec(l.text.trim());
    return { netns: m ? Number(m[1]) : undefined, answer: m?.[2] ?? l.text };
  });
}

/** The runc of the pause-less part: its own state directory in the lab's scratch dir. */
const runc = (ctx: Pick<LabContext, 'dir'>) => `runc --root ${quote(path.join(ctx.dir, 'runc'))}`;

/** A pid the pause-less part's runc wrote. */
const runcPid = (ctx: LabContext, name: 'app' | 'side') => readPidFile(path.join(ctx.dir, `${name}.pid`));

/** The answer the app gets from 127.0.0.1:9000 in the pause-less part (runc exec, like `docker exec`). */
async function askFromBareApp(ctx: LabContext): Promise<string> {
  const r = await ctx.sh(`${runc(ctx)} exec ${ctx.pod('bare')}-app nc 127.0.0.1 ${PORT}`);
  return r.stdout.trim();
}

/**
 * Writes an OCI bundle as `runc spec` makes it, edited with sed: busybox's
 * rootfs (read-only), no terminal, the command, a cgroup under /barepod, and
 * optionally a network namespace to join by path.
 */
const BUNDLE_SCRIPT = `cat > {dir}/bundle <<'EOF'
# usage: sh bundle DIR NETNS CMD...   (NETNS: new, or the path of a network namespace to join)
set -e
dir=$1 netns=$2; shift 2
mkdir -p "$dir" && cd "$dir" && runc spec
args=$(printf '"%s", ' "$@")
sed -i -e 's/"terminal": true/"terminal": false/' \\
  -e "s|\\"path\\": \\"rootfs\\"|\\"path\\": \\"\${BAREPOD_DATA:-/var/lib/barepod}/builtin/busybox/rootfs\\"|" \\
  -e "s|^\\t\\t\\t\\"sh\\"\\$|\\t\\t\\t\${args%, }|" \\
  -e "s|\\"linux\\": {|&\\n\\t\\t\\"cgroupsPath\\": \\"/{cgroup:bare}/\${dir##*/}\\",|" config.json
if [ "$netns" != new ]; then sed -i "s|\\"type\\": \\"network\\"|&, \\"path\\": \\"$netns\\"|" config.json; fi
EOF`;

/** Lab 2 (seeds 000, 003; scenario S1): the pause keeps the network namespace while the app crash-loops; without it, a restart strands the sidecar. */
export const lab2: Lab = {
  id: 2,
  page: '02-network-restarts.md',
  title: 'Network sharing that survives restarts',
  seeds: ['000', '003'],
  summary:
    'A sidecar listens on 127.0.0.1 while the app next to it crashes and restarts: in a pod the pause holds the network namespace, so the sidecar\'s socket and the app\'s localhost survive every restart. Then the same without a pause (Docker\'s --network container:app, built by hand with runc): one restart of the app and the sidecar is stranded in the old namespace.',
  pods: ['game', 'bare'],
  steps: [
    {
      title: 'A pod with a sidecar on localhost',
      say: 'The pod restarts crashed containers (--restart always, 500 ms backoff). Its sidecar is a tiny server: busybox nc listening on port 9000, answering every connection with one line. It stands for the VPN sidecar (Tailscale) of the article.',
      run: [
        'barepod pod create {pod:game} --network none --restart always --backoff 500ms',
        `barepod run --pod {pod:game} --name side -- nc -ll -p ${PORT} -e echo ${HELLO}`,
        'barepod ps {pod:game}',
      ],
      look: 'the sandbox (pause) and side are Running.',
      claims: [
        {
          says: `the sidecar listens on port ${PORT} in the pod's network namespace`,
          holds: async (ctx) => {
            const side = await ctx.pid('game/side');
            const inode = await ctx.until(() => listeningSocketInode(side, PORT), `a socket listening on ${PORT}`);
            ctx.vars.socket = inode;
            ctx.vars.side = { pid: side, start: readStartTime(side) };
            ctx.vars.netns = namespaceInode(await ctx.pid('game'), 'net');
            return same("net namespace of side and of the pause", namespaceInode(side, 'net'), ctx.vars.netns);
          },
        },
      ],
    },
    {
      title: 'The socket, seen from the host',
      say: 'A listening socket is a kernel object with an inode, like a file. /proc/<pid>/net/tcp6 lists the sockets of the process\'s network namespace (state 0A = LISTEN, port 2328 hex = 9000, the inode in the last columns); /proc/<pid>/fd shows which descriptor of the sidecar holds it.',
      run: ['cat /proc/{pid:game/side}/net/tcp6', 'ls -l /proc/{pid:game/side}/fd', 'readlink /proc/{pid:game}/ns/net /proc/{pid:game/side}/ns/net'],
      look: 'the same socket:[N] number in the LISTEN line and among the sidecar\'s fds.',
      claims: [
        {
          says: 'the listening socket is one of the sidecar\'s open file descriptors',
          holds: async (ctx) => {
            const held = socketInodesOf(await ctx.pid('game/side'));
            return held.includes(ctx.vars.socket as number) ? true : `socket ${String(ctx.vars.socket)} not among the sidecar's ${held.join(', ') || 'none'}`;
          },
        },
      ],
    },
    {
      title: 'An app that crashes, again and again',
      say: 'The app asks the sidecar on 127.0.0.1:9000, prints its network namespace and the answer, and exits 1 a second later: a crash. The restart policy starts it again, each time a new container in the same sandbox.',
      run: [
        `barepod run --pod {pod:game} --name app -- sh -c 'echo "$(readlink /proc/self/ns/net) $(nc 127.0.0.1 ${PORT})"; sleep 1; exit 1'`,
      ],
      claims: [
        {
          says: 'the app crashed and was restarted at least twice',
          holds: async (ctx) => {
            await ctx.until(async () => (await restarts(ctx)) >= 2, 'two restarts of the app', 30_000);
            return true as const;
          },
        },
      ],
    },
    {
      title: 'Same namespace, same socket',
      say: 'Every run of the app was a new process in a new container, yet each joined the pause\'s network namespace by /proc/<pause>/ns/net: the same localhost, where the sidecar kept running, undisturbed, with the same listening socket.',
      run: ['barepod ps {pod:game}', 'barepod logs {pod:game} app', 'barepod events {pod:game}', 'ls -l /proc/{pid:game/side}/fd', 'barepod ns {pod:game}'],
      look: 'RESTARTS ≥ 2; every log line shows the same net:[N] as the pause and the sidecar\'s answer; the socket:[N] of step 2 unchanged.',
      claims: [
        {
          says: 'after the restarts the sidecar is the same process, holding the same listening socket',
          holds: async (ctx) => {
            const before = ctx.vars.side as { pid: number; start: string };
            const side = await ctx.pid('game/side');
            if (side !== before.pid || readStartTime(side) !== before.start) return `the sidecar was pid ${before.pid}, now ${side}`;
            return same('listening socket inode before and after the restarts', listeningSocketInode(side, PORT), ctx.vars.socket);
          },
        },
        {
          says: 'every run of the app was in the pause\'s network namespace, the one it had before the restarts',
          holds: async (ctx) => {
            const pause = namespaceInode(await ctx.pid('game'), 'net');
            if (pause !== ctx.vars.netns) return `the pod's netns was ${String(ctx.vars.netns)}, now ${String(pause)}`;
            // restarts ≥ 2: a third run has started; wait for its line
            const runs = await ctx.until(async () => {
              const r = await appRuns(ctx);
              return r.length >= 3 && r;
            }, 'three runs of the app in its log');
            const other = runs.filter((r) => r.netns !== pause);
            return runs.length >= 3 && other.length === 0 ? true : `${runs.length} runs, ${other.length} in another netns: ${JSON.stringify(other)}`;
          },
        },
        {
          says: 'every restarted app reached the sidecar on 127.0.0.1',
          holds: async (ctx) => {
            // the first run may have asked before nc listened; the restarts are the point
            const restarted = (await appRuns(ctx)).slice(1);
            const missed = restarted.filter((r) => r.answer !== HELLO);
            return restarted.length >= 2 && missed.length === 0 ? true : `${restarted.length} restarted runs, answers: ${restarted.map((r) => JSON.stringify(r.answer)).join(', ')}`;
          },
        },
      ],
    },
    {
      title: 'Without a pause: join the app\'s own namespace',
      say: 'Now the way `docker run --network container:app` does it: no pause; the sidecar joins the app\'s network namespace directly. barepod always makes a pause, so build it by hand with runc: two bundles made by `runc spec` and edited with sed (busybox\'s rootfs, read-only; the command; a cgroup), the sidecar\'s with {"type": "network", "path": "/proc/<app pid>/ns/net"}.',
      run: [
        BUNDLE_SCRIPT,
        'sh {dir}/bundle {dir}/app new sleep 3600',
        'runc --root {dir}/runc run -d --pid-file {dir}/app.pid -b {dir}/app {pod:bare}-app > {dir}/app.log 2>&1 < /dev/null',
        `sh {dir}/bundle {dir}/side /proc/$(cat {dir}/app.pid)/ns/net nc -ll -p ${PORT} -e echo ${HELLO}`,
        'grep -B1 -A1 \'"network"\' {dir}/side/config.json',
        'runc --root {dir}/runc run -d --pid-file {dir}/side.pid -b {dir}/side {pod:bare}-side > {dir}/side.log 2>&1 < /dev/null',
        'runc --root {dir}/runc list',
        'readlink /proc/$(cat {dir}/app.pid)/ns/net /proc/$(cat {dir}/side.pid)/ns/net',
      ],
      look: 'one net:[N] for both: the sidecar is in the app\'s namespace, as in a pod.',
      claims: [
        {
          says: 'the sidecar is in the app\'s network namespace',
          holds: async (ctx) => {
            const [app, side] = [runcPid(ctx, 'app'), runcPid(ctx, 'side')];
            if (!app || !side) return `pids: app ${String(app)}, side ${String(side)}`;
            ctx.vars.bareNetns = namespaceInode(app, 'net');
            return same('net namespace of app and side', namespaceInode(side, 'net'), ctx.vars.bareNetns);
          },
        },
        {
          says: 'the app reaches the sidecar on 127.0.0.1',
          holds: async (ctx) => {
            const side = runcPid(ctx, 'side');
            await ctx.until(() => side !== undefined && listeningSocketInode(side, PORT), `the bare sidecar listening on ${PORT}`);
            return same('the answer on 127.0.0.1:9000', await askFromBareApp(ctx), HELLO);
          },
        },
      ],
    },
    {
      title: 'Restart the app: the sidecar is stranded',
      say: 'A restart without a pause is a new container: delete and run again, as Docker does. Nothing holds the app\'s old network namespace but the sidecar, and runc makes the new app a new one. The sidecar is still running and still listening, alone in the old namespace; the new app\'s 127.0.0.1 is empty.',
      run: [
        'runc --root {dir}/runc delete -f {pod:bare}-app',
        'runc --root {dir}/runc run -d --pid-file {dir}/app.pid -b {dir}/app {pod:bare}-app > {dir}/app.log 2>&1 < /dev/null',
        'readlink /proc/$(cat {dir}/app.pid)/ns/net /proc/$(cat {dir}/side.pid)/ns/net',
        { cmd: 'runc --root {dir}/runc exec {pod:bare}-app nc 127.0.0.1 9000', mayFail: true },
        'runc --root {dir}/runc exec {pod:bare}-side nc 127.0.0.1 9000',
      ],
      look: 'two different net:[N]; the app gets "Connection refused", while the sidecar still answers in its own namespace.',
      claims: [
        {
          says: 'the restarted app has a new network namespace; the sidecar is still in the old one',
          holds: async (ctx) => {
            const [app, side] = [runcPid(ctx, 'app'), runcPid(ctx, 'side')];
            if (!app || !side) return `pids: app ${String(app)}, side ${String(side)}`;
            const old = same("the sidecar's netns and the app's before the restart", namespaceInode(side, 'net'), ctx.vars.bareNetns);
            return old === true ? differ('net namespace of the new app and of the sidecar', namespaceInode(app, 'net'), namespaceInode(side, 'net')) : old;
          },
        },
        {
          says: 'the restarted app can no longer reach the sidecar on 127.0.0.1',
          holds: async (ctx) => {
            const r = await ctx.sh(`${runc(ctx)} exec ${ctx.pod('bare')}-app nc 127.0.0.1 ${PORT}`);
            return r.code !== 0 && !r.stdout.includes(HELLO) ? true : `nc exited ${r.code} with "${r.stdout.trim()}"`;
          },
        },
        {
          says: 'the sidecar itself is fine: it still listens, in the old namespace',
          holds: async (ctx) => {
            const side = runcPid(ctx, 'side');
            return side !== undefined && listeningSocketInode(side, PORT) !== undefined ? true : `nothing listens on ${PORT} in the sidecar's namespace`;
          },
        },
      ],
    },
    {
      title: "The VPN sidecar's tun device",
      say: "The article's Tailscale sidecar needs two things a container does not have by default: the host's /dev/net/tun and CAP_NET_ADMIN. `--device` makes the node in the container's /dev and allows its numbers (c 10:200) in the container's devices cgroup; `--cap-add` adds the capability. The sidecar makes a tun interface (busybox tunctl); it lives in the pod's network namespace, so the other containers see it, with no device and no capability of their own. Without the device the same command finds no node.",
      run: [
        `barepod run --pod {pod:game} --name vpn --device /dev/net/tun --cap-add NET_ADMIN -- sh -c 'tunctl -t ${TUN_IF} && exec sleep 3600'`,
        { cmd: `barepod run --pod {pod:game} --name novpn --restart never --cap-add NET_ADMIN -- tunctl -t lab2nodev`, mayFail: true },
        'ls -l /proc/{pid:game/vpn}/root/dev/net/tun',
        `barepod exec {pod:game} side -- ls /sys/class/net`,
        'barepod logs {pod:game} novpn',
      ],
      look: `${TUN_IF} in the sidecar "side"'s /sys/class/net (the pod's namespace); novpn says "can't open '/dev/net/tun': No such file or directory".`,
      claims: [
        {
          says: `the tun interface ${TUN_IF} is in the pause's network namespace, and the side container (no device, no NET_ADMIN) sees it`,
          holds: async (ctx) => {
            const pause = await ctx.pid('game');
            await ctx.until(() => fs.existsSync(`/proc/${pause}/root/sys/class/net/${TUN_IF}`), `${TUN_IF} in the pod's netns`);
            const side = await ctx.pid('game/side');
            return fs.existsSync(`/proc/${side}/root/sys/class/net/${TUN_IF}`) ? true : `${TUN_IF} not in the side container's /sys/class/net`;
          },
        },
        {
          says: 'only the vpn container has the node, the host\'s c 10:200',
          holds: async (ctx) => {
            const host = fs.statSync('/dev/net/tun').rdev;
            const vpn = fs.statSync(`/proc/${await ctx.pid('game/vpn')}/root/dev/net/tun`, { throwIfNoEntry: false });
            if (vpn?.rdev !== host) return `vpn's /dev/net/tun: ${vpn ? vpn.rdev : 'missing'}, the host's ${host}`;
            return fs.existsSync(`/proc/${await ctx.pid('game/side')}/root/dev/net/tun`) ? 'the side container has a /dev/net/tun too' : true;
          },
        },
      ],
    },
  ],
  async cleanup(ctx) {
    for (const c of ['app', 'side']) await ctx.sh(`${runc(ctx)} delete -f ${ctx.pod('bare')}-${c} >/dev/null 2>&1`);
    // a run killed before it could clean up left processes in these cgroups and no runc state to find them by
    const cgroups = CgroupFs.forHost();
    const root = `/${ctx.cgroupRoot ?? 'barepod'}`;
    const top = `${root}/${ctx.pod('bare')}`;
    for (const dir of cgroups.dirsOf(top)) {
      for (const name of ['app', 'side']) {
        for (const pid of readProcs(path.join(dir, name))) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    }
    // the state root's own top dir goes too once nothing else uses it, as with a pod's removal
    await cgroups.removeTree(top, root);
  },
};

function readProcs(dir: string): number[] {
  try {
    return fs
      .readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
