import express, { Router, type Request, type Response } from 'express';
import type { Connection } from 'mongoose';
import { z } from 'zod';
import type { Catalog } from '../curriculum/catalog';
import { BadRequestError, ForbiddenError } from '../shared/errors';
import { asyncHandler } from '../web/async-handler';
import { pageContext } from '../web/page-context';
import { csrfToken, requireLaunch, verifyCsrf } from '../web/session';
import { canOfferModules, moduleContentItem, signDeepLinkingResponse, type DeepLinkingOffer } from './deep-linking';
import type { LtiProvider } from './ltijs-adapter';
import type { ToolUrls } from './tool-configuration';

const selectionSchema = z.object({
  action: z.enum(['add', 'cancel']).default('add'),
  modules: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
});

type DeepLinkingSession = NonNullable<NonNullable<Express.Request['session']['launch']>['deepLinking']>;

/** Sessions from before the accept_* settings were kept get the defaults of that time. */
function offerOf(settings: DeepLinkingSession): DeepLinkingOffer {
  return {
    acceptTypes: settings.acceptTypes ?? ['ltiResourceLink'],
    acceptLineItem: settings.acceptLineItem,
    presentationTargets: settings.presentationTargets ?? [],
  };
}

const unsupportedMessage = (offer: DeepLinkingOffer): string =>
  `This place in your LMS accepts only ${offer.acceptTypes.join(', ')} items, but a CoachLTI module needs an LTI resource link ` +
  '(so coaches sign in and their scores reach the gradebook). Nothing was added.';

/** One response per deep-linking launch, also where no session remembers it (a browser without cookies). */
export interface SpentDeepLinks {
  /** True the first time for this launch id, false ever after. */
  claim(launchId: string): Promise<boolean>;
}

export function createSpentDeepLinks(connection: Connection): SpentDeepLinks {
  const collection = () => connection.collection<{ _id: string; createdAt: Date }>('lti_deep_link_responses');
  return {
    async claim(launchId) {
      try {
        await collection().insertOne({ _id: launchId, createdAt: new Date() });
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === 11000) return false;
        throw error;
      }
    },
  };
}

/** Deep Linking 2.0: the instructor picks modules; we answer the platform with a signed response. */
export function deepLinkingRoutes(deps: { catalog: Catalog; provider: LtiProvider; urls: ToolUrls; spent?: SpentDeepLinks }): Router {
  const router = Router();
  const gate = requireLaunch('instructor', 'admin');

  router.get('/deep-linking', gate, (req, res, next) => {
    const launch = req.session.launch!;
    if (!launch.deepLinking) {
      next(new ForbiddenError('Adding content starts from your LMS ("Add an activity" or "External tool").'));
      return;
    }
    const offer = offerOf(launch.deepLinking);
    if (!canOfferModules(offer)) {
      res.render('lti/deep-linking-unsupported', {
        pageTitle: 'CoachLTI cannot be added here',
        user: { name: launch.userName },
        course: { title: launch.courseTitle },
        roleLabel: 'Faculty',
        acceptTypes: offer.acceptTypes.join(', '),
        csrf: csrfToken(req),
      });
      return;
    }
    renderChoice(req, res, 200, launch.deepLinking.acceptMultiple, [], undefined);
  });

  /** The module list; after a refusal, again with the message beside it and the ticks kept. */
  function renderChoice(req: Request, res: Response, status: number, multiple: boolean, ticked: readonly string[], error?: string): void {
    const launch = req.session.launch!;
    const modules = deps.catalog.list();
    res.status(status).render('lti/deep-linking', {
      pageTitle: 'Add CoachLTI modules',
      ...pageContext(launch),
      roleLabel: 'Faculty',
      modules: modules.map((m) => ({ ...m, checked: ticked.includes(m.id) })),
      multiple,
      error,
      errors: error && modules[0] ? [{ field: `m-${modules[0].id}`, message: error }] : [],
      csrf: csrfToken(req),
    });
  }

  router.post(
    '/deep-linking',
    gate,
    express.urlencoded({ extended: false, limit: '20kb' }),
    verifyCsrf,
    asyncHandler(async (req, res) => {
      const launch = req.session.launch!;
      const settings = launch.deepLinking;
      if (!settings) throw new ForbiddenError('This content selection has already been sent. Start again from your LMS.');
      const parsed = selectionSchema.safeParse(req.body);
      if (!parsed.success) throw new BadRequestError('The selection could not be read.');
      const { action, modules } = parsed.data;
      const offer = offerOf(settings);
      const supported = canOfferModules(offer);
      if (action === 'add' && !supported) throw new BadRequestError(unsupportedMessage(offer));
      const chosen = action === 'cancel' ? [] : modules.map((id) => deps.catalog.get(id));
      const refusal = chosen.some((m) => m === undefined)
        ? 'Unknown module selected.'
        : action === 'add' && chosen.length === 0
          ? 'Select at least one module, or choose Cancel.'
          : !settings.acceptMultiple && chosen.length > 1
            ? 'Your LMS accepts one module at a time here. Select one.'
            : undefined;
      // Nothing is signed or sent: the same list comes back with the message and the ticks kept.
      if (refusal) return renderChoice(req, res, 400, settings.acceptMultiple, modules, refusal);
      const launchId = req.launchContext?.lid;
      if (deps.spent && launchId && !(await deps.spent.claim(launchId)))
        throw new ForbiddenError('This content selection has already been sent. Start again from your LMS.');
      const signing = await deps.provider.signingKey(launch.issuer, launch.clientId);
      if (!signing) throw new ForbiddenError('This LMS is no longer registered with CoachLTI.');
      const items = chosen.flatMap((m) => (m ? [moduleContentItem(m, deps.urls.launch, offer)] : []));
      const jwt = await signDeepLinkingResponse({
        signing,
        platformIssuer: launch.issuer,
        clientId: launch.clientId,
        deploymentId: launch.deploymentId,
        data: settings.data,
        items,
        message:
          items.length === 0 ? 'No CoachLTI module was added.' : `${items.length} CoachLTI module${items.length > 1 ? 's' : ''} added.`,
        ...(supported ? {} : { errorMessage: unsupportedMessage(offer) }),
      });
      // One response per deep-linking launch.
      req.session.launch = { ...launch, deepLinking: undefined };
      res.render('lti/deep-linking-return', {
        pageTitle: 'Returning to your LMS',
        returnUrl: settings.returnUrl,
        jwt,
        count: items.length,
      });
    }),
  );
  return router;
}
