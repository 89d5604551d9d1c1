import fs from 'node:fs';
import { identify, isAlive } from '../runtime/procfs.js';
import { differ, psMember, same, type Lab, type LabContext } from './lab.js';
import { liveTree } from './probes.js';

/** The host pids of the live httpd processes of a container (its process and everything it started). */
async function httpdPids(ctx: LabContext, ref: string): Promise<number[]> {
  return liveTree(await ctx.pid(ref))
    .filter((p) => p.comm === 'httpd')
    .map((p) => p.pid);
}

/** What `wget` gets from a URL inside a container, or undefined when nothing answers. */
async function fetchIn(ctx: LabContext, pod: string, container: string, url: string): Promise<string | undefined> {
  const r = await ctx.sh(`barepod exec ${ctx.pod(pod)} ${container} -- wget -qO- ${url}`);
  return r.code === 0 ? r.stdout : undefined;
}

const NAIVE = `sh -c 'mkdir -p /www; echo "hello from httpd" > /www/index.html; httpd -f -p 8080 -h /www & while :; do sleep 1; done'`;
const SUPERVISED = `sh -c 'mkdir -p /www; echo "hello from the supervised httpd" > /www/index.html; while :; do httpd -f -p 8081 -h /www; echo "supervisor: httpd exited ($?), starting it again"; sleep 0.2; done'`;
const WEB = `sh -c 'mkdir -p /www; echo "hello from web" > /www/index.html; exec httpd -f -p 8080 -h /www'`;
const CLIENT = `sh -c 'while :; do wget -qO- 127.0.0.1:8080/index.html || echo "web is not answering"; sleep 1; done'`;

/** The sidecar pod of the last step: a writer fills an emptyDir that web serves on the pod's 127.0.0.1. */
const SIDECAR_YAML = `apiVersion: v1
kind: Pod
metadata:
  name: {pod:sidecar}
  annotations:
    barepod.io/network: none
spec:
  restartPolicy: Always
  volumes:
    - name: html
      emptyDir: {}
  containers:
    - name: web
      image: busybox
      imagePullPolicy: Never
      command: ["httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/html"]
      volumeMounts:
        - {name: html, mountPath: /html, readOnly: true}
    - name: writer
      image: busybox
      imagePullPolicy: Never
      command: ["sh", "-c"]
      args:
        - |
          n=0
          while :; do
            n=$((n+1))
            echo "page $n from the writer" > /data/index.tmp
            mv /data/index.tmp /data/index.html
            sleep 1
          done
      volumeMounts:
        - {name: html, mountPath: /data}
`;

