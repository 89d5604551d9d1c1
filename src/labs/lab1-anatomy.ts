import { hostname } from 'node:os';
import { namespaceInode, readProcCgroups } from '../runtime/procfs.js';
import { differ, same, type Lab, type LabContext } from './lab.js';

const SHARED = ['net', 'ipc', 'uts'] as const;

/** Lab 1 (seeds 001, 003): a container is namespaces plus cgroups; a pod is containers joining one sandbox's. */
export const lab1: Lab = {
  id: 1,
  page: '01-anatomy.md',
  title: 'Anatomy of a container and a pod',
  seeds: ['001', '003'],
  summary:
    'A container is a process in its own namespaces and cgroup. A pod is a pause process holding net, ipc and uts namespaces that every container joins, while each container keeps its own mount and pid namespaces.',
  pods: ['web'],
  steps: [
    {
      title: 'Your own shell\'s namespaces',
      say: 'Every process lives in one namespace of each type. /proc/<pid>/ns/* are links whose number (the inode) is the namespace\'s identity: two processes with the same number share that namespace.',
      run: ['ls -l /proc/self/ns', 'lsns --type net --output NS,TYPE,NPROCS,PID,COMMAND | head -5'],
      look: 'the numbers in brackets, e.g. net:[4026531840]: the host\'s namespaces, shared by almost every process here.',
      claims: [
        {
          says: 'this shell and PID 1 of the host share one network namespace',
          holds: () => {
            const init = namespaceInode(1, 'net');
            // in some sandboxes PID 1 is unreadable; then the claim is about this process's parent instead
            return same('net inode of PID 1 vs this process', init ?? namespaceInode(process.ppid, 'net'), namespaceInode(process.pid, 'net'));
          },
        },
      ],
    },
    {
      title: 'A pod: the sandbox first',
      say: 'barepod starts the pause process in new net, ipc and uts namespaces (and new mnt and pid ones of its own), and a pod cgroup.',
      run: ['barepod pod create {pod:web} --network none', 'barepod ps {pod:web}', 'ls -l /proc/{pid:web}/ns'],
      look: 'the pause\'s net/ipc/uts numbers differ from your shell\'s: they are the pod\'s.',
      claims: SHARED.map((t) => ({
        says: `the pause has its own ${t} namespace, not the host's`,
        holds: async (ctx) => differ(`${t} inode of the pause and of this host`, namespaceInode(await ctx.pid('web'), t), namespaceInode(process.pid, t)),
      })),
    },
    {
      title: 'Two containers join it',
      say: 'Each container\'s config.json lists the namespaces to join by path: /proc/<pausePid>/ns/net and so on. runc opens those paths and setns()es into them; the namespaces it is not given a path for are new.',
      run: [
        'barepod run --pod {pod:web} --name app -- sleep 3600',
        'barepod run --pod {pod:web} --name side -- sleep 3600',
        'barepod spec {pod:web} app | grep -A16 \'"namespaces"\'',
        'readlink /proc/{pid:web}/ns/net /proc/{pid:web/app}/ns/net /proc/{pid:web/side}/ns/net',
        'readlink /proc/{pid:web}/ns/mnt /proc/{pid:web/app}/ns/mnt /proc/{pid:web/side}/ns/mnt',
      ],
      look: 'the three net links are the same number; the three mnt links are three different numbers.',
      claims: [
        ...SHARED.map((t) => ({
          says: `app and side are in the pause's ${t} namespace`,
          holds: async (ctx: LabContext) => {
            const pause = namespaceInode(await ctx.pid('web'), t);
            const app = namespaceInode(await ctx.pid('web/app'), t);
            const side = namespaceInode(await ctx.pid('web/side'), t);
            return app === pause && side === pause ? true : `pause ${pause}, app ${app}, side ${side}`;
          },
        })),
        {
          says: 'app and side each have a mount namespace of their own',
          holds: async (ctx) => {
            const [p, a, s] = [await ctx.pid('web'), await ctx.pid('web/app'), await ctx.pid('web/side')].map((pid) => namespaceInode(pid, 'mnt'));
            return new Set([p, a, s]).size === 3 ? true : `pause ${p}, app ${a}, side ${s}`;
          },
        },
        {
          says: 'without pid sharing, each container has a pid namespace of its own (its process is PID 1 there)',
          holds: async (ctx) => {
            const [p, a] = [await ctx.pid('web'), await ctx.pid('web/app')];
            return differ('pid namespace of pause and app', namespaceInode(p, 'pid'), namespaceInode(a, 'pid'));
          },
        },
        {
          says: 'no user namespace is made: root in a container is root of the host (capabilities and seccomp are what limit it)',
          holds: async (ctx) => same('user namespace of app and of this host', namespaceInode(await ctx.pid('web/app'), 'user'), namespaceInode(process.pid, 'user')),
        },
      ],
    },
    {
      title: 'The whole picture: barepod ns',
      say: 'The same facts as a matrix: one row per member, one column per namespace type; each cell says whether it is the pod\'s (shared), the container\'s own, or the host\'s.',
      // lsns reads every process of /proc: one exiting under it made it fail silently once (exit 1, a loaded full run), so it is retried
      run: ['barepod ns {pod:web}', { cmd: 'lsns -p {pid:web/app}', retrySeconds: 10 }],
      look: 'net, ipc and uts "shared" in every row; mnt and pid "own"; user "host"; cgroup "host" on cgroup v1, "own" on v2 (runc gives each container a cgroup namespace there).',
      claims: [
        {
          says: 'every cell of `barepod ns --json` is the inode /proc shows for that member',
          holds: async (ctx) => {
            const view = await ctx.json<{ members: { name: string; pid: number | null; namespaces: Record<string, { inode: number }> }[] }>(['ns', ctx.pod('web')]);
            const wrong: string[] = [];
            for (const m of view.members) {
              if (!m.pid) continue;
              for (const [t, cell] of Object.entries(m.namespaces)) if (namespaceInode(m.pid, t) !== cell.inode) wrong.push(`${m.name}/${t}`);
            }
            return view.members.length >= 3 && wrong.length === 0 ? true : `members ${view.members.length}, wrong cells: ${wrong.join(', ') || 'none'}`;
          },
        },
      ],
    },
    {
      title: 'One hostname for the pod: UTS sharing',
      say: 'The containers share the pause\'s UTS namespace, so they have one hostname, the pod\'s. Docker can join net and ipc of another container but not its UTS namespace; barepod writes config.json itself, so it can.',
      run: ['barepod exec {pod:web} app hostname', 'barepod exec {pod:web} side hostname', 'hostname'],
      look: 'app and side print the pod name; the host has its own.',
      claims: [
        {
          says: 'app and side both see the pod\'s hostname, and it is not the host\'s',
          holds: async (ctx) => {
            const a = (await ctx.sh(`barepod exec ${ctx.pod('web')} app hostname`)).stdout.trim();
            const s = (await ctx.sh(`barepod exec ${ctx.pod('web')} side hostname`)).stdout.trim();
            return a === ctx.pod('web') && s === a && a !== hostname() ? true : `app "${a}", side "${s}", host "${hostname()}"`;
          },
        },
      ],
    },
    {
      title: 'And the cgroups',
      say: 'The pod has a cgroup parent, /barepod/<pod>, and each container a child under it: that is where pod and container limits go (lab 6).',
      run: ['cat /proc/{pid:web/app}/cgroup', 'barepod cgroups {pod:web}'],
      look: 'the app\'s cgroup ends in /barepod/<pod>/app.',
      claims: [
        {
          says: 'app runs in the cgroup /barepod/<pod>/app',
          holds: async (ctx) => {
            const groups = readProcCgroups(await ctx.pid('web/app'));
            const path = groups[''] ?? groups['memory'] ?? Object.values(groups)[0];
            return path?.endsWith(`/${ctx.cgroupRoot ?? 'barepod'}/${ctx.pod('web')}/app`) ? true : `its cgroup is ${path}`;
          },
        },
      ],
    },
  ],
};
