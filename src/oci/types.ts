/** The parts of the OCI runtime spec (1.0.2, what runc 1.1 reads) that barepod writes. */
import type { LinuxSeccomp } from './seccomp.js';

export type NamespaceType = 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'cgroup' | 'user';

export interface LinuxNamespace {
  type: NamespaceType;
  path?: string;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface LinuxCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface Process {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: LinuxCapabilities;
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
}

export interface LinuxDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

/** A device node runc creates in the container (linux.devices): the host node's type and numbers, made at `path`. */
export interface LinuxDevice {
  path: string;
  /** c (character) or b (block) */
  type: 'c' | 'b';
  major: number;
  minor: number;
  /** permission bits of the node (the host node's) */
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: { limit?: number; swap?: number; reservation?: number };
  cpu?: { shares?: number; quota?: number; period?: number };
  pids?: { limit: number };
}

export interface Spec {
  ociVersion: string;
  process: Process;
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: Mount[];
  annotations?: Record<string, string>;
  linux: {
    namespaces: LinuxNamespace[];
    cgroupsPath?: string;
    devices?: LinuxDevice[];
    resources?: LinuxResources;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: LinuxSeccomp;
  };
}
