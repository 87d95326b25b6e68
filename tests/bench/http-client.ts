/**
 * A lean browser for the bench: keep-alive node:http, a cookie jar per origin, manual redirects, and the
 * auto-posting forms of the OIDC round trip. Kept small so the driver takes as little CPU as possible
 * from the processes it measures.
 */
import http from 'node:http';
import { parseForms } from '../support/browser';

export const agent = new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });

export interface Answer {
  status: number;
  url: string;
  location: string | undefined;
  text: string;
}

export class BenchBrowser {
  private readonly jar = new Map<string, Map<string, string>>();

  request(method: string, url: string, form?: Record<string, string>, json?: unknown): Promise<Answer> {
    const target = new URL(url);
    const headers: Record<string, string> = { Accept: 'text/html', 'User-Agent': 'CoachLTI-bench' };
    const cookies = this.jar.get(target.host);
    if (cookies && cookies.size > 0) headers.Cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (form) {
      body = new URLSearchParams(form).toString();
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    } else if (json !== undefined) {
      body = JSON.stringify(json);
      headers['Content-Type'] = 'application/json';
    }
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        { agent, method, host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, headers },
        (res) => {
          for (const line of res.headers['set-cookie'] ?? []) {
            const pair = line.split(';')[0] ?? '';
            const eq = pair.indexOf('=');
            if (eq < 0) continue;
            let jar = this.jar.get(target.host);
            if (!jar) this.jar.set(target.host, (jar = new Map()));
            const name = pair.slice(0, eq).trim();
            const value = pair.slice(eq + 1).trim();
            if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
            else jar.set(name, value);
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const location = res.headers.location;
            resolve({
              status: res.statusCode ?? 0,
              url,
              location: location ? new URL(location, url).toString() : undefined,
              text: Buffer.concat(chunks).toString('utf8'),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  get(url: string): Promise<Answer> {
    return this.request('GET', url);
  }

  async follow(answer: Answer, max = 5): Promise<Answer> {
    let current = answer;
    for (let i = 0; i < max && current.location && current.status >= 300 && current.status < 400; i += 1)
      current = await this.get(current.location);
    return current;
  }

  /** Submits the page's first form, as the auto-posting pages of the round trip do. */
  submitForm(page: Answer): Promise<Answer> {
    const form = parseForms(page.text, page.url)[0];
    if (!form) throw new Error(`no form on ${page.url} (HTTP ${page.status}): ${page.text.slice(0, 300)}`);
    return form.method === 'post'
      ? this.request('POST', form.action, form.fields)
      : this.get(`${form.action}?${new URLSearchParams(form.fields).toString()}`);
  }
}

/**
 * One full launch as a browser in an LMS iframe: the platform's launch page (auto-posting to the tool's
 * login initiation), login → platform auth → id_token POST → the tool's first page. Returns that page.
 */
export async function fullLaunch(browser: BenchBrowser, launchUrl: string): Promise<Answer> {
  const start = await browser.get(launchUrl);
  if (start.status !== 200) throw new Error(`platform launch page answered ${start.status}: ${start.text.slice(0, 200)}`);
  const login = await browser.submitForm(start);
  if (login.status !== 302 && login.status !== 303) throw new Error(`login answered ${login.status}: ${login.text.slice(0, 200)}`);
  const auth = await browser.follow(login, 1);
  if (auth.status !== 200) throw new Error(`platform auth answered ${auth.status}: ${auth.text.slice(0, 200)}`);
  const posted = await browser.submitForm(auth);
  const page = await browser.follow(posted);
  if (page.status !== 200) throw new Error(`launch ended on ${page.status} at ${page.url}: ${page.text.slice(0, 200)}`);
  return page;
}
