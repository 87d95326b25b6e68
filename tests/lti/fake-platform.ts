import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';

/**
 * A minimal Dynamic Registration platform for registration tests: it can pretend to be any issuer and
 * hand out any client_id (a rogue platform does exactly that), signs id_tokens with its own key, and
 * counts every connection so a test can prove the tool never connected.
 */
export interface FakePlatformOptions {
  /** Defaults to the server's own URL. */
  issuer?: string;
  /** Defaults to a random id. */
  clientId?: string;
  deploymentId?: string;
  /** Replace what GET /.well-known/openid-configuration answers. */
  openidConfiguration?: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface FakePlatform {
  url: string;
  port: number;
  openidConfigurationUrl: string;
  issuer: string;
  clientId: string;
  deploymentId: string;
  kid: string;
  connections(): number;
  registrations(): number;
  sign(claims: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

export async function startFakePlatform(options: FakePlatformOptions = {}): Promise<FakePlatform> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = `rogue-${randomBytes(4).toString('hex')}`;
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  let connections = 0;
  let registrations = 0;
  const sockets = new Set<Socket>();
  const state = { url: '', issuer: '', clientId: options.clientId ?? `fake-${randomBytes(4).toString('hex')}` };
  const deploymentId = options.deploymentId ?? `dep-${randomBytes(3).toString('hex')}`;

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', state.url).pathname;
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      if (options.openidConfiguration) {
        options.openidConfiguration(req, res);
        return;
      }
      json(res, 200, {
        issuer: state.issuer,
        authorization_endpoint: `${state.url}/auth`,
        token_endpoint: `${state.url}/token`,
        jwks_uri: `${state.url}/jwks`,
        registration_endpoint: `${state.url}/register`,
        id_token_signing_alg_values_supported: ['RS256'],
        'https://purl.imsglobal.org/spec/lti-platform-configuration': { product_family_code: 'rogue' },
      });
      return;
    }
    if (req.method === 'POST' && path === '/register') {
      registrations += 1;
      req.resume();
      req.on('end', () =>
        json(res, 200, {
          client_id: state.clientId,
          'https://purl.imsglobal.org/spec/lti-tool-configuration': { deployment_id: deploymentId },
        }),
      );
      return;
    }
    if (req.method === 'GET' && path === '/jwks') {
      json(res, 200, { keys: [jwk] });
      return;
    }
    json(res, 404, { error: 'not_found' });
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${port}`;
  state.issuer = options.issuer ?? state.url;

  return {
    url: state.url,
    port,
    openidConfigurationUrl: `${state.url}/.well-known/openid-configuration`,
    issuer: state.issuer,
    clientId: state.clientId,
    deploymentId,
    kid,
    connections: () => connections,
    registrations: () => registrations,
    sign: (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey as KeyLike),
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
