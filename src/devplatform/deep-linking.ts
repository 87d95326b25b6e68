import { randomBytes, randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import { decodeJwt, errors } from 'jose';
import { z } from 'zod';
import { createLineItem } from './ags';
import type { Core } from './core';
import { describeIssues, errorFormat, handle, PlatformError, singleString } from './http';
import { claim, ltiVersion } from './lti';
import { deepLinkTtlMs } from './oidc';
import { onDomain } from './registration';
import { useOnce, type LaunchDoc, type LinkDoc } from './store';
import type { Shape, StoredLink } from './types';

const formSchema = z.object({ JWT: singleString.min(1) });

const resourceLinkItemSchema = z.object({
  type: z.literal('ltiResourceLink'),
  title: z.string().max(1000).optional(),
  text: z.string().max(10_000).optional(),
  url: z.string().url().optional(),
  custom: z.record(z.string()).optional(),
  lineItem: z
    .object({
      scoreMaximum: z.number().positive(),
      label: z.string().min(1).optional(),
      resourceId: z.string().optional(),
      tag: z.string().optional(),
      gradesReleased: z.boolean().optional(),
    })
    .optional(),
  // Presentation (Deep Linking 2.0 §3.4.1): where the platform should open the link.
  iframe: z.object({ width: z.number().positive().optional(), height: z.number().positive().optional() }).optional(),
  window: z
    .object({ targetName: z.string().optional(), width: z.number().positive().optional(), height: z.number().positive().optional() })
    .optional(),
});

/** Presentation targets a content item asks for, by the property that names them. */
const presentationTargets = ['iframe', 'window', 'embed'] as const;

const contentItemsSchema = z.array(z.object({ type: z.string() }).passthrough()).max(100);

const refuse = (message: string): PlatformError => new PlatformError(400, 'invalid_deep_linking_response', message);

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export function toStoredLink(doc: LinkDoc, lineItemIds: string[]): StoredLink {
  return {
    resourceLinkId: doc._id,
    shape: doc.shape,
    contextId: doc.contextId,
    title: doc.title,
    ...(doc.text ? { text: doc.text } : {}),
    ...(doc.url ? { url: doc.url } : {}),
    custom: doc.custom,
    lineItemIds,
    createdAt: doc.createdAt,
  };
}

/** Deep Linking 2.0 §4.2: the tool's LtiDeepLinkingResponse, posted by the browser as form field JWT. */
export function deepLinkingRoutes(core: Core, shape: Shape): Router {
  const router = Router();
  router.post(
    '/deeplink-return',
    errorFormat('page'),
    express.urlencoded({ extended: false, limit: '200kb' }),
    handle(async (req, res) => {
      const form = formSchema.safeParse(req.body);
      if (!form.success) throw refuse(`form field JWT: ${describeIssues(form.error)}`);
      const jwt = form.data.JWT;

      let unverified: ReturnType<typeof decodeJwt>;
      try {
        unverified = decodeJwt(jwt);
      } catch {
        throw refuse('JWT is not a JSON Web Token');
      }
      const clientId = optionalString(unverified.iss);
      const registration = clientId ? await core.registrationByClientId(shape, clientId) : null;
      if (!clientId || !registration) throw refuse('iss must be the client_id of a tool registered with this platform');

      let payload: Awaited<ReturnType<typeof core.toolKeys.verify>>;
      try {
        payload = await core.toolKeys.verify(jwt, registration.jwksUri, {
          algorithms: ['RS256'],
          issuer: clientId,
          audience: core.urls.issuer(shape),
          requiredClaims: ['exp', 'iat', 'nonce'],
          clockTolerance: 5,
        });
      } catch (error) {
        if (error instanceof errors.JWTClaimValidationFailed) throw refuse(`claim ${error.claim}: ${error.message}`);
        if (error instanceof errors.JWTExpired) throw refuse('the response has expired');
        throw refuse('the signature does not verify with the tool JWKS');
      }
      if (payload[claim.messageType] !== 'LtiDeepLinkingResponse') throw refuse('message_type must be LtiDeepLinkingResponse');
      if (payload[claim.version] !== ltiVersion) throw refuse(`version must be ${ltiVersion}`);
      if (payload[claim.deploymentId] !== registration.deploymentId) throw refuse('deployment_id does not match the deployment');
      const data = optionalString(payload[claim.dlData]);
      if (!data) throw refuse('data from deep_linking_settings must be echoed');

      const launch = await core.models.launches.findOne({ dlData: data, shape, clientId }).lean<LaunchDoc>();
      if (!launch || launch.dlData !== data) throw refuse('data does not match a deep linking request of this platform');
      if (launch.createdAt.getTime() + deepLinkTtlMs < Date.now()) throw refuse('the deep linking request has expired');
      if (launch.dlUsedAt) throw refuse('this deep linking request has already been answered');

      const rawItems = contentItemsSchema.safeParse(payload[claim.dlContentItems] ?? []);
      if (!rawItems.success) throw refuse(`content_items: ${describeIssues(rawItems.error)}`);
      if (!launch.acceptMultiple && rawItems.data.length > 1) throw refuse('accept_multiple was false, but more than one item came back');
      // What this request offered, as a real LMS checks it (older launch documents: the defaults).
      const acceptTypes = launch.acceptTypes?.length ? launch.acceptTypes : ['ltiResourceLink'];
      const acceptTargets = launch.acceptTargets?.length ? launch.acceptTargets : ['iframe', 'window'];
      const items = rawItems.data.map((raw, index) => {
        if (!acceptTypes.includes(raw.type)) {
          throw refuse(`content_items.${index}: type ${raw.type} is not in accept_types (${acceptTypes.join(', ')})`);
        }
        if (raw.type !== 'ltiResourceLink') throw refuse(`content_items.${index}: type ${raw.type} is not supported by this test platform`);
        for (const target of presentationTargets) {
          if (raw[target] !== undefined && !acceptTargets.includes(target)) {
            throw refuse(
              `content_items.${index}.${target}: ${target} is not in accept_presentation_document_targets (${acceptTargets.join(', ')})`,
            );
          }
        }
        if (raw.lineItem !== undefined && launch.acceptLineItem === false) {
          throw refuse(`content_items.${index}.lineItem: accept_lineitem was false, so no line item may be sent`);
        }
        const parsed = resourceLinkItemSchema.safeParse(raw);
        if (!parsed.success) throw refuse(`content_items.${index}: ${describeIssues(parsed.error)}`);
        if (parsed.data.url && !onDomain(parsed.data.url, [registration.domain, ...registration.secondaryDomains])) {
          throw refuse(`content_items.${index}.url is not on the tool's domain ${registration.domain}`);
        }
        return parsed.data;
      });

      // All checks passed: only now are the nonce and the request spent, so a forged post burns nothing.
      const nonce = String(payload.nonce);
      if (!(await useOnce(core.models, `dlnonce:${clientId}:${nonce}`, new Date(Date.now() + deepLinkTtlMs)))) {
        throw refuse('nonce has been used before');
      }
      const claimed = await core.models.launches.findOneAndUpdate({ _id: launch._id, dlUsedAt: null }, { $set: { dlUsedAt: new Date() } });
      if (!claimed) throw refuse('this deep linking request has already been answered');

      const added: StoredLink[] = [];
      for (const item of items) {
        const link: LinkDoc = {
          _id: shape === 'canvas' ? randomUUID() : `${launch.contextId}${randomBytes(4).readUInt32BE(0)}`,
          shape,
          contextId: launch.contextId,
          title: item.title ?? 'Untitled',
          ...(item.text ? { text: item.text } : {}),
          ...(item.url ? { url: item.url } : {}),
          custom: item.custom ?? {},
          createdAt: new Date(),
        };
        await core.models.links.create(link);
        const lineItemIds: string[] = [];
        if (item.lineItem) {
          const created = await createLineItem(core, shape, launch.contextId, {
            label: item.lineItem.label ?? link.title,
            scoreMaximum: item.lineItem.scoreMaximum,
            resourceLinkId: link._id,
            ...(item.lineItem.resourceId ? { resourceId: item.lineItem.resourceId } : {}),
            ...(item.lineItem.tag ? { tag: item.lineItem.tag } : {}),
            ...(item.lineItem.gradesReleased !== undefined ? { gradesReleased: item.lineItem.gradesReleased } : {}),
          });
          lineItemIds.push(created._id);
        }
        added.push(toStoredLink(link, lineItemIds));
      }
      const msg = optionalString(payload[claim.dlMsg]);
      const errormsg = optionalString(payload[claim.dlErrorMsg]);
      core.log.info(
        { shape, contextId: launch.contextId, added: added.length, log: payload[claim.dlLog], errorlog: payload[claim.dlErrorLog] },
        'devplatform: deep linking response accepted',
      );
      res.render('devplatform/deep-link-result', {
        pageTitle: 'Content added',
        base: res.locals.devplatformBase as string,
        count: added.length,
        plural: added.length !== 1,
        links: added,
        msg,
        errormsg,
        shape,
        contextId: launch.contextId,
      });
    }),
  );
  return router;
}
