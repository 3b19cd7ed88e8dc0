import fc from 'fast-check';

/** Copies of `good` with 1 to `maxEdits` bytes overwritten by arbitrary values (fuzzing decoders and checks). */
export function mutatedCopies(good: Uint8Array, maxEdits: number): fc.Arbitrary<Uint8Array> {
  return fc
    .array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: maxEdits,
    })
    .map((edits) => {
      const raw = good.slice();
      for (const [i, value] of edits) raw[i] = value;
      return raw;
    });
}
