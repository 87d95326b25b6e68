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
});

export const rubricSchema = z.object({
  novice: text,
  developing: text,
  proficient: text,
  expert: text,
});

export const reflectionItemSchema = z.object({
  ...itemBase,
  kind: z.literal('reflection'),
  prompt: text,
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
        if (item.multiple && (correct < 2 || correct === item.options.length)) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['items', i, 'options'],
            message: 'a multiple-answer question needs at least two correct and one incorrect option',
          });
        }
        const optionIds = item.options.map((o) => o.id);
        if (new Set(optionIds).size !== optionIds.length) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['items', i, 'options'], message: 'duplicate option id' });
        }
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
export type RubricLevel = keyof Rubric;
export const rubricLevels: readonly RubricLevel[] = ['novice', 'developing', 'proficient', 'expert'];
