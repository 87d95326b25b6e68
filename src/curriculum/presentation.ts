import { createHash } from 'node:crypto';
import type { McqItem } from './content-schema';

/**
 * How a scenario question is presented in one attempt: which form (the original or a parallel variant) and in
 * which order its options appear. Pure; the order is derived from the attempt and item ids, so a reload shows
 * the same order without storing it, and the order actually shown is recorded with the answer.
 */

/** The form of an item: the original (variantId undefined) or one of its variants. */
export interface ServedForm {
  variantId: string | undefined;
  stem: string;
  options: McqItem['options'];
}

export function formOf(item: McqItem, variantId: string | undefined): ServedForm {
  const variant = variantId ? item.variants?.find((v) => v.id === variantId) : undefined;
  return variant
    ? { variantId: variant.id, stem: variant.stem, options: variant.options }
    : { variantId: undefined, stem: item.stem, options: item.options };
}

/** Every form of an item, original first. */
export function formIds(item: McqItem): (string | undefined)[] {
  return [undefined, ...(item.variants ?? []).map((v) => v.id)];
}

/**
 * The form for a new attempt: one the coach has not been served before (original first, then v1, v2, …); when
 * every form has been seen, the least served one (ties: the one served longest ago).
 */
export function chooseForm(item: McqItem, previouslyServed: readonly (string | undefined)[]): string | undefined {
  // Indexes, not ids: Array.prototype.sort moves undefined (the original form) to the end whatever the comparator.
  const ids = formIds(item);
  const count = (id: string | undefined): number => previouslyServed.filter((s) => s === id).length;
  const lastSeen = (id: string | undefined): number => previouslyServed.lastIndexOf(id);
  const order = ids.map((_, i) => i).sort((a, b) => count(ids[a]) - count(ids[b]) || lastSeen(ids[a]) - lastSeen(ids[b]) || a - b);
  return ids[order[0] ?? 0];
}

/** Fisher–Yates driven by SHA-256 of (attempt id, item id, form): the same inputs always give the same order. */
export function displayOrder(attemptId: string, itemId: string, variantId: string | undefined, optionIds: readonly string[]): string[] {
  const out = [...optionIds];
  let block = createHash('sha256')
    .update(`${attemptId}|${itemId}|${variantId ?? 'original'}`)
    .digest();
  let offset = 0;
  const next = (): number => {
    if (offset + 4 > block.length) {
      block = createHash('sha256').update(block).digest();
      offset = 0;
    }
    const value = block.readUInt32BE(offset);
    offset += 4;
    return value;
  };
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = next() % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
