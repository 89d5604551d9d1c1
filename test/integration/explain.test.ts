/**
 * --explain on real runc/conmon/CNI: what it narrates is what happened (the
 * namespace paths it shows for a container are the live pause's, and the
 * config.json it names says the same), it goes to stderr only (stdout is
 * byte-for-byte what it is without the flag), and without the flag nothing
 * of it is printed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { cgroupVersion, CLI, inspect, nsInode, pidOf, run, skipReason, test, type TestEnv } from '../helpers/harness.js';

/** On cgroup v2 every member, the pause included, also gets a cgroup namespace of its own (runc makes one); v1 has none. */
const newCgroupNs: Record<string, string> = cgroupVersion === 2 ? { cgroup: 'new' } : {};
const pauseNamespaces = cgroupVersion === 2 ? 'pid, net, ipc, uts, mnt, cgroup' : 'pid, net, ipc, uts, mnt';

/** A v1/Pod of two busybox containers (never pulled) in the test's root. */
function twoContainers(t: TestEnv, name: string): string {
  const file = path.join(t.root, `${name}.yaml`);
  const container = (c: string) => `    - name: ${c}\n      image: busybox\n      imagePullPolicy: Never\n      command: [sleep, "3600"]\n`;
  fs.writeFileSync(
    file,
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  terminationGracePeriodSeconds: 5\n  containers:\n${container('app')}${container('side')}`,
  );
  return file;
}

/** The lines of step "N. <title starting with `prefix`>" up to the next numbered step. */
function section(stderr: string, prefix: string): string[] {
  const lines = stderr.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^\\d+\\. ${prefix}`).test(l));
  if (start < 0) throw new Error(`no step "${prefix}" in:\n${stderr}`);
  const end = lines.findIndex((l, i) => i > start && /^\d+\. /.test(l));
  return lines.slice(start, end < 0 ? undefined : end);
}

/** The narrated linux.namespaces of a step: type → the path it joins, or 'new'. */
function narratedNamespaces(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines) {
    const m = /^\s+(network|ipc|uts|pid|mount|cgroup)\s+(?:join (\S+)|(new))$/.exec(l);
    if (m) out[m[1]!] = m[2] ?? m[3]!;
  }
  return out;
}

const stepNumbers = (stderr: string) => [...stderr.matchAll(/^(\d+)\. /gm)].map((m) => Number(m[1]));

