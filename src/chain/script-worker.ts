/**
 * Worker thread of ScriptVerifier: receives one packed chunk of input checks
 * at a time (a transferred ArrayBuffer) and answers whether all of them verify.
 */
import { parentPort } from 'node:worker_threads';
import { verifyPacked, type ScriptWorkerReply } from './script-verifier.js';

const port = parentPort;
if (!port) throw new Error('script-worker must run in a worker thread');

port.on('message', (buf: ArrayBuffer) => {
  let reply: ScriptWorkerReply;
  try {
    reply = { ok: verifyPacked(new Uint8Array(buf)) };
  } catch (err) {
    reply = { error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
