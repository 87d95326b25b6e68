import type { Attempt, StoredAnswer } from '../assessment/attempt-repository';
import { attemptScore, scoreMcq, type Answer } from '../assessment/scoring';
import { formatLevel, scoreOutOf100 } from '../shared/format';
import { messagesByField, type FieldError } from '../web/form-errors';
import { rubricLevels, type Item, type ModuleFile, type RubricLevel } from './content-schema';
import { displayOrder, formOf } from './presentation';
import { renderMarkdown } from './markdown';

const levelLabel = (level: RubricLevel): string => formatLevel(level);

/** The longest reflection we keep; longer text is refused with a message, never cut. */
export const reflectionLimit = 5000;

/** A refused answer to one item: what was wrong and what the coach had entered (shown again). */
export interface RefusedAnswer {
  itemId: string;
  errors: FieldError[];
  selected?: string[];
  text?: string;
  selfLevel?: string;
}

export interface ItemView {
  id: string;
  anchor: string;
  isMcq: boolean;
  multiple: boolean;
  stem: string;
  answered: boolean;
  /** Before answering: options without keys or feedback (nothing of the key reaches the browser). */
  options: {
    id: string;
    text: string;
    inputId: string;
    chosen: boolean;
    checked?: boolean;
    correct?: boolean;
    feedback?: string;
    verdict?: string;
  }[];
  /** Refused submission: the message for the choices, or for the text and the self-rating. */
  choiceError?: string;
  textError?: string;
  levelError?: string;
  textValue?: string;
  prompt?: string;
  rubric?: { level: RubricLevel; label: string; descriptor: string; inputId: string; chosen: boolean; checked: boolean }[];
  reflectionText?: string;
  selfLevelLabel?: string;
  facultyLevelLabel?: string;
  facultyComment?: string;
  facultyCriteria?: { name: string; label: string }[];
  resultLabel?: string;
}

export const itemAnchor = (itemId: string): string => `item-${itemId.replace('.', '-')}`;

/** Field ids of an item's inputs, for the error summary's links. */
export const itemFields = {
  firstOption: (itemId: string, optionId: string): string => `${itemAnchor(itemId)}-${optionId}`,
  text: (itemId: string): string => `${itemAnchor(itemId)}-text`,
  firstLevel: (itemId: string): string => `${itemAnchor(itemId)}-${rubricLevels[0]}`,
};

