import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { competencyIdsOf, loadFrameworkFile } from '../../src/competencies/framework-schema';
import { computeCoverage, coverageProblems, coverageRule } from '../../src/curriculum/coverage';
import { assessItemQuality } from '../../src/curriculum/item-quality';
import { ContentError, defaultContentDir, loadModules } from '../../src/curriculum/load-content';
import { fromRoot } from '../../src/shared/paths';

const framework = loadFrameworkFile();
const ids = competencyIdsOf(framework);

describe('curriculum content', () => {
  const modules = loadModules(ids);

  test('when the content files are loaded, then at least 8 valid modules of 20–40 minutes come back in order', () => {
    expect(modules.length).toBeGreaterThanOrEqual(8);
    expect(modules.map((m) => m.order)).toEqual([...modules.map((m) => m.order)].sort((a, b) => a - b));
    for (const m of modules) {
      expect(m.estimatedMinutes).toBeGreaterThanOrEqual(20);
      expect(m.estimatedMinutes).toBeLessThanOrEqual(40);
      expect(m.objectives.length).toBeGreaterThanOrEqual(3);
      expect(m.objectives.length).toBeLessThanOrEqual(6);
      expect(m.references.length).toBeGreaterThanOrEqual(1);
    }
  });

  test('when coverage is computed, then every competency has ≥3 weight-1 objectives and ≥6 items of ≥2 kinds on them', () => {
    const report = computeCoverage(modules, ids);
    expect(coverageProblems(report)).toEqual([]);
    for (const c of report.competencies) {
      expect(c.primary.objectives).toBeGreaterThanOrEqual(coverageRule.minPrimaryObjectives);
      expect(c.primary.items).toBeGreaterThanOrEqual(coverageRule.minPrimaryItems);
      expect(c.primary.itemKinds.length).toBeGreaterThanOrEqual(coverageRule.minPrimaryItemKinds);
      expect(c.primary.modules.length).toBeGreaterThanOrEqual(coverageRule.minPrimaryModules[c.id] ?? 1);
    }
    for (const id of ['C1.2', 'C2.3', 'C3.2', 'C3.3']) {
      expect(report.competencies.find((c) => c.id === id)?.primary.modules.length).toBeGreaterThanOrEqual(2);
    }
  });

  test('when a competency is taught only by secondary mappings, then coverage counts it apart and the rule fails', () => {
    const demoted = modules.map((m) => ({
      ...m,
      objectives: m.objectives.map((o) => ({
        ...o,
        competencies: o.competencies.map((c) => (c.id === 'C4.1' ? { ...c, weight: 0.5 } : c)),
      })),
    }));
    const c41 = computeCoverage(demoted, ids).competencies.find((c) => c.id === 'C4.1');
    expect(c41?.primary.objectives).toBe(0);
    expect(c41?.secondary.objectives).toBeGreaterThan(0);
    expect(coverageProblems(computeCoverage(demoted, ids))).toContain('C4.1: 0 weight-1 objectives (needs 3)');
  });

  test('when the item-quality gate runs on the shipped content, then it passes', () => {
    const report = assessItemQuality(modules);
    expect(report.problems).toEqual([]);
    expect(report.overall.keyLongestShare).toBeLessThanOrEqual(0.3);
  });

  test('when shipped content is seeded with cued items and unsafe prompts, then the gate fails', () => {
    const seeded = modules.map((m) => ({
      ...m,
      items: m.items.map((item) => {
        if (item.kind === 'reflection') return { ...item, prompt: 'Describe a learner you coach, with their name.' };
        if (item.multiple) return item;
        // Pad the key (of every form) so it becomes the longest option, the cue the gate exists to catch.
        const pad = (options: typeof item.options) => options.map((o) => (o.correct ? { ...o, text: `${o.text} ${'x'.repeat(400)}` } : o));
        return { ...item, options: pad(item.options), variants: item.variants?.map((v) => ({ ...v, options: pad(v.options) })) };
      }),
    }));
    const problems = assessItemQuality(seeded).problems;
    expect(problems.some((p) => p.startsWith('overall: key is the longest option in 100 %'))).toBe(true);
    expect(problems.some((p) => p.endsWith('prompt does not ask for de-identification'))).toBe(true);
  });

  test('when items and objectives are cross-checked, then every objective has an item and every item an objective of its module', () => {
    for (const m of modules) {
      const objectiveIds = new Set(m.objectives.map((o) => o.id));
      for (const o of m.objectives) expect(m.items.some((i) => i.objectives.includes(o.id))).toBe(true);
      for (const i of m.items) {
        expect(i.objectives.length).toBeGreaterThan(0);
        for (const o of i.objectives) expect(objectiveIds.has(o)).toBe(true);
      }
    }
  });

  test('when a multiple-choice item is read, then every option carries feedback and single-answer items have one key', () => {
    for (const m of modules) {
      for (const item of m.items) {
        if (item.kind !== 'mcq') continue;
        for (const o of item.options) expect(o.feedback.length).toBeGreaterThan(20);
        if (!item.multiple) expect(item.options.filter((o) => o.correct)).toHaveLength(1);
      }
    }
  });

  test('when a file breaks the rules, then loading fails listing each problem with the file and field', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'coachlti-content-'));
    const source = readFileSync(path.join(defaultContentDir, 'M01-coaching-agreement.yaml'), 'utf8');
    writeFileSync(
      path.join(dir, 'M01-coaching-agreement.yaml'),
      source.replace(/- \{ ?id: C1\.1/, '- { id: C9.9').replace(/^estimatedMinutes: \d+/m, 'estimatedMinutes: 500'),
    );
    writeFileSync(path.join(dir, 'M02-broken.yaml'), 'id: [unclosed');
    let error: unknown;
    try {
      loadModules(ids, dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ContentError);
    const problems = (error as ContentError).problems;
    expect(problems.some((p) => p.startsWith('M01-coaching-agreement.yaml: estimatedMinutes:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('M02-broken.yaml: not valid YAML'))).toBe(true);
  });

  test('when the coverage report is asked for JSON, then it prints coverage apart by weight and the item-quality gate, and exits 0', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', fromRoot('src', 'curriculum', 'cli', 'report.ts'), '--json'], {
      encoding: 'utf8',
    });
    const json = JSON.parse(out) as {
      modules: number;
      competencies: { id: string; itemKinds: string[]; primary: { objectives: number }; secondary: { objectives: number } }[];
      itemQuality: { problems: string[]; modules: { id: string }[] };
    };
    expect(json.modules).toBe(modules.length);
    expect(json.competencies.map((c) => c.id)).toEqual(ids);
    for (const c of json.competencies) {
      expect(c.itemKinds).toEqual(['mcq', 'reflection']);
      expect(c.primary.objectives).toBeGreaterThanOrEqual(3);
    }
    expect(json.itemQuality.modules.map((m) => m.id)).toEqual(modules.map((m) => m.id));
    expect(json.itemQuality.problems).toEqual([]);
  });
});
