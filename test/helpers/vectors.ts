import { readFileSync } from 'node:fs';

/** Loads a JSON vector file from test/vectors (real data; each file names its source). */
export function loadVectors<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
}
