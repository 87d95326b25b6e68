import fc from 'fast-check';
import type { McqItem } from './content-schema';
import { chooseForm, displayOrder, formOf } from './presentation';

const opt = (id: string, correct: boolean) => ({ id, text: `option ${id}`, correct, feedback: 'f' });
const item: McqItem = {
  id: 'M01.Q1',
  kind: 'mcq',
  section: 's1',
  objectives: ['M01.O1'],
  multiple: false,
  stem: 'original stem',
  options: [opt('a', true), opt('b', false), opt('c', false), opt('d', false)],
  variants: [
    { id: 'v1', stem: 'first variant', options: [opt('a', false), opt('b', true), opt('c', false)] },
    { id: 'v2', stem: 'second variant', options: [opt('a', false), opt('b', false), opt('c', true)] },
  ],
};

describe('parallel forms', () => {
  test('when a coach has seen no form, then the original is served; each retake serves one not seen before', () => {
    expect(chooseForm(item, [])).toBeUndefined();
    expect(chooseForm(item, [undefined])).toBe('v1');
    expect(chooseForm(item, [undefined, 'v1'])).toBe('v2');
  });

  test('when every form has been seen, then the least served one comes back, the one seen longest ago first', () => {
    expect(chooseForm(item, [undefined, 'v1', 'v2'])).toBeUndefined();
    expect(chooseForm(item, ['v2', undefined, 'v1', 'v2', undefined])).toBe('v1');
  });

  test('when a form is looked up, then its stem and options are those of the variant (or the original)', () => {
    expect(formOf(item, 'v2').stem).toBe('second variant');
    expect(formOf(item, undefined).options).toHaveLength(4);
    expect(formOf(item, 'v9').stem).toBe('original stem');
  });
});

describe('display order', () => {
  test('the order is a permutation of the options and the same for the same attempt, item and form', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 24 }), fc.integer({ min: 2, max: 8 }), (attemptId, n) => {
        const ids = 'abcdefgh'.slice(0, n).split('');
        const order = displayOrder(attemptId, 'M01.Q1', undefined, ids);
        expect([...order].sort()).toEqual(ids);
        expect(displayOrder(attemptId, 'M01.Q1', undefined, ids)).toEqual(order);
      }),
    );
  });

  test('when attempts differ, then the key lands in every position about equally often (no position cue)', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i += 1) {
      const order = displayOrder(i.toString(16).padStart(24, '0'), 'M01.Q1', undefined, ['a', 'b', 'c', 'd']);
      counts[order.indexOf('a')]! += 1;
    }
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120);
  });
});