function itemView(item: Item, answer: StoredAnswer | undefined, attempt: Attempt, refused: RefusedAnswer | undefined): ItemView {
  const anchor = itemAnchor(item.id);
  const messages = messagesByField(refused?.errors ?? []);
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
      if (!answer) return { ...base, checked: refused?.selected?.includes(o.id) ?? false };
      // A single-best question has one key: when it was missed, it is "the correct answer", not "also correct".
      const verdict = o.correct
        ? chosen.has(o.id)
          ? 'Correct choice'
          : item.multiple
            ? 'Also correct'
            : 'Correct answer'
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
      choiceError: shown[0] ? messages.get(`${anchor}-${shown[0].id}`) : undefined,
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
      label: levelLabel(level),
      descriptor: item.rubric[level],
      inputId: `${anchor}-${level}`,
      chosen: answer?.selfLevel === level,
      checked: !answer && refused?.selfLevel === level,
    })),
    textError: messages.get(itemFields.text(item.id)),
    levelError: messages.get(itemFields.firstLevel(item.id)),
    textValue: answer ? undefined : refused?.text,
    reflectionText: answer?.text,
    selfLevelLabel: answer?.selfLevel ? levelLabel(answer.selfLevel) : undefined,
    facultyLevelLabel: answer?.facultyLevel ? levelLabel(answer.facultyLevel) : undefined,
    facultyComment: answer?.facultyLevel ? answer.facultyComment || undefined : undefined,
    facultyCriteria: answer?.facultyLevel
      ? (answer.facultyCriteria ?? []).map((c) => ({
          name: item.rubric.criteria?.find((k) => k.id === c.criterionId)?.name ?? c.criterionId,
          label: levelLabel(c.level),
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
  /** Where the open questions are, so the last section can say it. */
  unansweredItems: { label: string; sectionTitle: string; url: string }[];
  completed: boolean;
  sections: { number: number; title: string; url: string; current: boolean }[];
  errors: FieldError[];
}

/** "Question 3" or "Reflection 4": the item's place among all of the module's items. */
function itemLabel(module: ModuleFile, item: Item): string {
  return `${item.kind === 'mcq' ? 'Question' : 'Reflection'} ${module.items.indexOf(item) + 1}`;
}

function itemUrl(module: ModuleFile, attemptId: string, item: Item): string {
  const number = module.sections.findIndex((s) => s.id === item.section) + 1;
  return `/modules/${module.id}/attempts/${attemptId}/sections/${number}#${itemAnchor(item.id)}`;
}

export function sectionPage(module: ModuleFile, attempt: Attempt, index: number, refused?: RefusedAnswer): SectionPageView {
  const section = module.sections[index];
  if (!section) throw new Error(`section ${index} out of range`);
  const answers = new Map(attempt.answers.map((a) => [a.itemId, a]));
  const answered = module.items.filter((i) => answers.has(i.id)).length;
  const base = `/modules/${module.id}/attempts/${attempt.id}/sections`;
  const sectionTitles = new Map(module.sections.map((s) => [s.id, s.title]));
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
    items: module.items
      .filter((i) => i.section === section.id)
      .map((i) => itemView(i, answers.get(i.id), attempt, refused?.itemId === i.id ? refused : undefined)),
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
    unansweredItems: module.items
      .filter((i) => !answers.has(i.id))
      .map((i) => ({ label: itemLabel(module, i), sectionTitle: sectionTitles.get(i.section) ?? '', url: itemUrl(module, attempt.id, i) })),
    completed: attempt.status === 'completed',
    sections: module.sections.map((s, i) => ({ number: i + 1, title: s.title, url: `${base}/${i + 1}`, current: i === index })),
    errors: refused?.errors ?? [],
  };
}

export interface ResultSummaryView {
  scoreText: string;
  /** Reflections not yet rated by faculty: the module score is from the questions until they are. */
  pendingReflections: number;
  correct: number;
  questions: number;
  items: { label: string; sectionTitle: string; url: string; state: 'right' | 'wrong' | 'pending' | 'rated'; text: string }[];
}

function scoringAnswers(answers: readonly StoredAnswer[]): Answer[] {
  return answers.map((a) =>
    a.kind === 'mcq'
      ? { kind: 'mcq', itemId: a.itemId, selected: a.selected, variantId: a.variantId }
      : { kind: 'reflection', itemId: a.itemId, selfLevel: a.selfLevel, facultyLevel: a.facultyLevel },
  );
}

/** The finished attempt at a glance: the module score and each question right or wrong, linked to its feedback. */
export function resultSummary(module: ModuleFile, attempt: Attempt): ResultSummaryView {
  const answers = new Map(attempt.answers.map((a) => [a.itemId, a]));
  const sectionTitles = new Map(module.sections.map((s) => [s.id, s.title]));
  const items = module.items.map((item) => {
    const answer = answers.get(item.id);
    const base = {
      label: itemLabel(module, item),
      sectionTitle: sectionTitles.get(item.section) ?? '',
      url: itemUrl(module, attempt.id, item),
    };
    if (item.kind === 'mcq') {
      const value = answer?.kind === 'mcq' ? scoreMcq(formOf(item, answer.variantId).options, item.multiple, answer.selected) : 0;
      if (value === 1) return { ...base, state: 'right' as const, text: 'Right' };
      return { ...base, state: 'wrong' as const, text: value > 0 ? 'Partly right' : 'Not the best answer' };
    }
    const facultyLevel = answer?.kind === 'reflection' ? answer.facultyLevel : undefined;
    return facultyLevel
      ? { ...base, state: 'rated' as const, text: `Rated ${levelLabel(facultyLevel)} by faculty` }
      : { ...base, state: 'pending' as const, text: 'Reflection awaiting faculty rating' };
  });
  const score = attemptScore({
    moduleId: module.id,
    module,
    completedAt: attempt.completedAt ?? new Date(),
    answers: scoringAnswers(attempt.answers),
  });
  return {
    scoreText: scoreOutOf100(score * 100),
    pendingReflections: items.filter((i) => i.state === 'pending').length,
    correct: items.filter((i) => i.state === 'right').length,
    questions: module.items.filter((i) => i.kind === 'mcq').length,
    items,
  };
}
