import { effectiveAssignments } from './assignments';

describe('module assignments', () => {
  test('when faculty chose nothing, then deep-linked modules are required and the rest optional; a stored choice wins', () => {
    const linked = new Set(['M02']);
    expect(effectiveAssignments(['M01', 'M02'], linked, undefined).map((a) => a.required)).toEqual([false, true]);
    const due = new Date('2026-12-01T23:59:59Z');
    const stored = [
      { moduleId: 'M02', required: false, dueAt: undefined },
      { moduleId: 'M01', required: true, dueAt: due },
    ];
    expect(effectiveAssignments(['M01', 'M02'], linked, stored)).toEqual([
      { moduleId: 'M01', required: true, dueAt: due },
      { moduleId: 'M02', required: false, dueAt: undefined },
    ]);
  });
});
