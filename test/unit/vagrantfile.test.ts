import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const vagrantfile = fs.readFileSync(path.join(repo, 'Vagrantfile'), 'utf8');
const hasVagrant = spawnSync('sh', ['-c', 'command -v vagrant'], { encoding: 'utf8' }).status === 0;

describe('the teaching VM', () => {
  it('is Debian 12 with 2 CPUs and 2 GiB, the repo at /barepod, provisioned by the setup script', () => {
    expect(vagrantfile).toMatch(/config\.vm\.box = "debian\/bookworm64"/);
    expect(vagrantfile.match(/\.cpus = 2/g)?.length).toBe(2);
    expect(vagrantfile.match(/\.memory = 2048/g)?.length).toBe(2);
    expect(vagrantfile).toMatch(/synced_folder "\.", "\/barepod"/);
    expect(vagrantfile).toMatch(/path: "scripts\/vagrant-provision"/);
    const provision = fs.readFileSync(path.join(repo, 'scripts/vagrant-provision'), 'utf8');
    expect(provision).toMatch(/"\$repo\/scripts\/setup"/);
    expect(spawnSync('bash', ['-n', path.join(repo, 'scripts/vagrant-provision')]).status).toBe(0);
  });

  // Debian's vagrant package is heavy (ruby, libvirt): setup does not install it; where it is installed, the file must validate
  it.skipIf(!hasVagrant)('passes `vagrant validate` (skipped where vagrant is not installed)', () => {
    const r = spawnSync('vagrant', ['validate'], { cwd: repo, encoding: 'utf8', env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' } });
    expect(r.stdout + r.stderr).toContain('Vagrantfile validated successfully');
    expect(r.status).toBe(0);
  });
});
