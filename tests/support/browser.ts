/**
 * A small cookie-keeping HTTP client that behaves like a browser in an LMS iframe: it submits the
 * auto-posting forms of the OIDC round trip and follows redirects only when asked to.
 */
export interface PageResponse {
  status: number;
  url: string;
  location: string | undefined;
  text: string;
  headers: Headers;
}

export interface HtmlForm {
  action: string;
  method: string;
  fields: Record<string, string>;
  /** Radio and checkbox groups: name → option values in page order. */
  choices: Record<string, string[]>;
  /** Names of the form's text areas. */
  textareas: string[];
}

const entities: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#x27;': "'",
  '&#39;': "'",
  '&#x3D;': '=',
  '&#x60;': '`',
  '&#x2F;': '/',
};

export function decodeHtml(value: string): string {
  return value.replace(/&(?:amp|lt|gt|quot|#x27|#39|#x3D|#x60|#x2F);/g, (m) => entities[m] ?? m);
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i').exec(tag);
  return match ? decodeHtml(match[2] ?? match[3] ?? '') : undefined;
}

/** Every form on the page with its hidden and text inputs (first option of each radio group is not chosen). */
export function parseForms(html: string, baseUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  const formRe = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  for (let m = formRe.exec(html); m; m = formRe.exec(html)) {
    const tag = m[1] ?? '';
    const body = m[2] ?? '';
    const fields: Record<string, string> = {};
    const choices: Record<string, string[]> = {};
    const inputRe = /<input\b[^>]*>/gi;
    for (let i = inputRe.exec(body); i; i = inputRe.exec(body)) {
      const type = (attribute(i[0], 'type') ?? 'text').toLowerCase();
      const name = attribute(i[0], 'name');
      if (!name || type === 'submit') continue;
      if (type === 'checkbox' || type === 'radio') {
        choices[name] = [...(choices[name] ?? []), attribute(i[0], 'value') ?? 'on'];
        continue;
      }
      fields[name] = attribute(i[0], 'value') ?? '';
    }
    const textareas = [...body.matchAll(/<textarea\b[^>]*>/gi)].map((t) => attribute(t[0], 'name') ?? '').filter(Boolean);
    forms.push({
      action: new URL(attribute(tag, 'action') ?? baseUrl, baseUrl).toString(),
      method: (attribute(tag, 'method') ?? 'get').toLowerCase(),
      fields,
      choices,
      textareas,
    });
  }
  return forms;
}

export class Browser {
  private readonly cookies = new Map<string, string>();
  /** Headers sent with every request (e.g. the Origin an LMS page gives its form posts). */
  extraHeaders: Record<string, string> = {};

  cookieNames(): string[] {
    return [...this.cookies.keys()];
  }

  /** A GET whose body is kept as bytes (PDF, images), with this browser's cookies. */
  async getBytes(url: string): Promise<{ status: number; headers: Headers; body: Buffer }> {
    const headers: Record<string, string> = { 'User-Agent': 'CoachLTI-test-browser', ...this.extraHeaders };
    if (this.cookies.size > 0) headers.Cookie = [...this.cookies.entries()].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { headers, redirect: 'manual' });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  }

  clearCookies(): void {
    this.cookies.clear();
  }

  async request(method: string, url: string, form?: Record<string, string | string[]>): Promise<PageResponse> {
    const sent = await this.send(method, url, form);
    return { ...sent.response, text: await sent.body };
  }

  /**
   * Sends a request and returns as soon as the status line and headers arrive, as a real browser does
   * before it follows a redirect; the body is read in the background.
   */
  async send(
    method: string,
    url: string,
    form?: Record<string, string | string[]>,
  ): Promise<{ response: Omit<PageResponse, 'text'>; body: Promise<string> }> {
    const headers: Record<string, string> = { Accept: 'text/html', 'User-Agent': 'CoachLTI-test-browser', ...this.extraHeaders };
    if (this.cookies.size > 0) headers.Cookie = [...this.cookies.entries()].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (form) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
      body = params.toString();
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const location = res.headers.get('location') ?? undefined;
    const text = res.text();
    text.catch(() => undefined);
    return {
      response: { status: res.status, url, location: location ? new URL(location, url).toString() : undefined, headers: res.headers },
      body: text,
    };
  }

  /**
   * Submits the page's first form and, like a browser, follows a redirect as soon as its headers arrive,
   * without waiting for the rest of the response. Returns the page the redirect leads to.
   */
  async submitFormFollowingEarly(
    page: PageResponse,
    extra: Record<string, string> = {},
    rewrite: (location: string) => string = (l) => l,
  ): Promise<PageResponse> {
    const form = parseForms(page.text, page.url)[0];
    if (!form) throw new Error(`no form on ${page.url} (HTTP ${page.status}): ${page.text.slice(0, 300)}`);
    const first = await this.send(form.method === 'post' ? 'POST' : 'GET', form.action, { ...form.fields, ...extra });
    const { location, status } = first.response;
    if (!location || status < 300 || status >= 400) return { ...first.response, text: await first.body };
    const next = await this.get(rewrite(location));
    await first.body;
    return this.follow(next);
  }

  get(url: string): Promise<PageResponse> {
    return this.request('GET', url);
  }

  post(url: string, form: Record<string, string | string[]>): Promise<PageResponse> {
    return this.request('POST', url, form);
  }

  /** Follows redirects (GET) until a page answers. */
  async follow(response: PageResponse, max = 10): Promise<PageResponse> {
    let current = response;
    for (let i = 0; i < max && current.location && current.status >= 300 && current.status < 400; i += 1) {
      current = await this.get(current.location);
    }
    return current;
  }

  /** Submits the first form on the page (an auto-posting LTI form) with its fields plus extras. */
  async submitForm(page: PageResponse, extra: Record<string, string | string[]> = {}, index = 0): Promise<PageResponse> {
    const form = parseForms(page.text, page.url)[index];
    if (!form) throw new Error(`no form on ${page.url} (HTTP ${page.status}): ${page.text.slice(0, 300)}`);
    return form.method === 'post'
      ? this.post(form.action, { ...form.fields, ...extra })
      : this.get(`${form.action}?${new URLSearchParams(form.fields).toString()}`);
  }
}

/** The page without the launch tokens its links carry (always the last query parameter), for assertions on exact hrefs. */
export function withoutLaunchTokens(html: string): string {
  return html.replace(/[?&](?:amp;)?launch=[A-Za-z0-9_-]+/g, '');
}

/** The href of the first link whose text matches, resolved against the page. */
export function findLink(page: PageResponse, text: RegExp): string | undefined {
  for (const m of page.text.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/gi)) {
    const label = (m[2] ?? '').replace(/<[^>]+>/g, '').trim();
    const href = attribute(m[0], 'href');
    if (href && text.test(label)) return new URL(href, page.url).toString();
  }
  return undefined;
}
