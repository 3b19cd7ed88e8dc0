import { ValidationError } from '../../src/core/index.js';

/** The reject code of the ValidationError `fn` throws; undefined if it returns. Any other error propagates. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.code;
    throw err;
  }
  return undefined;
}

/** The reject code of the ValidationError `p` rejects with; that it resolves, or any other error, fails. */
export async function rejectCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ValidationError) return err.code;
    throw err;
  }
  throw new Error('expected a rejection with a ValidationError');
}
