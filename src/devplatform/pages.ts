import express, { Router, type Response } from 'express';
import { z } from 'zod';
import type { Core } from './core';
import { loadDeepLinks, loadGradebook } from './gradebook';
import { errorFormat, handle, parse, PlatformError, singleString } from './http';
import { messageTypes } from './lti';
import { renderAutoPost, startLaunch } from './oidc';
import { contextIdFor, courseKeys, personaKey, personas, userIdFor, type Persona } from './seed';
import type { CourseDoc, RegistrationDoc } from './store';
import { shapes, type Shape } from './types';

const shapeLabels: Record<Shape, string> = { canvas: 'Canvas-shaped platform', moodle: 'Moodle-shaped platform' };
const personaLabels: Record<Persona, string> = {
  coach: 'Coach (learner)',
  coach2: 'Another coach (learner)',
  faculty: 'Faculty (instructor)',
  ta: 'Teaching assistant',
  admin: 'Site administrator (not enrolled)',
};

const homeQuerySchema = z.object({
  shape: z.enum(shapes).default('canvas'),
  course: singleString.optional(),
  persona: z.enum(personas).default('coach'),
  what: singleString.default('training'),
  go: singleString.optional(),
  registered: singleString.optional(),
});

const launchQuerySchema = z.object({
  shape: z.enum(shapes),
  context: singleString.min(1),
  user: singleString.min(1),
  message: z.enum(messageTypes).default('LtiResourceLinkRequest'),
  link: singleString.optional(),
  // Deep linking settings to offer, e.g. ?accept_types=link&accept_multiple=false&accept_lineitem=false&targets=window
  accept_types: singleString.optional(),
  accept_multiple: z.enum(['true', 'false']).optional(),
  accept_lineitem: z.enum(['true', 'false']).optional(),
  targets: singleString.optional(),
});

const targetList = z.array(z.enum(['iframe', 'window', 'embed']));
const commaList = (value: string): string[] =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

const gradebookQuerySchema = z.object({ shape: z.enum(shapes).optional(), context: singleString.optional() });

const returnQuerySchema = z
  .object({
    context: singleString.optional(),
    lti_msg: singleString.optional(),
    lti_errormsg: singleString.optional(),
    lti_log: singleString.optional(),
    lti_errorlog: singleString.optional(),
  })
  .passthrough();

const autoSubmitScript = `'use strict';
// Submits the LTI form post on this page; the visible button covers browsers without JavaScript.
document.addEventListener('DOMContentLoaded', function () {
  var form = document.querySelector('form[data-devplatform-autosubmit]');
  if (form) form.submit();
});
`;

/**
 * Sizes the tool's iframe to the height the tool's pages announce (lti.frameResize), as Canvas and Moodle
 * do; only messages from the framed tool itself (its window and its origin) are honoured.
 */
const frameResizeScript = `'use strict';
(function () {
  var frame = document.querySelector('iframe[data-tool-origin]');
  if (!frame) return;
  var origin = frame.getAttribute('data-tool-origin');
  window.addEventListener('message', function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (typeof data === 'string') {
      try { data = JSON.parse(data); } catch (e) { return; }
    }
    if (!data || data.subject !== 'lti.frameResize') return;
    var height = Number(data.height);
    if (!isFinite(height) || height < 1) return;
    // The frame's border is inside its CSS height (border-box): add it, so the page gets all it asked for.
    var border = frame.offsetHeight - frame.clientHeight;
    frame.style.height = Math.min(Math.ceil(height), 50000) + border + 'px';
    frame.setAttribute('data-resized', 'true');
  });
})();
`;

const styles = `.devplatform-banner { background: #a4161a; color: #fff; padding: .75rem 1rem; font-weight: 700; border-radius: 4px; margin-bottom: 1rem; }
.devplatform-banner p, .devplatform-banner ul { margin: 0; }
.devplatform-banner ul { font-weight: 400; padding-left: 1.25rem; }
.devplatform-banner a, .devplatform-banner code { color: #fff; background: transparent; }
.devplatform-form { display: grid; gap: .75rem; max-width: 32rem; }
.devplatform-form label { font-weight: 600; display: block; }
.devplatform-form select { font: inherit; padding: .35rem; width: 100%; }
.devplatform-frame { display: block; width: 100%; height: 40rem; border: 2px solid #c9d1da; border-radius: 4px; }
.devplatform-note { background: #f6f8fa; border-left: 4px solid #8a4b00; padding: .5rem .75rem; }
`;

/**
 * Lets the page frame the tool when it lives on another origin (TOOL_URL behind a tunnel): the host
 * app's CSP allows only same-origin frames by default.
 */
