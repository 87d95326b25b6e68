import type { z } from 'zod';
import { describeClaimIssues, idTokenClaimsSchema } from '../../src/lti/claims';
import { Browser, decodeHtml } from '../support/browser';
import { documentCounts, launchInput, prepareLaunch } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

const lti = (name: string): string => `https://purl.imsglobal.org/spec/lti/claim/${name}`;
const dl = (name: string): string => `https://purl.imsglobal.org/spec/lti-dl/claim/${name}`;

describe('refusal pages for malformed claims', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  /** A genuine launch whose signed claims `change` alters; returns the tool's page text and status. */
  async function refusedWith(
    change: (claims: Record<string, unknown>) => Record<string, unknown>,
    input = launchInput('canvas', 'coach'),
  ): Promise<{ status: number; text: string }> {
    const browser = new Browser();
    const prepared = await prepareLaunch(server, browser, input);
    const token = await server.devPlatform!.signIdToken(input.shape, change(prepared.claims));
    const before = await documentCounts(server);
    const res = await browser.post(prepared.launchUrl, { id_token: token, state: prepared.state });
    expect(await documentCounts(server)).toEqual(before);
    return { status: res.status, text: decodeHtml(res.text) };
  }

  const deepLinking = launchInput('moodle', 'faculty', { messageType: 'LtiDeepLinkingRequest' });

  test.each([
    [
      'deep_linking_settings.data is a number',
      (c: Record<string, unknown>) => ({
        ...c,
        [dl('deep_linking_settings')]: { ...(c[dl('deep_linking_settings')] as object), data: 42 },
      }),
      'deep_linking_settings.data must be a string',
      deepLinking,
    ],
    [
      'deep_linking_settings.deep_link_return_url is not a URL',
      (c: Record<string, unknown>) => ({
        ...c,
        [dl('deep_linking_settings')]: { ...(c[dl('deep_linking_settings')] as object), deep_link_return_url: 'secret-value-not-a-url' },
      }),
      'deep_linking_settings.deep_link_return_url must be an absolute URL',
      deepLinking,
    ],
    [
      'roles is a string',
      (c: Record<string, unknown>) => ({ ...c, [lti('roles')]: 'Learner' }),
      'roles must be a list',
      launchInput('canvas', 'coach'),
    ],
    [
      'resource_link is missing',
      (c: Record<string, unknown>) => ({ ...c, [lti('resource_link')]: undefined }),
      'resource_link is required in a resource link launch',
      launchInput('canvas', 'coach'),
    ],
    [
      'context.id is empty',
      (c: Record<string, unknown>) => ({ ...c, [lti('context')]: { ...(c[lti('context')] as object), id: '' } }),
      'context.id must not be empty',
      launchInput('moodle', 'coach'),
    ],
  ])('when %s, then the page names the claim and the rule', async (_label, change, expected, input) => {
    const res = await refusedWith(change, input);
    expect(res.status).toBe(400);
    expect(res.text).toContain(`The launch message from your LMS does not follow LTI 1.3: ${expected}.`);
    expect(res.text).toContain('Error code: INVALID_CLAIMS');
    expect(res.text).not.toContain('missing information');
    expect(res.text).not.toContain('secret-value-not-a-url');
  });

  test('when a claim carries a bad value, then the page shows the claim name but never the value', async () => {
    const res = await refusedWith((c) => ({ ...c, [lti('custom')]: { '<b>secret-key</b>': { nested: 'secret-value' } } }));
    expect(res.status).toBe(400);
    expect(res.text).toContain('custom.… must be a string, number or boolean');
    expect(res.text).not.toContain('secret');
  });
});

describe('describeClaimIssues', () => {
  test('when several claims are wrong, then up to three are named and the rest counted', () => {
    const parsed = idTokenClaimsSchema.safeParse({ iss: 1, sub: 2, name: 3, email: 4, [lti('roles')]: 'x' });
    expect(parsed.success).toBe(false);
    const text = describeClaimIssues((parsed as { error: z.ZodError }).error);
    expect(text).toMatch(/^iss must be a string; sub must be a string; name must be a string \(and \d+ more\)$/);
  });
});
