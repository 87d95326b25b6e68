import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  checkHost,
  checkUrl,
  classifyAddress,
  developmentFetchPolicy,
  productionFetchPolicy,
  safeFetch,
  SafeFetchError,
  type AddressClass,
} from '../../src/lti/safe-fetch';

describe('classifyAddress', () => {
  test.each<[string, AddressClass]>([
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.254', 'shared'],
    ['100.128.0.1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['192.0.2.5', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['224.0.0.251', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
  ])('when the IPv4 address is %s, then it is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  test.each<[string, AddressClass]>([
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001:0:4136:e378::1', 'reserved'],
    ['100::1', 'reserved'],
    ['3fff::1', 'public'],
    ['4000::1', 'reserved'],
  ])('when the IPv6 address is %s, then it is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  test.each<[string, AddressClass]>([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    ['0:0:0:0:0:ffff:192.168.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['::ffff:0:10.0.0.1', 'private'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:0808:0808::1', 'public'],
  ])('when the IPv4-embedding IPv6 address is %s, then the IPv4 rule applies: %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  test.each(['localhost', '1.2.3', '256.1.1.1', '1::2::3', 'fe80::g', ''])('when "%s" is not an IP address, then it is invalid', (s) => {
    expect(classifyAddress(s)).toBe('invalid');
  });
});

describe('checkUrl', () => {
  test.each([
    'https://127.0.0.1/x',
    'https://10.0.0.1/x',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/x',
    'https://[::ffff:127.0.0.1]/x',
    'https://[fd00::1]/x',
    'https://0x7f.1/x',
    'https://2130706433/x',
    'https://0.0.0.0/x',
    'https://100.64.1.1/x',
  ])('when the production policy meets %s, then it is refused as a non-public address', (url) => {
    expect(() => checkUrl(url, productionFetchPolicy)).toThrow(expect.objectContaining({ reason: 'address' }) as Error);
  });

  test('when production is given http, file or credentials, then they are refused; https with a public IP passes', () => {
    expect(() => checkUrl('http://lms.example.edu/x', productionFetchPolicy)).toThrow(
      expect.objectContaining({ reason: 'scheme' }) as Error,
    );
    expect(() => checkUrl('file:///etc/passwd', productionFetchPolicy)).toThrow(expect.objectContaining({ reason: 'scheme' }) as Error);
    expect(() => checkUrl('https://a:b@lms.example.edu/x', productionFetchPolicy)).toThrow(
      expect.objectContaining({ reason: 'url' }) as Error,
    );
    expect(checkUrl('https://8.8.8.8/x', productionFetchPolicy).hostname).toBe('8.8.8.8');
  });

  test('when the development policy meets loopback over http, then it passes, but a private address is still refused', () => {
    expect(checkUrl('http://127.0.0.1:3000/x', developmentFetchPolicy).port).toBe('3000');
    expect(() => checkUrl('http://10.1.1.1/x', developmentFetchPolicy)).toThrow(SafeFetchError);
  });
});

describe('checkHost', () => {
  test('when a host name resolves to loopback, then production refuses it and development accepts it', async () => {
    await expect(checkHost('https://localhost/jwks', productionFetchPolicy)).rejects.toMatchObject({ reason: 'address' });
    await expect(checkHost('http://localhost/jwks', developmentFetchPolicy)).resolves.toBeUndefined();
    await expect(checkHost('https://[fe80::1]/jwks', developmentFetchPolicy)).rejects.toMatchObject({ reason: 'address' });
    await expect(checkHost('https://no-such-host.invalid/jwks', developmentFetchPolicy)).rejects.toMatchObject({ reason: 'dns' });
  });
});

describe('safeFetch against local servers', () => {
  let server: Server;
  let base: string;
  let connections = 0;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('{}');
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((req, res) => handler(req, res));
    server.on('connection', (socket: Socket) => {
      connections += 1;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    connections = 0;
  });

  test('when loopback is allowed, then a small answer is returned with its status and body', async () => {
    handler = (_req, res) => {
      res.statusCode = 201;
      res.end('{"ok":true}');
    };
    const res = await safeFetch(`${base}/x`, {}, developmentFetchPolicy);
    expect(res).toMatchObject({ status: 201, text: '{"ok":true}' });
  });

  test('when the host name resolves to loopback and loopback is not allowed, then no connection is made', async () => {
    const policy = { ...developmentFetchPolicy, allowLoopback: false };
    const port = (server.address() as AddressInfo).port;
    await expect(safeFetch(`http://localhost:${port}/x`, {}, policy)).rejects.toMatchObject({ reason: 'address' });
    await expect(safeFetch(`http://127.0.0.1:${port}/x`, {}, policy)).rejects.toMatchObject({ reason: 'address' });
    expect(connections).toBe(0);
  });

  test('when the answer is larger than the limit (declared or streamed), then it is refused as too large', async () => {
    const big = 'x'.repeat(300 * 1024);
    handler = (_req, res) => res.end(big);
    await expect(safeFetch(`${base}/declared`, {}, developmentFetchPolicy)).rejects.toMatchObject({ reason: 'too-large' });
    handler = (_req, res) => {
      res.writeHead(200, { 'Transfer-Encoding': 'chunked' });
      for (let i = 0; i < 30; i += 1) res.write('y'.repeat(10 * 1024));
      res.end();
    };
    await expect(safeFetch(`${base}/chunked`, {}, developmentFetchPolicy)).rejects.toMatchObject({ reason: 'too-large' });
  });

  test('when the server never finishes answering, then the fetch gives up after the time limit', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"slow":');
    };
    const started = Date.now();
    await expect(safeFetch(`${base}/slow`, {}, { ...developmentFetchPolicy, timeoutMs: 300 })).rejects.toMatchObject({
      reason: 'timeout',
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test('when the server redirects, then the redirect is returned, not followed', async () => {
    handler = (_req, res) => {
      res.writeHead(302, { Location: 'http://169.254.169.254/latest/meta-data' });
      res.end();
    };
    const res = await safeFetch(`${base}/redirect`, {}, developmentFetchPolicy);
    expect(res.status).toBe(302);
    expect(connections).toBe(1);
  });

  test('when a POST is sent, then its body and headers arrive', async () => {
    let received = '';
    handler = (req, res) => {
      req.setEncoding('utf8');
      req.on('data', (c: string) => (received += c));
      req.on('end', () => res.end(String(req.headers['content-type'])));
    };
    const res = await safeFetch(
      `${base}/post`,
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"a":"é"}' },
      developmentFetchPolicy,
    );
    expect(res.text).toBe('application/json');
    expect(received).toBe('{"a":"é"}');
  });
});
