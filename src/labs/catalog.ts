import type { Lab } from './lab.js';
import { lab1 } from './lab1-anatomy.js';

/** Every lab, in order. */
export const LABS: Lab[] = [lab1];

/** The lab with this number, or undefined. */
export function findLab(id: number): Lab | undefined {
  return LABS.find((l) => l.id === id);
}
