import { z } from 'zod';

/**
 * Shape of one module file in src/curriculum/content/*.yaml.
 * Files are validated with this schema at load time and in tests; ids are stable forever because
 * attempts and scores reference them (change wording freely, never reuse an id for a different idea).
 */

const competencyId = z.string().regex(/^C\d+\.\d+$/, 'competency ids look like C2.2');
const moduleId = z.string().regex(/^M\d{2}$/, 'module ids look like M01');
const objectiveId = z.string().regex(/^M\d{2}\.O\d+$/, 'objective ids look like M01.O1');
const itemId = z.string().regex(/^M\d{2}\.(Q|R)\d+$/, 'item ids look like M01.Q1 (question) or M01.R1 (reflection)');
const sectionId = z.string().regex(/^s\d+$/, 'section ids look like s1');
const text = z.string().trim().min(1);

export const objectiveCompetencySchema = z.object({
  id: competencyId,
  /** Share of this objective that evidences the competency, 0 < weight <= 1. */
  weight: z.number().gt(0).lte(1),
});

export const objectiveSchema = z.object({
  id: objectiveId,
  text,
  competencies: z.array(objectiveCompetencySchema).min(1).max(3),
});

export const sectionSchema = z.object({
  id: sectionId,
  title: text,
  kind: z.enum(['reading', 'scenario']).default('reading'),
  /** Markdown. Raw HTML is not rendered. */
  body: text,
});

export const mcqOptionSchema = z.object({
  id: z.string().regex(/^[a-h]$/),
  text,
  correct: z.boolean(),
  /** Shown after submission, whatever the coach chose: why this option is or is not the best. */
  feedback: text,
});

const itemBase = {
  id: itemId,
  /** The section at whose end the item is asked. */
  section: sectionId,
  objectives: z.array(objectiveId).min(1).max(3),
};

export const mcqItemSchema = z.object({
  ...itemBase,
  kind: z.literal('mcq'),
  /** false: single best answer (exactly one correct option); true: choose all that apply. */
  multiple: z.boolean().default(false),
  stem: text,
  options: z.array(mcqOptionSchema).min(3).max(8),
  /**
   * Parallel forms: alternative stems and options assessing the same objectives (and with the same `multiple`). A
   * retake serves a form the coach has not seen (see `presentation.ts`); variant ids are stable like item ids.
   */
  variants: z.array(z.object({ id: z.string().regex(/^v\d+$/), stem: text, options: z.array(mcqOptionSchema).min(3).max(8) })).optional(),
});

/** The four rubric levels, lowest first. */
const levelTexts = z.object({
  novice: text,
  developing: text,
  proficient: text,
  expert: text,
});

/**
 * One rubric criterion: a single quality a rater judges on its own.
 * `assesses` names the prompt part (see `promptParts`) the criterion rates, so a rubric can only reward what the
 * prompt asks for; `anchors` describe observable writing at each level (behavioural anchors, not adjectives).
 */
export const rubricCriterionSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'criterion ids look like plain-language'),
  name: text,
  assesses: z.string().regex(/^[a-z]$/, 'assesses names a prompt part id such as a'),
  anchors: levelTexts,
});

/**
 * Rubric of a reflection.
 *
 * - `novice` … `expert` (required): one-line summary per level. The coach's self-rating page and the faculty rating
 *   page read these today (`item.rubric[level]`), so they stay required and must agree with the criteria.
 * - `criteria` (3–4): named criteria with behavioural anchors per level and the prompt part each assesses.
 * - `exemplars`: one short example response per level, written for rater calibration (fictional, de-identified).
 *
 * `criteria` and `exemplars` are optional in the schema only so that module versions stored before they existed
 * still load from `module_versions`; the item-quality gate (`item-quality.ts`) requires them in shipped content.
 * How a reflection level follows from criterion ratings: see `mixedResponseRule`.
 */
export const rubricSchema = levelTexts.extend({
  criteria: z.array(rubricCriterionSchema).min(3).max(4).optional(),
  exemplars: levelTexts.optional(),
});

/** One question inside a reflection prompt. `text` must appear word for word in the prompt (checked by the gate). */
export const promptPartSchema = z.object({
  id: z.string().regex(/^[a-z]$/, 'prompt part ids are single letters: a, b, c'),
  text,
});

export const reflectionItemSchema = z.object({
  ...itemBase,
  kind: z.literal('reflection'),
  /** Markdown-free text shown to the coach; must ask for de-identification (checked by the gate). */
  prompt: text,
  /** The separately rated questions of the prompt; rubric criteria point at these. Optional for stored versions. */
  promptParts: z.array(promptPartSchema).min(1).max(5).optional(),
  rubric: rubricSchema,
});

export const itemSchema = z.discriminatedUnion('kind', [mcqItemSchema, reflectionItemSchema]);

export const referenceSchema = z.object({
  authors: text,
  year: z.number().int().min(1900).max(2100),
  title: text,
  source: text.optional(),
});

