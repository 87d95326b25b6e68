import type { Attempt, StoredAnswer } from '../assessment/attempt-repository';
import { rubricLevels, type Item, type ModuleFile, type RubricLevel } from './content-schema';
import { displayOrder, formOf } from './presentation';
import { renderMarkdown } from './markdown';

const levelLabel: Record<RubricLevel, string> = { novice: 'Novice', developing: 'Developing', proficient: 'Proficient', expert: 'Expert' };

export interface ItemView {
  id: string;
  anchor: string;
  isMcq: boolean;
  multiple: boolean;
  stem: string;
  answered: boolean;
  /** Before answering: options without keys or feedback (nothing of the key reaches the browser). */
  options: { id: string; text: string; inputId: string; chosen: boolean; correct?: boolean; feedback?: string; verdict?: string }[];
  prompt?: string;
  rubric?: { level: RubricLevel; label: string; descriptor: string; inputId: string; chosen: boolean }[];
  reflectionText?: string;
  selfLevelLabel?: string;
  facultyLevelLabel?: string;
  facultyComment?: string;
  facultyCriteria?: { name: string; label: string }[];
  resultLabel?: string;
}

function itemView(item: Item, answer: StoredAnswer | undefined, attempt: Attempt): ItemView {
  const anchor = `item-${item.id.replace('.', '-')}`;
  if (item.kind === 'mcq') {
    const chosen = new Set(answer?.selected ?? []);
    // The form this attempt serves, its options in this attempt's order (the order shown is kept with the answer).
    const form = formOf(item, answer ? answer.variantId : (attempt.forms.find((f) => f.itemId === item.id)?.variantId ?? undefined));
    const order =
      answer?.displayedOrder ??
      displayOrder(
        attempt.id,
        item.id,
        form.variantId,
        form.options.map((o) => o.id),
      );
    const byId = new Map(form.options.map((o) => [o.id, o]));
    const shown = [...order.flatMap((id) => byId.get(id) ?? []), ...form.options.filter((o) => !order.includes(o.id))];
    const options = shown.map((o) => {
      const base = { id: o.id, text: o.text, inputId: `${anchor}-${o.id}`, chosen: chosen.has(o.id) };
      if (!answer) return base;
      const verdict = o.correct
        ? chosen.has(o.id)
          ? 'Correct choice'
          : 'Also correct'
        : chosen.has(o.id)
          ? 'Not the best choice'
          : undefined;
      return { ...base, correct: o.correct, feedback: o.feedback, verdict };
    });
    const allRight = answer ? form.options.every((o) => o.correct === chosen.has(o.id)) : false;
    return {
      id: item.id,
      anchor,
      isMcq: true,
      multiple: item.multiple,
      stem: form.stem,
      answered: Boolean(answer),
      options,
      resultLabel: answer
        ? allRight
          ? 'Your answer matches the best answer.'
          : 'Your answer differs from the best answer; read the feedback on each option.'
        : undefined,
    };
  }
  return {
    id: item.id,
    anchor,
    isMcq: false,
    multiple: false,
    stem: '',
    answered: Boolean(answer),
    options: [],
    prompt: item.prompt,
    rubric: rubricLevels.map((level) => ({
      level,
      label: levelLabel[level],
      descriptor: item.rubric[level],
      inputId: `${anchor}-${level}`,
      chosen: answer?.selfLevel === level,
    })),
    reflectionText: answer?.text,
    selfLevelLabel: answer?.selfLevel ? levelLabel[answer.selfLevel] : undefined,
    facultyLevelLabel: answer?.facultyLevel ? levelLabel[answer.facultyLevel] : undefined,
    facultyComment: answer?.facultyLevel ? answer.facultyComment || undefined : undefined,
    facultyCriteria: answer?.facultyLevel
      ? (answer.facultyCriteria ?? []).map((c) => ({
          name: item.rubric.criteria?.find((k) => k.id === c.criterionId)?.name ?? c.criterionId,
          label: levelLabel[c.level],
        }))
      : undefined,
  };
}

export interface SectionPageView {
  module: { id: string; title: string };
  attemptId: string;
  section: { index: number; number: number; title: string; kind: string; html: string };
  items: ItemView[];
  progress: { answered: number; total: number; percent: number; sectionNumber: number; sectionCount: number };
  previousUrl: string | undefined;
  nextUrl: string | undefined;
  isLast: boolean;
  canFinish: boolean;
  unanswered: number;
  completed: boolean;
  sections: { number: number; title: string; url: string; current: boolean }[];
}

export function sectionPage(module: ModuleFile, attempt: Attempt, index: number): SectionPageView {
  const section = module.sections[index];
  if (!section) throw new Error(`section ${index} out of range`);
  const answers = new Map(attempt.answers.map((a) => [a.itemId, a]));
  const answered = module.items.filter((i) => answers.has(i.id)).length;
  const base = `/modules/${module.id}/attempts/${attempt.id}/sections`;
  return {
    module: { id: module.id, title: module.title },
    attemptId: attempt.id,
    section: {
      index,
      number: index + 1,
      title: section.title,
      kind: section.kind === 'scenario' ? 'Scenario' : 'Reading',
      html: renderMarkdown(section.body),
    },
    items: module.items.filter((i) => i.section === section.id).map((i) => itemView(i, answers.get(i.id), attempt)),
    progress: {
      answered,
      total: module.items.length,
      percent: module.items.length === 0 ? 100 : Math.round((answered / module.items.length) * 100),
      sectionNumber: index + 1,
      sectionCount: module.sections.length,
    },
    previousUrl: index > 0 ? `${base}/${index}` : undefined,
    nextUrl: index < module.sections.length - 1 ? `${base}/${index + 2}` : undefined,
    isLast: index === module.sections.length - 1,
    canFinish: answered === module.items.length,
    unanswered: module.items.length - answered,
    completed: attempt.status === 'completed',
    sections: module.sections.map((s, i) => ({ number: i + 1, title: s.title, url: `${base}/${i + 1}`, current: i === index })),
  };
}
