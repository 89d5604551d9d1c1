import fs from 'node:fs';
import path from 'node:path';
import { innermostPid, namespaceInode, readCmdline } from '../runtime/procfs.js';
import { differ, same, type Lab, type LabContext } from './lab.js';

const HOST_NS = ['net', 'pid', 'ipc'] as const;

/** The pod on the host's net, pid and ipc namespaces (v1/Pod: hostNetwork, hostPID, hostIPC). */
const HOST_YAML = `apiVersion: v1
kind: Pod
metadata:
  name: {pod:host}
spec:
  restartPolicy: Never
  hostNetwork: true
  hostPID: true
  hostIPC: true
  containers:
    - name: box
      image: busybox
      imagePullPolicy: Never
      command: ["sleep", "3600"]
`;

/** What a command prints inside a container, or undefined when it fails. */
async function outputIn(ctx: LabContext, pod: string, cmd: string): Promise<string | undefined> {
  const r = await ctx.sh(`barepod exec ${ctx.pod(pod)} box -- ${cmd}`);
  return r.code === 0 ? r.stdout : undefined;
}

/** The interface of the host's default route (else its first one but lo), from the host's /proc/net/route and /proc/net/dev. */
function hostInterface(): string | undefined {
  const routes = fs.readFileSync('/proc/self/net/route', 'utf8').split('\n').slice(1);
  const viaDefault = routes.map((l) => l.trim().split(/\s+/)).find((f) => f[1] === '00000000')?.[0];
  return viaDefault ?? interfacesIn(fs.readFileSync('/proc/self/net/dev', 'utf8')).find((i) => i !== 'lo');
}

/** Interface names of a /proc/net/dev table. */
function interfacesIn(procNetDev: string): string[] {
  return procNetDev
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]!.trim())
    .filter(Boolean);
}

