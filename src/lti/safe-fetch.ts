import { lookup as dnsLookup, promises as dnsPromises, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

/**
 * Fetches a URL that someone outside gave us (a platform's OpenID configuration or registration endpoint)
 * without letting it reach the tool's own network: only public addresses (loopback too when allowed),
 * checked after DNS resolution on the very address the socket connects to, so a DNS answer that changes
 * between check and connect (rebinding) gains nothing. Redirects are not followed; time and size are bounded.
 */

export type AddressClass =
  'public' | 'loopback' | 'private' | 'link-local' | 'unique-local' | 'unspecified' | 'shared' | 'multicast' | 'reserved' | 'invalid';

export interface SafeFetchPolicy {
  /** Plain http allowed (development and tests); production fetches https only. */
  allowHttp: boolean;
  /** Loopback addresses allowed (the built-in platform on 127.0.0.1 in development and tests). */
  allowLoopback: boolean;
  timeoutMs: number;
  maxBytes: number;
}

export const productionFetchPolicy: SafeFetchPolicy = { allowHttp: false, allowLoopback: false, timeoutMs: 5_000, maxBytes: 256 * 1024 };
export const developmentFetchPolicy: SafeFetchPolicy = { ...productionFetchPolicy, allowHttp: true, allowLoopback: true };

export type SafeFetchFailure = 'url' | 'scheme' | 'address' | 'dns' | 'timeout' | 'too-large' | 'network';

/** Why a fetch was not made or not finished. The message names no resolved address (it is safe to show). */
export class SafeFetchError extends Error {
  constructor(
    readonly reason: SafeFetchFailure,
    message: string,
    /** For the log only: e.g. the address a host resolved to. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'SafeFetchError';
  }
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

const v4 = (a: number, b: number, c: number, d: number): number => ((a * 256 + b) * 256 + c) * 256 + d;

/** [network, prefix length, class], most specific first where ranges nest. */
const ipv4Ranges: [number, number, AddressClass][] = [
  [v4(0, 0, 0, 0), 8, 'unspecified'],
  [v4(10, 0, 0, 0), 8, 'private'],
  [v4(100, 64, 0, 0), 10, 'shared'],
  [v4(127, 0, 0, 0), 8, 'loopback'],
  [v4(169, 254, 0, 0), 16, 'link-local'],
  [v4(172, 16, 0, 0), 12, 'private'],
  [v4(192, 0, 0, 0), 24, 'reserved'],
  [v4(192, 0, 2, 0), 24, 'reserved'],
  [v4(192, 88, 99, 0), 24, 'reserved'],
  [v4(192, 168, 0, 0), 16, 'private'],
  [v4(198, 18, 0, 0), 15, 'reserved'],
  [v4(198, 51, 100, 0), 24, 'reserved'],
  [v4(203, 0, 113, 0), 24, 'reserved'],
  [v4(224, 0, 0, 0), 4, 'multicast'],
  [v4(240, 0, 0, 0), 4, 'reserved'],
];

function classifyIpv4Int(value: number): AddressClass {
  for (const [network, prefix, kind] of ipv4Ranges) {
    const size = 2 ** (32 - prefix);
    if (value >= network && value < network + size) return kind;
  }
  return 'public';
}

/** The 8 groups of an IPv6 address (a dotted IPv4 tail becomes the last two), or undefined. */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const value = ipv4ToInt(last);
    if (value === undefined) return undefined;
    tail = [Math.floor(value / 65536), value % 65536];
    text = text.slice(0, lastColon);
    // "::1.2.3.4" leaves ":", "a::1.2.3.4" leaves "a:": the colon belonged to "::".
    if (text.endsWith(':')) text += ':';
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
    return groups.map((g) => parseInt(g, 16));
  };
  const head = parse(halves[0] ?? '');
  if (!head) return undefined;
  if (halves.length === 1) {
    const groups = [...head, ...tail];
    return groups.length === 8 ? groups : undefined;
  }
  const rest = parse(halves[1] ?? '');
  if (!rest) return undefined;
  const missing = 8 - head.length - rest.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...rest, ...tail];
}

function classifyIpv6(groups: number[]): AddressClass {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const embedded = (): number => g6 * 65536 + g7;
  const zeroTo = (n: number): boolean => groups.slice(0, n).every((g) => g === 0);
  if (zeroTo(8)) return 'unspecified';
  if (zeroTo(7) && g7 === 1) return 'loopback';
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d): the IPv4 rules apply.
  if (zeroTo(5) && g5 === 0xffff) return classifyIpv4Int(embedded());
  if (zeroTo(6)) return classifyIpv4Int(embedded());
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) return classifyIpv4Int(embedded());
  // NAT64 well-known prefix 64:ff9b::/96 reaches the IPv4 address in its tail.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return classifyIpv4Int(embedded());
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return 'private';
  // 6to4 (2002::/16) carries an IPv4 address in groups 1–2.
  if (g0 === 0x2002) return classifyIpv4Int(g1 * 65536 + g2);
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return 'reserved';
  if (g0 === 0x2001 && g1 === 0) return 'reserved'; // Teredo: the real endpoint is hidden
  if (g0 === 0x2001 && g1 === 0xdb8) return 'reserved';
  if ((g0 & 0xfe00) === 0xfc00) return 'unique-local';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xffc0) === 0xfec0) return 'private'; // deprecated site-local
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  // Only global unicast (2000::/3) is routable on the internet.
  if ((g0 & 0xe000) !== 0x2000) return 'reserved';
  return 'public';
}