export const moduleFileSchema = z
  .object({
    id: moduleId,
    /** Bump when the module's items or objectives change; attempts keep the version they were taken on. */
    version: z.number().int().positive(),
    order: z.number().int().positive(),
    title: text,
    summary: text,
    estimatedMinutes: z.number().int().min(5).max(90),
    retakePolicy: z.enum(['latest', 'best']).default('latest'),
    /** Overrides `mixedResponseRule` for this module's reflections; leave out to use the global rule. */
    mixedResponseRule: text.optional(),
    objectives: z.array(objectiveSchema).min(3).max(6),
    sections: z.array(sectionSchema).min(2),
    items: z.array(itemSchema).min(2),
    references: z.array(referenceSchema).min(1),
  })
  .superRefine((mod, ctx) => {
    const prefix = `${mod.id}.`;
    const objectiveIds = new Set(mod.objectives.map((o) => o.id));
    const sectionIds = new Set(mod.sections.map((s) => s.id));
    const seen = new Set<string>();
    const requireUnique = (id: string, path: (string | number)[]): void => {
      if (seen.has(id)) ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: `duplicate id ${id}` });
      seen.add(id);
    };
    mod.objectives.forEach((o, i) => {
      requireUnique(o.id, ['objectives', i, 'id']);
      if (!o.id.startsWith(prefix)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['objectives', i, 'id'], message: `must start with ${prefix}` });
      }
      const comps = o.competencies.map((c) => c.id);
      if (new Set(comps).size !== comps.length) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['objectives', i], message: 'a competency is listed twice' });
      }
    });
    mod.sections.forEach((s, i) => requireUnique(s.id, ['sections', i, 'id']));
    mod.items.forEach((item, i) => {
      requireUnique(item.id, ['items', i, 'id']);
      if (!item.id.startsWith(prefix)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['items', i, 'id'], message: `must start with ${prefix}` });
      }
      if (!sectionIds.has(item.section)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['items', i, 'section'], message: `unknown section ${item.section}` });
      }
      item.objectives.forEach((o, j) => {
        if (!objectiveIds.has(o)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['items', i, 'objectives', j], message: `unknown objective ${o}` });
        }
      });
      if (item.kind === 'mcq') {
        const correct = item.options.filter((o) => o.correct).length;
        if (!item.multiple && correct !== 1) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['items', i, 'options'],
            message: 'a single-best-answer question needs exactly one correct option',
          });
        }
        if (item.multiple && (correct < 1 || correct === item.options.length)) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['items', i, 'options'],
            message: 'a multiple-answer question needs at least one correct and one incorrect option',
          });
        }
        const optionIds = item.options.map((o) => o.id);
        if (new Set(optionIds).size !== optionIds.length) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['items', i, 'options'], message: 'duplicate option id' });
        }
        const variantIds = (item.variants ?? []).map((v) => v.id);
        if (new Set(variantIds).size !== variantIds.length)
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['items', i, 'variants'], message: 'duplicate variant id' });
        (item.variants ?? []).forEach((v, k) => {
          const keys = v.options.filter((o) => o.correct).length;
          const path = ['items', i, 'variants', k, 'options'];
          if (!item.multiple && keys !== 1)
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              path,
              message: `variant ${v.id} of a single-best-answer question needs exactly one correct option`,
            });
          if (item.multiple && (keys < 1 || keys === v.options.length))
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              path,
              message: `variant ${v.id} needs at least one correct and one incorrect option`,
            });
          if (new Set(v.options.map((o) => o.id)).size !== v.options.length)
            ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: `variant ${v.id}: duplicate option id` });
        });
      }
    });
    for (const objective of mod.objectives) {
      if (!mod.items.some((item) => item.objectives.includes(objective.id))) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['objectives'], message: `objective ${objective.id} has no item` });
      }
    }
  });

export type ModuleFile = z.infer<typeof moduleFileSchema>;
export type Objective = z.infer<typeof objectiveSchema>;
export type Section = z.infer<typeof sectionSchema>;
export type Item = z.infer<typeof itemSchema>;
export type McqItem = z.infer<typeof mcqItemSchema>;
export type ReflectionItem = z.infer<typeof reflectionItemSchema>;
export type Rubric = z.infer<typeof rubricSchema>;
export type RubricCriterion = z.infer<typeof rubricCriterionSchema>;
export type PromptPart = z.infer<typeof promptPartSchema>;
export type RubricLevel = 'novice' | 'developing' | 'proficient' | 'expert';
export const rubricLevels: readonly RubricLevel[] = ['novice', 'developing', 'proficient', 'expert'];

/**
 * How raters turn criterion ratings into one reflection level when the criteria disagree: rate every criterion on
 * its own anchors, then take the median level, rounding down between two levels. Rounding down keeps one strong
 * criterion from carrying a weak response; the median keeps one weak criterion from sinking a strong one.
 */
export const mixedResponseRule =
  'Rate each criterion on its own anchors. The reflection level is the median of the criterion levels; when the ' +
  "median falls between two levels, take the lower one. A response that does not address a criterion's prompt " +
  'part is rated novice on that criterion.';

/** Median of criterion levels, rounding down: the reflection level under `mixedResponseRule`. */
export function reflectionLevelFromCriteria(levels: readonly RubricLevel[]): RubricLevel {
  if (levels.length === 0) throw new Error('no criterion levels to combine');
  const ranks = levels.map((l) => rubricLevels.indexOf(l)).sort((a, b) => a - b);
  const rank = ranks[Math.floor((ranks.length - 1) / 2)] ?? 0;
  return rubricLevels[rank] ?? 'novice';
}
