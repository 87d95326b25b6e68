import { Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../admin/audit-log';
import type { AssessmentService } from '../assessment/assessment-service';
import type { CompetencyRepository } from '../competencies/competency-repository';
import type { Catalog } from '../curriculum/catalog';
import type { LaunchRecords } from '../courses/launch-records';
import type { Outbox } from '../grading/outbox';
import { NotFoundError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import { pageContext } from '../web/page-context';
import { csrfToken, requireLaunch, verifyCsrf } from '../web/session';
import type { Request, Response } from 'express';
import type { CourseRecord, UserRecord } from '../courses/launch-records';
import type { ObservationInstrument } from './observation-instrument';
import { cellLabel } from './course-overview';
import { messagesByField, type FieldError } from '../web/form-errors';
import { formatDateTime, formatScore } from '../shared/format';

const params = z.object({ userId: z.string().regex(/^[a-f0-9]{24}$/) });
const observationBody = z.object({
  observedOn: z
    .string({ required_error: 'Give the date of the observation.' })
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'Give the date of the observation (YYYY-MM-DD).')
    .transform((v) => new Date(`${v}T00:00:00Z`))
    .refine((d) => !Number.isNaN(d.getTime()) && d.getTime() <= Date.now() + 86_400_000, 'The date cannot be in the future.'),
  setting: z.enum(['live', 'recorded', 'simulated'], { errorMap: () => ({ message: 'Choose the setting: live, recorded or simulated.' }) }),
  duration: z.coerce
    .number({ invalid_type_error: 'Give the duration in minutes.' })
    .int('Give the duration in whole minutes.')
    .min(1, 'Give the duration in minutes.')
    .max(600, 'An observation lasts at most 600 minutes.'),
  narrative: z
    .string({ required_error: 'Write feedback for the coach.' })
    .trim()
    .min(1, 'Write feedback for the coach.')
    .max(4000, 'Keep the feedback under 4,000 characters.'),
});
const levelText = { novice: 'Novice', developing: 'Developing', proficient: 'Proficient', expert: 'Expert' } as const;
const when = (d: Date | undefined) => (d ? formatDateTime(d) : undefined);
const passbackLabel = {
  pending: 'Pending',
  sending: 'Sending',
  sent: 'Sent',
  failed: 'Failed',
  superseded: 'Replaced by a newer score',
  skipped: 'Not sent',
} as const;
const passbackBadge = {
  pending: 'pending',
  sending: 'pending',
  sent: 'synced',
  failed: 'failed',
  superseded: 'pending',
  skipped: 'none',
} as const;

/** One coach of the faculty member's course: scores with their evidence, work, reflections, history, passback. */
export function coachRoutes(deps: {
  records: Pick<LaunchRecords, 'findCourse' | 'findMembership' | 'findUser'>;
  assessment: Pick<
    AssessmentService,
    'scoresFor' | 'scoreHistory' | 'reflectionsForCourse' | 'courseProgress' | 'recordObservation' | 'observationsFor'
  >;
  instrument: ObservationInstrument;
  /** Every version of the instrument (current and archived): old observations are shown with their version's anchors. */
  instruments?: ReadonlyMap<number, ObservationInstrument>;
  competencies: CompetencyRepository;
  catalog: Catalog;
  outbox: Pick<Outbox, 'list'>;
  audit: Pick<AuditLog, 'record'>;
}): Router {
  const router = Router();
  const gate = requireLaunch('instructor', 'admin');

  /** The coach, if they are a learner of the viewer's course; otherwise not found (never another course's coach). */
  async function coachOf(req: Request): Promise<{ course: CourseRecord; user: UserRecord }> {
    const launch = req.session.launch!;
    const p = params.safeParse(req.params);
    const course = launch.courseId ? await deps.records.findCourse(launch.courseId) : null;
    if (!p.success || !course) throw new NotFoundError('There is no such coach in this course.');
    const membership = await deps.records.findMembership(course.id, p.data.userId);
    const user = membership?.isLearner ? await deps.records.findUser(p.data.userId) : null;
    if (!user) throw new NotFoundError('There is no such coach in this course.');
    return { course, user };
  }

  async function renderObserve(req: Request, res: Response, status: number, values: Record<string, string>, errors: FieldError[] = []) {
    const messages = messagesByField(errors);
    const { user } = await coachOf(req);
    const framework = await deps.competencies.loadFramework();
    const names = new Map(framework.domains.flatMap((d) => d.competencies.map((c) => [c.id, c.name] as const)));
    res.status(status).render('faculty/observe', {
      pageTitle: `Record an observation · ${user.name}`,
      ...pageContext(req.session.launch!),
      csrf: csrfToken(req),
      name: user.name,
      action: `/course/coaches/${user.id}/observations`,
      back: `/course/coaches/${user.id}`,
      errors,
      fieldError: {
        observedOn: messages.get('observedOn'),
        setting: messages.get('setting-live'),
        duration: messages.get('duration'),
        narrative: messages.get('narrative'),
        levels: messages.get(`o-${deps.instrument.competencies[0]?.id ?? ''}-none`),
      },
      instrument: { title: deps.instrument.title, version: deps.instrument.version },
      values: {
        observedOn: values.observedOn ?? new Date().toISOString().slice(0, 10),
        duration: values.duration ?? '',
        narrative: values.narrative ?? '',
      },
      settings: (['live', 'recorded', 'simulated'] as const).map((v) => ({
        value: v,
        label: { live: 'Live', recorded: 'Recorded', simulated: 'Simulated' }[v],
        checked: values.setting === v,
      })),
      competencies: deps.instrument.competencies.map((c) => ({
        id: c.id,
        name: names.get(c.id) ?? c.id,
        lookFor: c.look_for,
        field: `level-${c.id}`,
        levels: (['novice', 'developing', 'proficient', 'expert'] as const).map((l) => ({
          value: l,
          label: levelText[l],
          anchor: c.anchors[l],
          inputId: `o-${c.id}-${l}`,
          checked: values[`level-${c.id}`] === l,
        })),
        notObservedId: `o-${c.id}-none`,
        notObserved: !values[`level-${c.id}`] || values[`level-${c.id}`] === 'none',
      })),
    });
  }

  router.get(
    '/course/coaches/:userId/observations/new',
    gate,
    asyncHandler(async (req, res) => renderObserve(req, res, 200, {})),
  );

  router.post(
    '/course/coaches/:userId/observations',
    gate,
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const { course, user } = await coachOf(req);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const values: Record<string, string> = {};
      for (const [k, v] of Object.entries(body)) if (typeof v === 'string') values[k] = v;
      const parsed = observationBody.safeParse(body);
      const fieldOf: Record<string, string> = {
        observedOn: 'observedOn',
        setting: 'setting-live',
        duration: 'duration',
        narrative: 'narrative',
      };
      const errors: FieldError[] = parsed.success
        ? []
        : parsed.error.issues.map((i) => ({ field: fieldOf[String(i.path[0])] ?? 'observedOn', message: i.message }));
      const ratings = deps.instrument.competencies.flatMap((c) => {
        const level = z.enum(['novice', 'developing', 'proficient', 'expert']).safeParse(body[`level-${c.id}`]);
        return level.success ? [{ competencyId: c.id, level: level.data }] : [];
      });
      if (ratings.length === 0)
        errors.push({
          field: `o-${deps.instrument.competencies[0]?.id ?? ''}-none`,
          message: 'Rate at least one competency you observed.',
        });
      // Every problem at once, the entries kept; nothing is recorded.
      if (!parsed.success || errors.length > 0) return renderObserve(req, res, 400, values, errors);
      await deps.assessment.recordObservation({
        userId: user.id,
        courseId: course.id,
        observerId: launch.userId,
        observerName: launch.userName,
        observedOn: parsed.data.observedOn,
        setting: parsed.data.setting,
        durationMinutes: parsed.data.duration,
        instrumentVersion: deps.instrument.version,
        ratings,
        narrative: parsed.data.narrative,
      });
      await deps.audit.record({
        actor: `lti:${launch.userId}`,
        action: 'faculty.observe',
        count: ratings.length,
        courseId: course.id,
        platform: { issuer: launch.issuer, clientId: launch.clientId },
        subjectUserId: user.id,
        detail: `${launch.userName} in ${course.title}: observed ${ratings.map((r) => r.competencyId).join(', ')}`,
        ip: req.ip,
      });
      res.redirect(303, `/course/coaches/${user.id}?observed=1`);
    }),
  );

  /** Whether a module item evidences a competency (through the objectives it assesses). */
  function evidences(moduleId: string, itemId: string, competencyId: string): boolean {
    const module = deps.catalog.module(moduleId);
    const item = module?.items.find((i) => i.id === itemId);
    if (!module || !item) return false;
    return module.objectives.some((o) => item.objectives.includes(o.id) && o.competencies.some((c) => c.id === competencyId));
  }

  router.get(
    '/course/coaches/:userId',
    gate,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      // A coach of another course (or a colleague) is not found here: faculty see their own course's coaches only.
      const { course, user } = await coachOf(req);
      const coach = {
        userId: user.id,
        courseId: course.id,
        issuer: course.issuer,
        clientId: course.clientId,
        deploymentId: course.deploymentId,
        resourceLinkId: undefined,
      };
      const [framework, snapshot, history, allReflections, progress, sent, observations] = await Promise.all([
        deps.competencies.loadFramework(),
        deps.assessment.scoresFor(coach),
        deps.assessment.scoreHistory(coach),
        deps.assessment.reflectionsForCourse(course.id),
        deps.assessment.courseProgress(course.id),
        deps.outbox.list({ courseId: course.id, userId: user.id }),
        deps.assessment.observationsFor(user.id, course.id),
      ]);
      const reflections = allReflections.filter((r) => r.userId === user.id);
      const attempts = progress.attempts.filter((a) => a.userId === user.id);
      // The latest entry per column tells its passback state.
      const column = new Map<string, (typeof sent)[number]>();
      for (const e of sent) {
        const key = `${e.target.kind}:${e.target.id}`;
        const prev = column.get(key);
        if (!prev || e.version > prev.version || (e.version === prev.version && e.updatedAt > prev.updatedAt)) column.set(key, e);
      }
      const competencies = framework.domains.flatMap((d) =>
        d.competencies.map((c) => {
          const s = snapshot?.scores.find((x) => x.competencyId === c.id);
          const state = !s ? 'not-started' : s.status === 'scored' && s.level ? s.level : 'insufficient';
          const entry = column.get(`competency:${c.id}`);
          const changes = history
            .map((h) => ({ at: h.computedAt, s: h.scores.find((x) => x.competencyId === c.id) }))
            .filter((h) => h.s)
            .map((h) => ({
              at: when(h.at),
              text:
                h.s!.status === 'scored' && h.s!.level
                  ? `${levelText[h.s!.level]} ${h.s!.score === undefined ? '' : formatScore(h.s!.score)}`
                  : cellLabel.insufficient,
            }))
            .filter((h, i, all) => i === 0 || all[i - 1]!.text !== h.text);
          return {
            id: c.id,
            name: c.name,
            domain: d.name,
            state,
            label: cellLabel[state],
            score: s?.score === undefined ? undefined : formatScore(s.score),
            note: s?.missing ?? s?.levelCap,
            evidence: s
              ? `${s.evidence.primaryItems} primary item(s), ${s.evidence.secondaryItems} secondary, ${s.evidence.ratedPerformances} faculty-rated reflection(s)${s.evidence.pending ? `, ${s.evidence.pending} awaiting rating` : ''}; kinds: ${s.evidence.kinds.join(', ') || 'none'}`
              : undefined,
            modules: (s?.modules ?? []).map((m) => deps.catalog.get(m)?.title ?? m),
            ratings: reflections
              .filter((r) => r.first && evidences(r.moduleId, r.itemId, c.id))
              .map((r) => `${r.itemId} rated ${levelText[r.first!.level]} (${when(r.first!.ratedAt)})`)
              .concat(
                observations.flatMap((o) =>
                  o.ratings
                    .filter((x) => x.competencyId === c.id)
                    .map(
                      (x) =>
                        `Observed ${levelText[x.level]} by ${o.observerName} (${o.observedOn.toISOString().slice(0, 10)}, ${o.setting})`,
                    ),
                ),
              ),
            history: changes,
            passback: entry
              ? {
                  label: passbackLabel[entry.status],
                  badge: passbackBadge[entry.status],
                  at: when(entry.sentAt ?? entry.updatedAt),
                  reason: entry.reason,
                }
              : { label: 'Nothing sent yet', badge: 'none', at: undefined, reason: undefined },
          };
        }),
      );
      res.render('faculty/coach', {
        pageTitle: `${user.name} · ${course.title}`,
        ...pageContext(launch),
        name: user.name,
        observeUrl: `/course/coaches/${user.id}/observations/new`,
        observed: req.query.observed === '1',
        observations: observations.map((o) => ({
          observer: o.observerName,
          on: o.observedOn.toISOString().slice(0, 10),
          setting: o.setting,
          minutes: o.durationMinutes,
          ratings: o.ratings.map((x) => `${x.competencyId} ${levelText[x.level]}`).join(', '),
          version: o.instrumentVersion,
          // The anchor the observer rated against, from the version they used (the instrument may have changed since).
          anchors: o.ratings.map((x) => {
            const used = (deps.instruments ?? new Map([[deps.instrument.version, deps.instrument]])).get(o.instrumentVersion);
            return {
              competency: x.competencyId,
              level: levelText[x.level],
              anchor:
                used?.competencies.find((c) => c.id === x.competencyId)?.anchors[x.level] ??
                `(version ${o.instrumentVersion} of the instrument is not on file)`,
            };
          }),
          narrative: o.narrative,
        })),
        computedAt: when(snapshot?.computedAt),
        competencies,
        attempts: attempts.map((a) => ({
          module: deps.catalog.get(a.moduleId)?.title ?? a.moduleId,
          number: a.number,
          status: a.status === 'completed' ? 'Done' : 'In progress',
          started: when(a.startedAt),
          completed: when(a.completedAt),
          answered: a.answers.length,
        })),
        reflections: reflections.map((r) => ({
          module: r.moduleTitle,
          itemId: r.itemId,
          prompt: r.prompt,
          text: r.text,
          submitted: when(r.submittedAt),
          url: `/course/reflections/${r.attemptId}/${r.itemId}`,
          ratings: [r.first, r.second]
            .filter((x): x is NonNullable<typeof x> => Boolean(x))
            .map((x) => ({ level: levelText[x.level], comment: x.comment, at: when(x.ratedAt) })),
        })),
      });
      if (reflections.length > 0) {
        // Showing reflection text is a read of personal data: the access trail records it, as the rating page does.
        await deps.audit.record({
          actor: `lti:${launch.userId}`,
          action: 'reflection.read',
          courseId: course.id,
          platform: { issuer: launch.issuer, clientId: launch.clientId },
          subjectUserId: user.id,
          detail: `reflections on the coach page in ${course.title}`,
        });
      }
    }),
  );
  return router;
}