/** The host pid of the lab's marker `sleep 300`, from the file its step wrote. */
function markerPid(ctx: LabContext): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(ctx.dir, 'sleep.pid'), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/** The id of the lab's SysV shared memory segment, from ipcmk's output ("Shared memory id: N"). */
function segmentId(ctx: LabContext): number | undefined {
  try {
    const m = /id: (\d+)/.exec(fs.readFileSync(path.join(ctx.dir, 'shm.out'), 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The shmids listed in a /proc/sysvipc/shm table. */
function shmIds(table: string): number[] {
  return table
    .split('\n')
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/)[1]))
    .filter((n) => Number.isInteger(n));
}

/** The file the lab puts in the host's /dev/shm. */
const shmFile = (ctx: LabContext) => `/dev/shm/${ctx.pod('host')}.txt`;

/** Lab 7 (seed 003): hostNetwork, hostPID and hostIPC put a pod's containers in the host's namespaces, and what that exposes. */
export const lab7: Lab = {
  id: 7,
  page: '07-host-namespaces.md',
  title: 'Host namespaces: hostNetwork, hostPID, hostIPC',
  seeds: ['003'],
  summary:
    'hostNetwork, hostPID and hostIPC give a pod no namespace of that type, so its containers stay in the host\'s: they see the host\'s interfaces, every process of the host, and its shared memory. A normal pod beside it sees none of that.',
  pods: ['host', 'own'],
  cleanup: async (ctx) => {
    // what the steps made on the host itself: the marker sleep, the SysV segment, the /dev/shm file
    const pid = markerPid(ctx);
    if (pid && readCmdline(pid).join(' ') === 'sleep 300') process.kill(pid, 'SIGKILL');
    const id = segmentId(ctx);
    if (id !== undefined) await ctx.sh(`ipcrm -m ${id}`);
    fs.rmSync(shmFile(ctx), { force: true });
  },
  steps: [
    {
      title: 'Two pods: one on the host\'s namespaces, one on its own',
      say: 'In a v1/Pod, `hostNetwork: true`, `hostPID: true` and `hostIPC: true` ask for no namespace of that type at all: barepod leaves it out of the pause\'s and the containers\' config.json, so runc leaves them where it runs, in the host\'s. The pod still gets its own UTS and mount namespaces. Beside it, a normal pod for comparison.',
      run: [
        `cat > {dir}/host.yaml <<'EOF'\n${HOST_YAML}EOF`,
        'barepod up -f {dir}/host.yaml',
        'barepod pod create {pod:own} --network none',
        'barepod run --pod {pod:own} --name box -- sleep 3600',
        'barepod spec {pod:host} box | grep -A12 \'"namespaces"\'',
        'readlink /proc/$$/ns/net /proc/{pid:host/box}/ns/net /proc/{pid:own/box}/ns/net',
        'barepod ns {pod:host}',
      ],
      look: 'no network, pid or ipc entry in host\'s namespaces list; your shell\'s net link and host/box\'s are one number, own/box\'s another; barepod ns says host for net, ipc and pid.',
      claims: [
        ...HOST_NS.map((t) => ({
          says: `the hostNetwork/PID/IPC pod's container is in the host's ${t} namespace (the same inode as barepod's own process); the normal pod's is not`,
          holds: async (ctx: LabContext) => {
            const host = namespaceInode(process.pid, t);
            const a = namespaceInode(await ctx.pid('host/box'), t);
            const b = namespaceInode(await ctx.pid('own/box'), t);
            return a === host && b !== host ? true : `host ${host}, host pod ${a}, normal pod ${b}`;
          },
        })),
        {
          says: 'it keeps a UTS namespace of its own: its hostname is the pod\'s, not the host\'s',
          holds: async (ctx) => {
            const name = (await outputIn(ctx, 'host', 'hostname'))?.trim();
            const uts = differ('uts inode of the container and of the host', namespaceInode(await ctx.pid('host/box'), 'uts'), namespaceInode(process.pid, 'uts'));
            return uts === true ? same('hostname inside', name, ctx.pod('host')) : uts;
          },
        },
      ],
    },
    {
      title: 'hostNetwork: the host\'s interfaces',
      say: 'A container in the host\'s network namespace has the host\'s interfaces, addresses, routes and ports: whatever it binds, it binds on the host, and it can reach every service the host listens on, 127.0.0.1 included. The normal pod (--network none) has only its own lo.',
      run: ['ip route show default', 'barepod exec {pod:host} box -- ip link', 'barepod exec {pod:own} box -- ip link'],
      look: 'the host pod lists the host\'s interfaces (the one of the default route too); the normal pod only lo.',
      claims: [
        {
          says: 'the host pod\'s container sees the host\'s default-route interface; the normal pod sees only lo',
          holds: async (ctx) => {
            const iface = hostInterface();
            const inHost = interfacesIn((await outputIn(ctx, 'host', 'cat /proc/net/dev')) ?? '');
            const inOwn = interfacesIn((await outputIn(ctx, 'own', 'cat /proc/net/dev')) ?? '');
            return iface && inHost.includes(iface) && inOwn.join() === 'lo' ? true : `host interface ${String(iface)}; host pod: ${inHost.join(', ')}; normal pod: ${inOwn.join(', ')}`;
          },
        },
      ],
    },
    {
      title: 'hostPID: every process of the host',
      say: 'Start a sleep on the host and look for it from both pods. In the host\'s pid namespace, the container sees every process of the host, under the same pid numbers, with their arguments (and, as root, their environment and files via /proc/<pid>/root); it could signal them. Its own process is not PID 1 there. The normal pod sees only its own processes.',
      run: [
        'sleep 300 >/dev/null 2>&1 & echo $! > {dir}/sleep.pid; cat {dir}/sleep.pid',
        'barepod exec {pod:host} box -- ps | head -4',
        "barepod exec {pod:host} box -- cat /proc/$(cat {dir}/sleep.pid)/cmdline | tr '\\0' ' '; echo",
        { cmd: 'barepod exec {pod:own} box -- cat /proc/$(cat {dir}/sleep.pid)/cmdline', mayFail: true },
        'barepod exec {pod:own} box -- ps',
      ],
      look: 'inside the host pod, PID 1 is the host\'s init and your sleep has the pid your shell printed; the normal pod has no such pid and lists only its sleep 3600 (PID 1) and ps.',
      claims: [
        {
          says: 'the host pod\'s container sees the host\'s sleep 300 under the same pid; the normal pod has no such process',
          holds: async (ctx) => {
            const pid = markerPid(ctx);
            if (!pid) return 'the sleep\'s pid was not recorded';
            const inHost = (await outputIn(ctx, 'host', `cat /proc/${pid}/cmdline`))?.split('\0').filter(Boolean).join(' ');
            const inOwn = await outputIn(ctx, 'own', `cat /proc/${pid}/cmdline`);
            return inHost === 'sleep 300' && inOwn === undefined ? true : `host pod reads "${String(inHost)}", normal pod reads "${String(inOwn)}"`;
          },
        },
        {
          says: 'the host pod\'s process has its host pid inside too (it is not PID 1); the normal pod\'s is PID 1 of its own namespace',
          holds: async (ctx) => {
            const a = await ctx.pid('host/box');
            const b = await ctx.pid('own/box');
            return innermostPid(a) === a && innermostPid(b) === 1 ? true : `host pod: ${a} inside is ${String(innermostPid(a))}; normal pod: ${b} inside is ${String(innermostPid(b))}`;
          },
        },
      ],
    },
    {
      title: 'hostIPC: the host\'s shared memory',
      say: 'System V IPC objects (shared memory segments, semaphores, message queues) and POSIX message queues belong to an IPC namespace. Make a shared memory segment on the host with ipcmk; /proc/sysvipc/shm lists the segments of the reader\'s IPC namespace. POSIX shared memory (shm_open) is files in /dev/shm: barepod binds the host\'s /dev/shm into a hostIPC pod, as containerd does, and gives a normal pod one tmpfs of its own, shared by its containers.',
      run: [
        'ipcmk -M 4096 | tee {dir}/shm.out',
        'echo "from the host" > /dev/shm/{pod:host}.txt',
        'barepod exec {pod:host} box -- cat /proc/sysvipc/shm',
        'barepod exec {pod:own} box -- cat /proc/sysvipc/shm',
        'barepod exec {pod:host} box -- ls /dev/shm',
        'barepod exec {pod:own} box -- ls /dev/shm',
      ],
      look: 'the host pod lists the segment ipcmk made (its shmid) and the file; the normal pod lists neither.',
      claims: [
        {
          says: 'the segment made on the host is listed in the host pod\'s /proc/sysvipc/shm, not in the normal pod\'s',
          holds: async (ctx) => {
            const id = segmentId(ctx);
            if (id === undefined) return 'ipcmk made no segment';
            const inHost = shmIds((await outputIn(ctx, 'host', 'cat /proc/sysvipc/shm')) ?? '');
            const inOwn = shmIds((await outputIn(ctx, 'own', 'cat /proc/sysvipc/shm')) ?? '');
            return inHost.includes(id) && !inOwn.includes(id) ? true : `segment ${id}; host pod lists ${inHost.join(', ') || 'none'}; normal pod ${inOwn.join(', ') || 'none'}`;
          },
        },
        {
          says: 'the host\'s /dev/shm file is in the host pod\'s /dev/shm, not in the normal pod\'s',
          holds: async (ctx) => {
            const inHost = await outputIn(ctx, 'host', `cat ${shmFile(ctx)}`);
            const inOwn = await outputIn(ctx, 'own', `cat ${shmFile(ctx)}`);
            return inHost === 'from the host\n' && inOwn === undefined ? true : `host pod reads ${JSON.stringify(inHost)}, normal pod ${JSON.stringify(inOwn)}`;
          },
        },
      ],
    },
  ],
};