/** Lab 5 (seed 002): several processes in one container go unwatched; a pod runs one per container, each restarted on its own. */
export const lab5: Lab = {
  id: 5,
  page: '05-processes.md',
  title: 'Many processes: one container or one pod',
  seeds: ['002'],
  summary:
    'Two processes started by one shell: kill one and nobody notices. A supervisor loop restarts it, but barepod never knows. The pod way runs one process per container, each restarted by its own policy, and a sidecar shares files through an emptyDir and talks over the pod\'s 127.0.0.1.',
  pods: ['multi', 'split', 'sidecar'],
  steps: [
    {
      title: 'Two processes in one container, the naive way',
      say: 'A shell starts httpd in the background and then loops in the foreground, like the seed\'s `tail -f /dev/null & sleep infinity`. The container\'s process is the shell; httpd is just its child.',
      run: ['barepod pod create {pod:multi} --network none', `barepod run --pod {pod:multi} --name naive -- ${NAIVE}`, 'barepod exec {pod:multi} naive -- ps', 'barepod top {pod:multi}'],
      look: 'PID 1 is the shell, httpd and sleep are its children; top shows them with their host pids (POD PID is the pid inside).',
      claims: [
        {
          says: 'httpd runs as a child of the container\'s shell and answers on the pod\'s 127.0.0.1:8080',
          holds: async (ctx) => {
            const pids = await ctx.until(async () => {
              const p = await httpdPids(ctx, 'multi/naive');
              return p.length > 0 && p;
            }, 'httpd to start in the naive container');
            ctx.vars.naiveHttpd = pids[0];
            ctx.vars.naiveShell = await ctx.pid('multi/naive');
            const page = await ctx.until(() => fetchIn(ctx, 'multi', 'naive', '127.0.0.1:8080/index.html'), 'httpd to answer');
            return same('the page', page.trim(), 'hello from httpd');
          },
        },
      ],
    },
    {
      title: 'Kill httpd: nobody notices',
      say: 'httpd dies, but the container\'s process (the shell) goes on looping, so for barepod (and for Kubernetes) the container is fine: Running, no restart. The service is simply gone.',
      run: ['barepod exec {pod:multi} naive -- killall httpd', 'barepod exec {pod:multi} naive -- ps', 'barepod ps {pod:multi}', { cmd: 'barepod exec {pod:multi} naive -- wget -qO- 127.0.0.1:8080/index.html', mayFail: true }],
      look: 'no httpd in ps; STATUS still Running, RESTARTS 0; wget: connection refused.',
      claims: [
        {
          says: 'httpd is gone from the container: no live httpd process is left under its shell',
          holds: async (ctx) => {
            await ctx.until(async () => (await httpdPids(ctx, 'multi/naive')).length === 0, 'httpd to die');
            return isAlive(identify(ctx.vars.naiveHttpd as number)) ? `httpd ${String(ctx.vars.naiveHttpd)} still runs` : true;
          },
        },
        {
          says: 'barepod still sees a healthy container: Running, restarts 0, the same shell',
          holds: async (ctx) => {
            const m = await psMember(ctx, 'multi', 'naive');
            return m.status === 'Running' && m.restarts === 0 && m.pid === ctx.vars.naiveShell ? true : `status ${m.status}, restarts ${m.restarts}, pid ${m.pid} (shell ${String(ctx.vars.naiveShell)})`;
          },
        },
        {
          says: 'and nothing answers on 127.0.0.1:8080 any more',
          holds: async (ctx) => {
            const page = await fetchIn(ctx, 'multi', 'naive', '127.0.0.1:8080/index.html');
            return page === undefined ? true : `it answered: ${page.trim()}`;
          },
        },
      ],
    },
    {
      title: 'A supervisor inside the container',
      say: 'The seed\'s fix is supervisord with autorestart. A shell loop is the smallest supervisor: run httpd, and when it exits, say so and run it again.',
      run: [`barepod run --pod {pod:multi} --name super -- ${SUPERVISED}`, 'barepod exec {pod:multi} super -- ps'],
      look: 'PID 1 is the supervising shell, httpd its child.',
      claims: [
        {
          says: 'httpd runs as a child of the supervising shell',
          holds: async (ctx): Promise<true> => {
            ctx.vars.superHttpd = await ctx.until(async () => (await httpdPids(ctx, 'multi/super'))[0], 'the supervised httpd to start');
            return true;
          },
        },
      ],
    },
    {
      title: 'Kill the supervised httpd: it comes back',
      say: 'Kill httpd again: the loop notices (its foreground command returned), logs it and starts a new httpd, with a new pid. barepod, which watches only the container\'s process (the shell), sees nothing at all.',
      run: ['barepod exec {pod:multi} super -- sh -c \'killall httpd; sleep 1; ps\'', 'barepod logs {pod:multi} super', 'barepod ps {pod:multi}'],
      look: 'httpd has another PID after the kill; the log says the supervisor restarted it; barepod\'s RESTARTS is still 0.',
      claims: [
        {
          says: 'a killed httpd comes back: a new httpd with another pid, started by the same shell',
          holds: async (ctx) => {
            const after = await ctx.until(async () => (await httpdPids(ctx, 'multi/super')).find((p) => p !== ctx.vars.superHttpd), 'a new httpd');
            return isAlive(identify(ctx.vars.superHttpd as number)) ? `the old httpd ${String(ctx.vars.superHttpd)} still runs` : differ('httpd pid before and after the kill', ctx.vars.superHttpd, after);
          },
        },
        {
          says: 'it serves again on 127.0.0.1:8081',
          holds: async (ctx) => {
            const page = await ctx.until(() => fetchIn(ctx, 'multi', 'super', '127.0.0.1:8081/index.html'), 'the supervised httpd to answer');
            return same('the page', page.trim(), 'hello from the supervised httpd');
          },
        },
        {
          says: 'but barepod saw none of it: Running, restarts 0 (only the supervisor\'s own log tells)',
          holds: async (ctx) => {
            const m = await psMember(ctx, 'multi', 'super');
            const log = (await ctx.sh(`barepod logs ${ctx.pod('multi')} super`)).stdout;
            return m.restarts === 0 && m.status === 'Running' && log.includes('supervisor: httpd exited') ? true : `status ${m.status}, restarts ${m.restarts}, log: ${log.trim()}`;
          },
        },
      ],
    },
    {
      title: 'The pod way: one process per container',
      say: 'Each process gets its own container in one pod, and barepod watches each: `--restart always` with a short `--backoff` (Kubernetes starts at 10 s). web is httpd alone (`exec` makes it the container\'s process); client fetches its page over the pod\'s shared 127.0.0.1 once a second.',
      run: [
        'barepod pod create {pod:split} --network none --restart always --backoff 500ms',
        `barepod run --pod {pod:split} --name web -- ${WEB}`,
        `barepod run --pod {pod:split} --name client -- ${CLIENT}`,
        'barepod ps {pod:split}',
      ],
      look: 'two containers, each with its own PID, RESTARTS 0.',
      claims: [
        {
          says: 'client gets web\'s page over the pod\'s 127.0.0.1',
          holds: async (ctx): Promise<true> => {
            ctx.vars.splitPause = await ctx.pid('split');
            ctx.vars.webPid = await ctx.pid('split/web');
            ctx.vars.clientPid = await ctx.pid('split/client');
            await ctx.until(async () => (await ctx.sh(`barepod logs ${ctx.pod('split')} client`)).stdout.includes('hello from web'), 'client to log web\'s page');
            return true;
          },
        },
      ],
    },
    {
      title: 'Kill web: only web restarts',
      say: 'Kill web\'s process from the host. (SIGKILL: httpd is PID 1 of its pid namespace and has no SIGTERM handler, and the kernel drops signals PID 1 does not handle; SIGKILL from outside always works.) conmon sees the exit, barepod\'s exit handler applies web\'s restart policy and starts a new web in the same sandbox. client and the pause are not touched.',
      run: [
        'kill -KILL {pid:split/web}',
        'barepod wait {pod:split} --for ready --timeout 20s',
        'barepod ps {pod:split}',
        'barepod events {pod:split} --since 1m',
      ],
      look: 'web: a new PID, RESTARTS 1, LAST EXIT Error (137); client: the same PID, RESTARTS 0; events: died, backoff, restarted.',
      claims: [
        {
          says: 'web was restarted by its policy: restarts 1, running with a new pid',
          holds: async (ctx) => {
            const m = await ctx.until(async () => {
              const w = await psMember(ctx, 'split', 'web');
              return w.restarts >= 1 && w.status === 'Running' && w.pid !== null && w;
            }, 'web to be restarted', 30_000);
            return m.pid !== ctx.vars.webPid ? true : `web still has pid ${m.pid}`;
          },
        },
        {
          says: 'client was left alone: the same process, restarts 0; the pause too',
          holds: async (ctx) => {
            const c = await psMember(ctx, 'split', 'client');
            const pause = await ctx.pid('split');
            return c.pid === ctx.vars.clientPid && c.restarts === 0 && pause === ctx.vars.splitPause
              ? true
              : `client pid ${c.pid} (was ${String(ctx.vars.clientPid)}), restarts ${c.restarts}; pause ${pause} (was ${String(ctx.vars.splitPause)})`;
          },
        },
        {
          says: 'the new web answers client on 127.0.0.1 again',
          holds: async (ctx) => {
            const page = await ctx.until(() => fetchIn(ctx, 'split', 'client', '127.0.0.1:8080/index.html'), 'the new web to answer');
            return same('the page', page.trim(), 'hello from web');
          },
        },
      ],
    },
    {
      title: 'A sidecar fills a shared volume',
      say: 'The seed\'s sidecar pattern: a downloader fills a volume that the web server serves. In a manifest, an `emptyDir` volume is one directory per pod that each container mounts where it likes: writer writes /data/index.html once a second, web serves /html read-only. (No internet here: the writer makes its pages itself.)',
      run: [
        `cat > {dir}/pod.yaml <<'EOF'\n${SIDECAR_YAML}EOF`,
        'barepod up -f {dir}/pod.yaml --wait --timeout 30s',
        { cmd: 'barepod exec {pod:sidecar} writer -- cat /data/index.html', retrySeconds: 20 },
        { cmd: 'barepod exec {pod:sidecar} writer -- wget -qO- 127.0.0.1:8080/index.html', retrySeconds: 20 },
        'ls -l /proc/{pid:sidecar/web}/root/html/ /proc/{pid:sidecar/writer}/root/data/',
      ],
      look: 'the page web serves is the file writer wrote; the two directories list the same file.',
      claims: [
        {
          says: 'web\'s /html and writer\'s /data are one directory (same device and inode, seen through /proc/<pid>/root)',
          holds: async (ctx) => {
            const a = fs.statSync(`/proc/${await ctx.pid('sidecar/web')}/root/html`);
            const b = fs.statSync(`/proc/${await ctx.pid('sidecar/writer')}/root/data`);
            return a.dev === b.dev && a.ino === b.ino ? true : `web /html ${a.dev}:${a.ino}, writer /data ${b.dev}:${b.ino}`;
          },
        },
        {
          says: 'the page served on the pod\'s 127.0.0.1:8080 is the writer\'s',
          holds: async (ctx) => {
            const page = await ctx.until(() => fetchIn(ctx, 'sidecar', 'writer', '127.0.0.1:8080/index.html'), 'web to serve the page');
            return /^page \d+ from the writer$/.test(page.trim()) ? true : `got "${page.trim()}"`;
          },
        },
        {
          says: 'web cannot write it: its mount is read-only',
          holds: async (ctx) => {
            const r = await ctx.sh(`barepod exec ${ctx.pod('sidecar')} web -- touch /html/x`);
            return r.code !== 0 && /Read-only/.test(r.stderr + r.stdout) ? true : `touch exited ${r.code}: ${(r.stderr + r.stdout).trim()}`;
          },
        },
      ],
    },
  ],
};
