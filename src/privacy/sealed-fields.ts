import { Schema } from 'mongoose';
import { openText, type FieldCrypto } from './field-crypto';

/**
 * Free-text fields of an attempt's answers that are encrypted at rest: the coach's reflection `text`, a
 * faculty `comment` next to a rating, and observation `narrative`s (future). Everything else (levels,
 * choices, scores) stays in the clear: statistics never need the text.
 */
export const sealedAnswerFields = ['text', 'comment', 'narrative'] as const;

const fieldPath = new RegExp(`^answers(?:\\.\\d+)?\\.(?:${sealedAnswerFields.join('|')})$`);

function sealAnswer(value: unknown, crypto: FieldCrypto): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const answer = { ...(value as Record<string, unknown>) };
  for (const field of sealedAnswerFields) {
    if (typeof answer[field] === 'string') answer[field] = crypto.encrypt(answer[field]);
  }
  return answer;
}

/** Encrypts every plain string an update writes to a sealed answer field ($set by path, $push of answers). */
export function sealAttemptUpdate(update: Record<string, unknown>, crypto: FieldCrypto): void {
  for (const op of ['$set', '$setOnInsert']) {
    const fields = update[op] as Record<string, unknown> | undefined;
    if (!fields) continue;
    for (const [key, value] of Object.entries(fields)) {
      if (fieldPath.test(key) && typeof value === 'string') fields[key] = crypto.encrypt(value);
      else if (/^answers\.\d+$/.test(key)) fields[key] = sealAnswer(value, crypto);
      else if (key === 'answers' && Array.isArray(value)) fields[key] = value.map((a) => sealAnswer(a, crypto));
    }
  }
  const push = update.$push as Record<string, unknown> | undefined;
  if (push?.answers !== undefined) {
    const value = push.answers as { $each?: unknown[] };
    push.answers = Array.isArray(value.$each)
      ? { ...value, $each: value.$each.map((a) => sealAnswer(a, crypto)) }
      : sealAnswer(value, crypto);
  }
}

/** Registers the encryption on the attempts schema: every update and insert through the model is sealed. */
export function sealAttemptWrites(schema: Schema, crypto: FieldCrypto): void {
  const hook = function (this: { getUpdate(): unknown }) {
    const update = this.getUpdate();
    if (update && typeof update === 'object' && !Array.isArray(update)) sealAttemptUpdate(update as Record<string, unknown>, crypto);
  };
  schema.pre('updateOne', hook);
  schema.pre('updateMany', hook);
  schema.pre('findOneAndUpdate', hook);
  schema.pre('save', function () {
    const answers = (this as unknown as { answers?: Record<string, unknown>[] }).answers;
    if (!answers) return;
    for (const answer of answers) {
      for (const field of sealedAnswerFields) {
        const v = answer[field];
        if (typeof v === 'string') answer[field] = crypto.encrypt(v);
      }
    }
  });
}

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
