import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { MongoClient } from 'mongodb';
import { collectionCounts, startChildServer, type ChildServer } from '../support/child-server';
import { recordFuzzFigures } from './figures';

/**
 * Property-based fuzzing of every route an anonymous client can reach. Whatever arrives — arrays where
 * strings belong, operator keys, odd encodings, huge or binary bodies — the answer is never a 5xx, the
 * process keeps running and nothing is written (except what an anonymous visit writes by design: the
 * session holding a sign-in form's CSRF token, and the audit entry of a failed sign-in).
 */
const requests = Number(process.env.FUZZ_REQUESTS ?? 2000);
const writesByDesign = new Set(['sessions', 'admin_audit_log']);

const routes = [
  { method: 'GET', path: '/lti/login' },
  { method: 'POST', path: '/lti/login' },
  { method: 'POST', path: '/lti/launch' },
  { method: 'GET', path: '/lti/launch' },
  { method: 'GET', path: '/lti/register' },
  { method: 'GET', path: '/lti/keys' },
  { method: 'POST', path: '/lti/anything' },
  { method: 'GET', path: '/admin/login' },
  { method: 'POST', path: '/admin/login' },
  { method: 'GET', path: '/api/competencies' },
  { method: 'POST', path: '/api/competencies' },
  { method: 'GET', path: '/' },
] as const;

const knownNames = [
  'iss',
  'login_hint',
  'target_link_uri',
  'lti_message_hint',
  'client_id',
  'lti_deployment_id',
  'lti_storage_target',
  'state',
  'id_token',
  'openid_configuration',
  'registration_token',
  'invite',
  'email',
  'password',
  'next',
  '_csrf',
];

const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', 'a b', ';', '%', '%zz', '\u0000', '\r\nSet-Cookie: x=1', '../../etc/passwd', '{"$ne":null}', 'x'.repeat(5000)),
  fc.webUrl(),
  fc.constantFrom('https://canvas.instructure.com', 'http://127.0.0.1:1/', 'javascript:alert(1)', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.'),
);

const paramName = fc.oneof(
  fc.constantFrom(...knownNames),
  fc.constantFrom(...knownNames).map((n) => `${n}[$regex]`),
  fc.constantFrom(...knownNames).map((n) => `${n}[$where]`),
  fc.constantFrom(...knownNames).map((n) => `${n}[]`),
  fc.constantFrom('__proto__', 'constructor', 'toString', '$where'),
  fc.string({ minLength: 1, maxLength: 12 }),
);

const params = fc.array(fc.tuple(paramName, nastyString), { maxLength: 8 });

const bodyKind = fc.constantFrom('none', 'form', 'json', 'text', 'binary', 'gzip-form', 'fake-gzip', 'multipart', 'huge');

interface Generated {
  route: (typeof routes)[number];
  query: [string, string][];
  body: [string, string][];
  kind: string;
  binary: number[];
}

const generated: fc.Arbitrary<Generated> = fc.record({
  route: fc.constantFrom(...routes),
  query: params,
  body: params,
  kind: bodyKind,
  binary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }),
});

function encode(pairs: [string, string][]): string {
  const search = new URLSearchParams();
  for (const [k, v] of pairs) search.append(k, v);
  return search.toString();
}

function requestOf(g: Generated): { url: string; init: RequestInit } {
  const query = g.query.length > 0 ? `?${encode(g.query)}` : '';
  const headers: Record<string, string> = { Accept: 'text/html' };
  let body: string | Buffer | undefined;
  if (g.route.method === 'POST') {
    switch (g.kind) {
      case 'form':
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        body = encode(g.body);
        break;
      case 'json':
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(Object.fromEntries(g.body.map(([k, v]) => [k, { $ne: v, toString: 1 }])));
        break;
      case 'text':
        headers['Content-Type'] = 'text/plain';
        body = encode(g.body);
        break;
      case 'binary':
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        body = Buffer.from(g.binary);
        break;
      case 'gzip-form':
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        headers['Content-Encoding'] = 'gzip';
        body = gzipSync(encode(g.body));
        break;
      case 'fake-gzip':
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        headers['Content-Encoding'] = 'gzip';
        body = encode(g.body);
        break;
      case 'multipart':
        headers['Content-Type'] = 'multipart/form-data; boundary=x';
        body = `--x\r\nContent-Disposition: form-data; name="state"\r\n\r\na b\r\n--x--\r\n`;
        break;
      case 'huge':
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        body = `state=${'a'.repeat(300_000)}`;
        break;
      default:
        break;
    }
  }
  return { url: `${g.route.path}${query}`, init: { method: g.route.method, headers, body, redirect: 'manual' } };
}

describe('fuzzing the unauthenticated routes', () => {
  let child: ChildServer;
  let client: MongoClient;
  beforeAll(async () => {
    child = await startChildServer({ LOG_LEVEL: 'error' });
    client = await MongoClient.connect(child.databaseUri);
  }, 120_000);
  afterAll(async () => {
    await client.close();
    await child.stop();
  });

  const counts = (): Promise<Record<string, number>> => collectionCounts(client, writesByDesign);

  test(`when ${requests} generated requests reach the anonymous routes, then none gets a 5xx, the process lives and nothing is written`, async () => {
    const before = await counts();
    const failures: string[] = [];
    let sent = 0;
    let serverErrors = 0;
    await fc
      .assert(
        fc.asyncProperty(generated, async (g) => {
          const { url, init } = requestOf(g);
          sent += 1;
          let status = 0;
          try {
            const res = await fetch(`${child.url}${url}`, init);
            status = res.status;
            await res.arrayBuffer();
          } catch (error) {
            failures.push(`${init.method} ${url.slice(0, 120)} (${g.kind}): ${(error as Error).message}`);
            return false;
          }
          if (status >= 500) {
            serverErrors += 1;
            failures.push(`${init.method} ${url.slice(0, 120)} (${g.kind}): HTTP ${status}`);
            return false;
          }
          return child.alive();
        }),
        { numRuns: requests, seed: Number(process.env.FUZZ_SEED ?? 20261125), endOnFailure: true },
      )
      .catch((error: unknown) => failures.push(String((error as Error).message).slice(0, 2000)));
    const after = await counts();
    const written = Object.keys({ ...before, ...after }).filter((k) => (after[k] ?? 0) !== (before[k] ?? 0));
    recordFuzzFigures({
      requests: sent,
      serverErrors,
      processExits: child.alive() ? 0 : 1,
      writesOnRefusals: written.reduce((n, k) => n + Math.abs((after[k] ?? 0) - (before[k] ?? 0)), 0),
      routes: routes.map((r) => `${r.method} ${r.path}`),
    });
    expect(failures).toEqual([]);
    expect(child.alive()).toBe(true);
    expect(written).toEqual([]);
    expect(sent).toBe(requests);
  }, 600_000);
});
