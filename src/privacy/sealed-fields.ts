import { Schema } from 'mongoose';
import { openText, type FieldCrypto } from './field-crypto';

/**
 * Free-text fields of an attempt's answers that are encrypted at rest: the coach's reflection `text`, the
 * faculty comments next to a rating (`comment`, `facultyComment`, and `secondComment` of a second rater,
 * kept beside `secondRating` so every sealed field is a top-level answer field), and observation
 * `narrative`s (future). Everything else (levels,
 * choices, scores) stays in the clear: statistics never need the text.
 */
export const sealedAnswerFields = ['text', 'comment', 'facultyComment', 'secondComment', 'narrative'] as const;

/** The answer with its sealed fields opened (legacy plaintext as is); absent fields stay absent. */
export function openAnswer<T extends object>(answer: T, crypto: FieldCrypto | undefined): T {
  const copy = { ...answer } as Record<string, unknown>;
  for (const field of sealedAnswerFields) {
    if (field in copy) {
      const text = copy[field] === null ? undefined : openText(crypto, copy[field]);
      if (text === undefined) delete copy[field];
      else copy[field] = text;
    }
  }
  return copy as T;
}

/**
 * The schema type of a sealed field: a setter encrypts plain strings on every write through the model
 * (documents, $set by path, $push of whole answers), so no caller can store the text in the clear.
 */
export function sealedText(crypto: FieldCrypto | undefined): { type: typeof Schema.Types.Mixed; set: (v: unknown) => unknown } {
  return { type: Schema.Types.Mixed, set: (v: unknown) => (crypto && typeof v === 'string' ? crypto.encrypt(v) : v) };
}
