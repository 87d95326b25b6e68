import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { competencyIdsOf, loadFrameworkFile } from '../../src/competencies/framework-schema';
import { computeCoverage, coverageProblems, coverageRule } from '../../src/curriculum/coverage';
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

  test('when coverage is computed, then every competency has ≥2 objectives and ≥4 items of ≥2 kinds', () => {
    const report = computeCoverage(modules, ids);
    expect(coverageProblems(report)).toEqual([]);
    for (const c of report.competencies) {
      expect(c.objectives).toBeGreaterThanOrEqual(coverageRule.minObjectives);
      expect(c.items).toBeGreaterThanOrEqual(coverageRule.minItems);
      expect(c.itemKinds.length).toBeGreaterThanOrEqual(coverageRule.minItemKinds);
    }
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

  test('when the coverage report is asked for JSON, then it prints the module count and one row per competency', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', fromRoot('src', 'curriculum', 'cli', 'report.ts'), '--json'], {
      encoding: 'utf8',
    });
    const json = JSON.parse(out) as {
      modules: number;
      competencies: { id: string; objectives: number; items: number; itemKinds: string[] }[];
    };
    expect(json.modules).toBe(modules.length);
    expect(json.competencies.map((c) => c.id)).toEqual(ids);
    for (const c of json.competencies) expect(c.itemKinds).toEqual(['mcq', 'reflection']);
  });
});
