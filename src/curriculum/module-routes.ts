import { randomBytes } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { coachFromSession, type AnswerInput, type AssessmentService } from '../assessment/assessment-service';
import { BadRequestError, NotFoundError } from '../shared/errors';
import { formatLevel, scoreOutOf100 } from '../shared/format';
import type { FieldError } from '../web/form-errors';
import { asyncHandler } from '../web/async-handler';
import { pageContext } from '../web/page-context';
import { csrfToken, requireLaunch, verifyCsrf } from '../web/session';
import type { Catalog } from './catalog';
import { itemFields, reflectionLimit, resultSummary, sectionPage, type RefusedAnswer } from './module-presenter';

const moduleParams = z.object({ moduleId: z.string().regex(/^M\d{2}$/) });
const sectionParams = moduleParams.extend({
  attemptId: z.string().regex(/^[a-f0-9]{24}$/),
  section: z.coerce.number().int().min(1).max(50),
});
const itemParams = moduleParams.extend({ attemptId: z.string().regex(/^[a-f0-9]{24}$/), itemId: z.string().regex(/^M\d{2}\.[QR]\d+$/) });
const attemptParams = moduleParams.extend({ attemptId: z.string().regex(/^[a-f0-9]{24}$/) });
const missingKey = 'The form is missing its key: reload the page and try again.';
const startBody = z.object({ idempotencyKey: z.string({ required_error: missingKey }).regex(/^[A-Za-z0-9_-]{16,64}$/, missingKey) });
const mcqBody = z.object({
  selected: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
});
const thousands = (n: number): string => n.toLocaleString('en-US');
const reflectionBody = z.object({
  // Browsers send line breaks as CRLF; count them as one character each, as the counter on the page does.
  text: z
    .string({ required_error: 'Write your reflection before submitting.', invalid_type_error: 'Write your reflection before submitting.' })
    .transform((v) => v.replace(/\r\n?/g, '\n').trim())
    .superRefine((v, ctx) => {
      if (v.length === 0) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'Write your reflection before submitting.' });
      else if (v.length > reflectionLimit) {
        const over = v.length - reflectionLimit;
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `Your reflection is ${thousands(v.length)} characters; the limit is ${thousands(reflectionLimit)}. Shorten it by ${thousands(over)} character${over === 1 ? '' : 's'}.`,
        });
      }
    }),
  selfLevel: z.enum(['novice', 'developing', 'proficient', 'expert'], {
    errorMap: () => ({ message: 'Choose the rubric level that best fits your reflection.' }),
  }),
});

function parse<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new BadRequestError(parsed.error.issues[0]?.message ?? 'The request could not be read.');
  return parsed.data;
}

const newKey = (): string => randomBytes(18).toString('base64url');