function allowToolFrame(res: Response, core: Core): void {
  const toolOrigin = new URL(core.urls.tool).origin;
  if (toolOrigin === new URL(core.urls.platform).origin) return;
  const csp = res.getHeader('Content-Security-Policy');
  if (typeof csp === 'string' && !/frame-src/.test(csp)) res.setHeader('Content-Security-Policy', `${csp};frame-src 'self' ${toolOrigin}`);
}

function registrationView(registration: RegistrationDoc | null): Record<string, unknown> | undefined {
  if (!registration) return undefined;
  return {
    clientId: registration._id,
    deploymentId: registration.deploymentId,
    toolName: registration.clientName ?? '(no client_name)',
    privacyLevel: registration.privacyLevel ?? (registration.shape === 'canvas' ? '(not sent)' : '(Moodle uses the registered claims)'),
    scopes: registration.scopes,
    claims: registration.claims.join(', '),
    jwksUri: registration.jwksUri,
    initiateLoginUri: registration.initiateLoginUri,
    redirectUris: registration.redirectUris,
    messages: registration.messages.map((m) => m.type).join(', '),
    createdAt: registration.createdAt.toISOString(),
    requestJson: JSON.stringify(JSON.parse(registration.requestJson) as unknown, null, 2),
  };
}

/** Browser pages: pick a launch, watch it run in an iframe, and read the gradebook. */
export function pageRoutes(core: Core, registerWithTool: () => Promise<void>): Router {
  const router = Router();

  router.get('/assets/autosubmit.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'no-cache').send(autoSubmitScript);
  });
  router.get('/assets/frame-resize.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'no-cache').send(frameResizeScript);
  });
  router.get('/assets/devplatform.css', (_req, res) => {
    res.type('text/css').set('Cache-Control', 'no-cache').send(styles);
  });

  router.get(
    '/',
    errorFormat('page'),
    handle(async (req, res) => {
      const query = parse(homeQuerySchema, req.query, 'query');
      await core.ensureSeed();
      const base = res.locals.devplatformBase as string;
      const courseKey = courseKeys().some((c) => c.key === query.course) ? (query.course ?? '') : (courseKeys()[0]?.key ?? '');
      const contextId = contextIdFor(query.shape, courseKey);
      const links = await loadDeepLinks(core, contextId);
      const registrations = await Promise.all(shapes.map(async (shape) => ({ shape, registration: await core.registration(shape) })));
      let notice: string | undefined;
      let frameSrc: string | undefined;
      let launchedAs: string | undefined;

      if (query.go === 'launch') {
        const personKey = personaKey(query.persona, courseKey);
        const registered = registrations.find((r) => r.shape === query.shape)?.registration;
        const deepLinking = query.what === 'deeplink';
        const linkId = query.what.startsWith('link:') ? query.what.slice(5) : undefined;
        const mayAddContent =
          query.persona === 'faculty' || query.persona === 'admin' || (query.persona === 'ta' && query.shape === 'canvas');
        if (!registered) notice = `The ${query.shape} platform is not registered with the tool yet. Use "Register with the tool" below.`;
        else if (!personKey) notice = 'Pick a user.';
        else if (deepLinking && !mayAddContent)
          notice = 'Only faculty and administrators can add content (a real LMS would not offer it to this user).';
        else if (linkId && !links.some((l) => l.resourceLinkId === linkId))
          notice = 'That link belongs to another course or platform: pick again.';
        else {
          const userId = userIdFor(query.shape, personKey);
          const params = new URLSearchParams({
            shape: query.shape,
            context: contextId,
            user: userId,
            message: deepLinking ? 'LtiDeepLinkingRequest' : 'LtiResourceLinkRequest',
            ...(linkId ? { link: linkId } : {}),
          });
          frameSrc = `${base}/launch?${params.toString()}`;
          const user = await core.models.users.findById(`${query.shape}:${userId}`).lean();
          launchedAs = `${user?.name ?? userId} (${personaLabels[query.persona]})`;
          allowToolFrame(res, core);
        }
      }

      res.render('devplatform/home', {
        pageTitle: 'Development test platform',
        base,
        notice,
        registeredNow: query.registered === '1',
        frameSrc,
        launchedAs,
        shapes: shapes.map((shape) => ({ value: shape, label: shapeLabels[shape], selected: shape === query.shape })),
        courses: courseKeys().map((c) => ({ value: c.key, label: c.title, selected: c.key === courseKey })),
        personas: personas.map((p) => ({ value: p, label: personaLabels[p], selected: p === query.persona })),
        targets: [
          { value: 'training', label: 'My training', selected: query.what === 'training' },
          ...links.map((l) => ({
            value: `link:${l.resourceLinkId}`,
            label: `Link: ${l.title}`,
            selected: query.what === `link:${l.resourceLinkId}`,
          })),
          { value: 'deeplink', label: 'Add content (deep linking)', selected: query.what === 'deeplink' },
        ],
        linkCount: links.length,
        registrations: registrations.map(({ shape, registration }) => ({
          shape,
          label: shapeLabels[shape],
          registration: registrationView(registration),
          gradebooks: courseKeys().map((c) => ({
            title: c.title,
            href: `${base}/gradebook?shape=${shape}&context=${encodeURIComponent(contextIdFor(shape, c.key))}`,
          })),
        })),
        allRegistered: registrations.every((r) => r.registration),
        toolUrl: core.urls.tool,
        toolOrigin: new URL(core.urls.tool).origin,
      });
    }),
  );

  router.post(
    '/register-tool',
    errorFormat('page'),
    express.urlencoded({ extended: false, limit: '1kb' }),
    handle(async (_req, res) => {
      try {
        await registerWithTool();
      } catch (error) {
        throw new PlatformError(502, 'registration_failed', (error as Error).message);
      }
      res.redirect(303, `${res.locals.devplatformBase as string}/?registered=1`);
    }),
  );

  router.get(
    '/launch',
    errorFormat('page'),
    handle(async (req, res) => {
      const query = parse(launchQuerySchema, req.query, 'launch');
      const launch = await startLaunch(core, {
        shape: query.shape,
        userId: query.user,
        contextId: query.context,
        messageType: query.message,
        ...(query.link ? { resourceLinkId: query.link } : {}),
        ...(query.accept_types ? { acceptTypes: commaList(query.accept_types) } : {}),
        ...(query.accept_multiple ? { acceptMultiple: query.accept_multiple === 'true' } : {}),
        ...(query.accept_lineitem ? { acceptLineItem: query.accept_lineitem === 'true' } : {}),
        ...(query.targets ? { acceptTargets: parse(targetList, commaList(query.targets), 'targets') } : {}),
      });
      renderAutoPost(res, {
        title: 'Starting the LTI launch',
        action: launch.url,
        fields: launch.params,
        explanation: 'Third-party initiated login: posting to the tool’s login initiation URL.',
      });
    }),
  );

  router.get(
    '/gradebook',
    errorFormat('page'),
    handle(async (req, res) => {
      const query = parse(gradebookQuerySchema, req.query, 'query');
      await core.ensureSeed();
      const base = res.locals.devplatformBase as string;
      const courses = await core.models.courses.find().sort({ shape: 1, key: 1 }).lean<CourseDoc[]>();
      const chosen = courses.find((c) => c._id === query.context && (!query.shape || c.shape === query.shape));
      const courseList = courses.map((c) => ({
        label: `${shapeLabels[c.shape]}: ${c.title}`,
        href: `${base}/gradebook?shape=${c.shape}&context=${encodeURIComponent(c._id)}`,
        current: c._id === chosen?._id,
      }));
      if (!chosen) {
        res.render('devplatform/gradebook', { pageTitle: 'Gradebook', base, courseList });
        return;
      }
      const [gradebook, links, registration] = await Promise.all([
        loadGradebook(core, chosen._id),
        loadDeepLinks(core, chosen._id),
        core.registration(chosen.shape),
      ]);
      const learnerCount = await core.models.enrollments.countDocuments({ contextId: chosen._id, role: 'learner' });
      res.render('devplatform/gradebook', {
        pageTitle: `Gradebook · ${chosen.title}`,
        base,
        courseList,
        course: { title: chosen.title, contextId: chosen._id, shapeLabel: shapeLabels[chosen.shape] },
        registration: registrationView(registration),
        lineItems: gradebook.lineItems.map((item) => ({
          ...item,
          linkTitle: links.find((l) => l.resourceLinkId === item.resourceLinkId)?.title,
          withoutScore: learnerCount - item.results.length,
          results: item.results.map((r) => ({
            ...r,
            score: r.scoreGiven !== undefined ? `${r.scoreGiven} / ${r.scoreMaximum ?? '?'}` : '—',
          })),
        })),
        links,
      });
    }),
  );

  return router;
}

/** launch_presentation.return_url: where the tool sends the user back, with lti_msg / lti_errormsg. */
export function returnRoutes(core: Core, shape: Shape): Router {
  const router = Router();
  router.get(
    '/return',
    errorFormat('page'),
    handle(async (req, res) => {
      const query = parse(returnQuerySchema, req.query, 'query');
      if (query.lti_log || query.lti_errorlog)
        core.log.info({ shape, log: query.lti_log, errorlog: query.lti_errorlog }, 'devplatform: tool returned');
      res.render('devplatform/return', {
        pageTitle: 'Back from the tool',
        base: res.locals.devplatformBase as string,
        shapeLabel: shapeLabels[shape],
        msg: query.lti_msg,
        errormsg: query.lti_errormsg,
      });
    }),
  );
  return router;
}
