import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker from a sibling module of `parentUrl`. Compiled code loads the
 * `.js` file. When running from TypeScript sources (vitest, tsx) the `.ts`
 * file is loaded through tsx's loader, registered inside the worker because
 * Node 20 does not pass loader hooks on to workers; tests therefore exercise
 * the same worker code as production.
 */
export function startWorker(parentUrl: string, moduleBaseName: string, options: WorkerOptions = {}): Worker {
  if (!parentUrl.endsWith('.ts')) {
    return new Worker(new URL(`./${moduleBaseName}.js`, parentUrl), options);
  }
  const source = new URL(`./${moduleBaseName}.ts`, parentUrl).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