describe.skipIf(skipReason)('--explain', () => {
  test("up narrates the sandbox, CNI, and each container joining the real pause's namespaces; stdout is unchanged", async ({ t }) => {
    const pod = t.pod('explain');
    const file = twoContainers(t, pod);
    const plan = JSON.parse(await t.ok(['up', '-f', file, '--dry-run', '--json'])) as { steps: string[] }[];
    const r = await t.bp(['up', '-f', file, '--explain', '--json']);
    expect(r.code, r.stderr).toBe(0);
    // the dry run announced the very steps --explain then narrates, in order
    const titles = [...r.stderr.matchAll(/^\d+\. (.*)$/gm)].map((m) => m[1]);
    expect(titles.filter((x) => plan[0]!.steps.includes(x!))).toEqual(plan[0]!.steps);
    expect(JSON.parse(r.stdout)).toMatchObject([{ pod, outcome: 'created' }]);
    const pausePid = (await inspect(t, pod)).sandbox.pid;

    // steps numbered 1, 2, 3, … in order
    const numbers = stepNumbers(r.stderr);
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    expect(section(r.stderr, `Sandbox: start pause in new ${pauseNamespaces} namespaces`).join('\n')).toContain(`→ started: pid ${pausePid} now runs pause`);

    // CNI ADD of every plugin of the default network, in the pod's pinned netns
    const network = section(r.stderr, 'Network: CNI ADD barepod').join('\n');
    expect(network).toContain(`$ mount --bind /proc/${pausePid}/ns/net ${t.root}/pods/${pod}/netns`);
    for (const plugin of ['bridge', 'portmap', 'firewall']) {
      expect(network).toMatch(
        new RegExp(
          `\\$ CNI_COMMAND=ADD CNI_CONTAINERID=\\S+-${pod} CNI_NETNS=${t.root}/pods/${pod}/netns CNI_IFNAME=eth0 \\S+/${plugin} < \\(plugin type ${plugin}`,
        ),
      );
    }

    for (const name of ['app', 'side']) {
      const lines = section(r.stderr, `Container ${name}:`);
      const text = lines.join('\n');
      // conmon, and the runc create it runs, for this container
      expect(text).toMatch(new RegExp(`\\$ _OCI_SYNCPIPE=3 _OCI_STARTPIPE=4 \\S*conmon --api-version 1 -c ${pod}\\.${name} `));
      expect(text).toMatch(
        new RegExp(`conmon runs \\S*runc --root ${t.root}/runc create --bundle ${t.root}/pods/${pod}/containers/${name} --pid-file \\S+ ${pod}\\.${name},`),
      );
      expect(text).toMatch(new RegExp(`\\$ \\S*runc --root ${t.root}/runc start ${pod}\\.${name}$`, 'm'));

      // exactly the live pause's namespaces, by path; its own pid and mount namespaces
      const narrated = narratedNamespaces(lines);
      expect(narrated).toEqual({
        network: `/proc/${pausePid}/ns/net`,
        ipc: `/proc/${pausePid}/ns/ipc`,
        uts: `/proc/${pausePid}/ns/uts`,
        pid: 'new',
        mount: 'new',
        ...newCgroupNs,
      });
      // and that is what the container got, and what the config.json it names says
      const pid = await pidOf(t, pod, name);
      for (const ns of ['net', 'ipc', 'uts']) expect(nsInode(pid, ns)).toBe(nsInode(pausePid, ns));
      expect(nsInode(pid, 'pid')).not.toBe(nsInode(pausePid, 'pid'));
      const config = /^\s+wrote (\S+\/config\.json): /m.exec(text)?.[1];
      expect(config).toBe(`${t.root}/pods/${pod}/containers/${name}/config.json`);
      const spec = JSON.parse(fs.readFileSync(config!, 'utf8')) as { linux: { namespaces: { type: string; path?: string }[]; cgroupsPath: string } };
      expect(Object.fromEntries(spec.linux.namespaces.map((n) => [n.type, n.path ?? 'new']))).toEqual(narrated);
      expect(text).toContain(`linux.cgroupsPath: ${spec.linux.cgroupsPath}`);
    }

    // down narrates the signals, the runc deletes and the CNI DELs; its stdout is the usual one
    const down = await t.bp(['down', pod, '--explain']);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toBe(`pod/${pod} removed\n`);
    for (const name of ['app', 'side', '_pause']) {
      expect(down.stderr).toMatch(new RegExp(`\\$ \\S*runc --root ${t.root}/runc delete ${pod}\\.${name}$`, 'm'));
    }
    expect(down.stderr).toMatch(/^\s+kill -KILL \d+ /m); // sleep as PID 1 has no SIGTERM handler: straight to SIGKILL, and said why
    expect(down.stderr).toMatch(/^\s+kill -TERM \d+ /m); // the pause handles SIGTERM
    expect(down.stderr).toContain('CNI_COMMAND=DEL');
    expect(down.stderr).toContain(`$ umount ${t.root}/pods/${pod}/netns`);
    expect(down.stderr).toMatch(new RegExp(`^\\d+\\. Cgroups: remove /${t.cgroupRoot}/${pod} `, 'm'));
  });

  test('without --explain, stderr has none of it, and stdout is the same', async ({ t }) => {
    const pod = t.pod('quiet');
    const r = await t.bp(['up', '-f', twoContainers(t, pod), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject([{ pod, outcome: 'created' }]);
    expect(r.stderr).toBe('');
    const down = await t.bp(['down', pod]);
    expect(down.stdout).toBe(`pod/${pod} removed\n`);
    expect(down.stderr).toBe('');
  });

  test('a reader of the narration that goes away (| head -1) ends the narration, not the command: up and down still finish', async ({ t }) => {
    const pod = t.pod('headed');
    const file = twoContainers(t, pod);
    const up = await run('/bin/sh', ['-c', `"${CLI}" up -f "${file}" --explain 2>&1 | head -1`], t.env);
    expect(up.stdout).toMatch(/^1\. /);
    const v = await inspect(t, pod);
    expect(v.containers.map((c) => [c.name, c.state])).toEqual([
      ['app', 'running'],
      ['side', 'running'],
    ]);
    await run('/bin/sh', ['-c', `"${CLI}" down ${pod} --explain 2>&1 | head -1`], t.env);
    expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
  });

  test("pod create and run take --explain too: the pause's new namespaces, the container's joins, stdout JSON intact", async ({ t }) => {
    const pod = t.pod('cli');
    const created = await t.bp(['pod', 'create', pod, '--network', 'none', '--share', 'net,ipc,uts,pid', '--explain', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const rec = JSON.parse(created.stdout) as { sandbox: { pid: number } };
    const pause = rec.sandbox.pid;
    expect(narratedNamespaces(section(created.stderr, 'Sandbox:'))).toEqual({
      pid: 'new',
      network: 'new',
      ipc: 'new',
      uts: 'new',
      mount: 'new',
      ...newCgroupNs,
    });
    expect(created.stderr).toMatch(/^\d+\. Network: none/m);

    const run = await t.bp(['run', '--pod', pod, '--name', 'app', '--explain', '--json', '--', 'sleep', '3600']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { def: { name: string } }).def.name).toBe('app');
    const joined = narratedNamespaces(section(run.stderr, 'Container app:'));
    expect(joined).toEqual({
      network: `/proc/${pause}/ns/net`,
      ipc: `/proc/${pause}/ns/ipc`,
      uts: `/proc/${pause}/ns/uts`,
      pid: `/proc/${pause}/ns/pid`,
      mount: 'new',
      ...newCgroupNs,
    });
    expect(nsInode(await pidOf(t, pod, 'app'), 'pid')).toBe(nsInode(pause, 'pid'));

    const rm = await t.bp(['pod', 'rm', pod, '--explain']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toBe(`pod/${pod} removed\n`);
    // in a shared pid namespace a stop signals the whole cgroup through runc
    expect(rm.stderr).toMatch(new RegExp(`\\$ \\S*runc --root ${t.root}/runc kill --all ${pod}\\.app (TERM|KILL)$`, 'm'));
  });
});