/** The class of an IP address (IPv4, IPv6, IPv4-mapped IPv6); 'invalid' when it is not an IP address. */
export function classifyAddress(address: string): AddressClass {
  const ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const version = isIP(ip.split('%')[0] ?? '');
  if (version === 4) {
    const value = ipv4ToInt(ip);
    return value === undefined ? 'invalid' : classifyIpv4Int(value);
  }
  if (version === 6) {
    const groups = ipv6Groups(ip);
    return groups ? classifyIpv6(groups) : 'invalid';
  }
  return 'invalid';
}

export function isAllowedAddress(kind: AddressClass, policy: Pick<SafeFetchPolicy, 'allowLoopback'>): boolean {
  return kind === 'public' || (kind === 'loopback' && policy.allowLoopback);
}

const refusedAddress = (host: string, kind: AddressClass, address: string): SafeFetchError =>
  new SafeFetchError('address', `${host} is not a public internet address (${kind}); CoachLTI does not fetch from it.`, address);

/**
 * A `lookup` for node's http(s) agents: resolves every address of the host, refuses the host when any of them
 * is not allowed, and hands the socket only addresses it checked.
 */
export function checkedLookup(policy: Pick<SafeFetchPolicy, 'allowLoopback'>): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, verbatim: true, family: options.family }, (error, addresses: LookupAddress[]) => {
      if (error) {
        callback(new SafeFetchError('dns', `${hostname} could not be resolved.`, error.code), '', 0);
        return;
      }
      for (const a of addresses) {
        const kind = classifyAddress(a.address);
        if (!isAllowedAddress(kind, policy)) {
          callback(refusedAddress(hostname, kind, a.address), '', 0);
          return;
        }
      }
      const first = addresses[0];
      if (!first) {
        callback(new SafeFetchError('dns', `${hostname} has no address.`), '', 0);
        return;
      }
      if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

/** Checks scheme and, for an IP literal (which sockets connect to without a lookup), the address itself. */
export function checkUrl(raw: string, policy: SafeFetchPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SafeFetchError('url', 'The URL is not valid.');
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    throw new SafeFetchError('scheme', `Only ${policy.allowHttp ? 'http(s)' : 'https'} URLs are fetched (got ${url.protocol}).`);
  }
  if (url.username || url.password) throw new SafeFetchError('url', 'URLs with credentials are not fetched.');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host)) {
    const kind = classifyAddress(host);
    if (!isAllowedAddress(kind, policy)) throw refusedAddress(url.hostname, kind, host);
  }
  return url;
}

/**
 * For URLs the tool fetches later through other clients (a platform's key set and token endpoint): the
 * same rules, checked now on what the host resolves to. It cannot stop a later DNS change; those
 * clients should connect through `checkedLookup` as well.
 */
export async function checkHost(raw: string, policy: SafeFetchPolicy): Promise<void> {
  const url = checkUrl(raw, policy);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host)) return;
  let addresses: LookupAddress[];
  try {
    addresses = await dnsPromises.lookup(host, { all: true, verbatim: true });
  } catch (error) {
    throw new SafeFetchError('dns', `${host} could not be resolved.`, (error as NodeJS.ErrnoException).code);
  }
  for (const a of addresses) {
    const kind = classifyAddress(a.address);
    if (!isAllowedAddress(kind, policy)) throw refusedAddress(host, kind, a.address);
  }
}

export interface SafeFetchRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface SafeFetchResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as text (at most policy.maxBytes bytes). */
  text: string;
}

/** One request, no redirects followed, no connection reuse; refuses before connecting when the target is not allowed. */
export function safeFetch(raw: string, request: SafeFetchRequest, policy: SafeFetchPolicy): Promise<SafeFetchResponse> {
  let url: URL;
  try {
    url = checkUrl(raw, policy);
  } catch (error) {
    return Promise.reject(error as Error);
  }
  const client = url.protocol === 'https:' ? https : http;
  const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
  return new Promise<SafeFetchResponse>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, value?: SafeFetchResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(value!);
    };
    const req = client.request(url, {
      method: request.method ?? 'GET',
      headers: { ...request.headers, ...(body ? { 'Content-Length': String(body.length) } : {}) },
      // A fresh connection per request: a pooled socket would skip our lookup.
      agent: false,
      lookup: checkedLookup(policy),
    });
    const timer = setTimeout(() => {
      finish(new SafeFetchError('timeout', `No complete answer within ${policy.timeoutMs} ms.`));
      req.destroy();
    }, policy.timeoutMs);
    req.on('error', (error) => {
      finish(error instanceof SafeFetchError ? error : new SafeFetchError('network', 'The connection failed.', error.message));
    });
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > policy.maxBytes) {
        finish(new SafeFetchError('too-large', `The answer is larger than ${policy.maxBytes} bytes.`));
        res.destroy();
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > policy.maxBytes) {
          finish(new SafeFetchError('too-large', `The answer is larger than ${policy.maxBytes} bytes.`));
          res.destroy();
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () =>
        finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', (error) => finish(new SafeFetchError('network', 'The answer was cut off.', error.message)));
      res.on('aborted', () => finish(new SafeFetchError('network', 'The answer was cut off.')));
    });
    req.end(body);
  });
}
