import type { Lab } from './lab.js';
import { lab1 } from './lab1-anatomy.js';
import { lab2 } from './lab2-network.js';
import { lab3 } from './lab3-pid-sharing.js';
import { lab4 } from './lab4-pause.js';
import { lab5 } from './lab5-processes.js';
import { lab6 } from './lab6-cgroups.js';
import { lab7 } from './lab7-host-namespaces.js';

/** Every lab, in order. */
export const LABS: Lab[] = [lab1, lab2, lab3, lab4, lab5, lab6, lab7];

/** The lab with this number, or undefined. */
export function findLab(id: number): Lab | undefined {
  return LABS.find((l) => l.id === id);
}