/** The module experience: overview → start/continue → sections with questions → finish → result. Works without JavaScript. */
export function moduleRoutes(deps: { catalog: Catalog; assessment: AssessmentService }): Router {
  const router = Router();
  const gate = requireLaunch();
  const coachOf = (req: Request) => coachFromSession(req.session.launch!);

  router.get(
    '/modules/:moduleId',
    gate,
    asyncHandler(async (req, res) => {
      const { moduleId } = parse(moduleParams, req.params);
      const summary = deps.catalog.get(moduleId);
      if (!summary) throw new NotFoundError('There is no such module.');
      const module = await deps.assessment.currentModule(moduleId);
      const latest = await deps.assessment.latestAttempt(coachOf(req), moduleId);
      const open = latest?.status === 'in_progress' ? latest : null;
      res.render('curriculum/module', {
        pageTitle: module.title,
        ...pageContext(req.session.launch!),
        module: {
          ...summary,
          objectives: module.objectives.map((o) => o.text),
          sections: module.sections.map((s) => s.title),
          references: module.references,
        },
        open: open
          ? {
              url: `/modules/${moduleId}/attempts/${open.id}/sections/${Math.max(1, open.furthestSection + 1)}`,
              answered: open.answers.length,
              total: module.items.length,
            }
          : undefined,
        completed: latest?.status === 'completed' ? { url: `/modules/${moduleId}/attempts/${latest.id}/result` } : undefined,
        csrf: csrfToken(req),
        idempotencyKey: newKey(),
      });
    }),
  );

  router.post(
    '/modules/:moduleId/attempts',
    gate,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const { moduleId } = parse(moduleParams, req.params);
      const { idempotencyKey } = parse(startBody, req.body);
      const attempt = await deps.assessment.startOrResume(coachOf(req), moduleId, idempotencyKey);
      const target = attempt.status === 'completed' ? 'result' : `sections/${Math.max(1, attempt.furthestSection + 1)}`;
      res.redirect(303, `/modules/${moduleId}/attempts/${attempt.id}/${target}`);
    }),
  );

  router.get(
    '/modules/:moduleId/attempts/:attemptId/sections/:section',
    gate,
    asyncHandler(async (req, res) => {
      const params = parse(sectionParams, req.params);
      const attempt = await deps.assessment.ownAttempt(coachOf(req), params.attemptId);
      if (attempt.moduleId !== params.moduleId) throw new NotFoundError('There is no such attempt.');
      const module = await deps.assessment.moduleOf(attempt);
      if (params.section > module.sections.length) throw new NotFoundError('There is no such section.');
      await deps.assessment.visit(attempt, params.section - 1);
      res.render('curriculum/section', {
        pageTitle: `${module.title} · ${module.sections[params.section - 1]?.title ?? ''}`,
        ...pageContext(req.session.launch!),
        view: sectionPage(module, attempt, params.section - 1),
        csrf: csrfToken(req),
      });
    }),
  );

  router.post(
    '/modules/:moduleId/attempts/:attemptId/items/:itemId',
    gate,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const params = parse(itemParams, req.params);
      const coach = coachOf(req);
      const attempt = await deps.assessment.ownAttempt(coach, params.attemptId);
      const module = await deps.assessment.moduleOf(attempt);
      const item = module.items.find((i) => i.id === params.itemId);
      if (!item || attempt.moduleId !== params.moduleId) throw new NotFoundError('There is no such question in this module.');
      const sectionIndex = module.sections.findIndex((s) => s.id === item.section);
      // A refusal the coach can fix comes back on the same section, with what they entered and nothing stored.
      const refuse = (refused: RefusedAnswer) =>
        res.status(400).render('curriculum/section', {
          pageTitle: `${module.title} · ${module.sections[sectionIndex]?.title ?? ''}`,
          ...pageContext(req.session.launch!),
          view: sectionPage(module, attempt, sectionIndex, refused),
          csrf: csrfToken(req),
        });
      const body = (req.body ?? {}) as Record<string, unknown>;
      let input: AnswerInput;
      if (item.kind === 'mcq') {
        input = { kind: 'mcq', ...parse(mcqBody, body) };
      } else {
        const parsed = reflectionBody.safeParse(body);
        if (!parsed.success) {
          const errors: FieldError[] = parsed.error.issues.map((issue) => ({
            field: issue.path[0] === 'selfLevel' ? itemFields.firstLevel(item.id) : itemFields.text(item.id),
            message: issue.message,
          }));
          return refuse({
            itemId: item.id,
            errors,
            text: typeof body.text === 'string' ? body.text.replace(/\r\n?/g, '\n') : undefined,
            selfLevel: typeof body.selfLevel === 'string' ? body.selfLevel : undefined,
          });
        }
        input = { kind: 'reflection', ...parsed.data };
      }
      try {
        await deps.assessment.answer(coach, attempt.id, item.id, input);
      } catch (error) {
        if (!(error instanceof BadRequestError) || input.kind !== 'mcq') throw error;
        const options = sectionPage(module, attempt, sectionIndex).items.find((i) => i.id === item.id)?.options ?? [];
        return refuse({
          itemId: item.id,
          errors: [{ field: itemFields.firstOption(item.id, options[0]?.id ?? ''), message: error.message }],
          selected: input.selected,
        });
      }
      res.redirect(
        303,
        `/modules/${params.moduleId}/attempts/${attempt.id}/sections/${sectionIndex + 1}#item-${item.id.replace('.', '-')}`,
      );
    }),
  );

  router.post(
    '/modules/:moduleId/attempts/:attemptId/complete',
    gate,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const params = parse(attemptParams, req.params);
      await deps.assessment.complete(coachOf(req), params.attemptId);
      res.redirect(303, `/modules/${params.moduleId}/attempts/${params.attemptId}/result`);
    }),
  );

  router.get(
    '/modules/:moduleId/attempts/:attemptId/result',
    gate,
    asyncHandler(async (req, res) => {
      const params = parse(attemptParams, req.params);
      const coach = coachOf(req);
      const attempt = await deps.assessment.ownAttempt(coach, params.attemptId);
      if (attempt.status !== 'completed') {
        res.redirect(303, `/modules/${params.moduleId}/attempts/${attempt.id}/sections/${attempt.furthestSection + 1}`);
        return;
      }
      const module = await deps.assessment.moduleOf(attempt);
      const snapshot = await deps.assessment.scoresFor(coach);
      const touched = new Set(module.objectives.flatMap((o) => o.competencies.map((c) => c.id)));
      const summary = deps.catalog.get(module.id);
      const names = new Map((summary?.competencies ?? []).map((c) => [c.id, c.name]));
      const scores = (snapshot?.scores ?? [])
        .filter((s) => touched.has(s.competencyId))
        .map((s) => ({
          competencyId: s.competencyId,
          name: names.get(s.competencyId) ?? s.competencyId,
          scoreText: s.score === undefined ? 'Insufficient evidence' : scoreOutOf100(s.score),
          levelLabel: s.level ? formatLevel(s.level) : s.missing ? `— (${s.missing})` : '—',
          levelCap: s.levelCap,
          pendingFacultyRating: s.pendingFacultyRating,
          modules: s.modules,
        }));
      res.render('curriculum/result', {
        pageTitle: `${module.title} · finished`,
        ...pageContext(req.session.launch!),
        module: { id: module.id, title: module.title },
        summary: resultSummary(module, attempt),
        scores,
        retake: { csrf: csrfToken(req), idempotencyKey: newKey() },
      });
    }),
  );
  return router;
}
