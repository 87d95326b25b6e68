import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createAuditLog } from '../../admin/audit-log';
import { loadConfig } from '../../config/config';
import { runCli } from '../../shared/cli';
import { createLogger } from '../../shared/logger';
import { approvePendingRegistration, rejectPendingRegistration } from '../dynamic-registration';
import { createPendingRegistrations, createPlatformRegistry } from '../platform-registry';
import { createRegistrationInvites, defaultInviteHours, inviteUrl, maxInviteHours } from '../registration-invites';
import { toolUrls } from '../tool-configuration';
import { openToolContext } from './tool-context';

/**
 * npm run platform -- invite|add|list|activate|deactivate|remove|pending|approve|reject …
 * Registration links for Dynamic Registration, manual registration for LMSs without it, and the
 * decisions an administrator takes on registrations that named an existing platform.
 */
const usage = `usage:
  npm run platform -- invite [--expires-hours N] [--note TEXT]
  npm run platform -- add --issuer URL --client-id ID --auth-url URL --token-url URL --jwks-url URL --deployment ID [--deployment ID…] [--name NAME] [--auto-add-deployments] [--inactive] [--replace]
  npm run platform -- list
  npm run platform -- activate|deactivate|remove --issuer URL --client-id ID
  npm run platform -- add-deployment --issuer URL --client-id ID --deployment ID
  npm run platform -- pending
  npm run platform -- approve|reject --id PENDING_ID`;

const commands = ['invite', 'add', 'list', 'activate', 'deactivate', 'remove', 'add-deployment', 'pending', 'approve', 'reject'];

const url = z.string().url();
const addSchema = z.object({
  issuer: url,
  'client-id': z.string().min(1),
  'auth-url': url,
  'token-url': url,
  'jwks-url': url,
  deployment: z.array(z.string().min(1)).min(1, 'at least one --deployment is required'),
  name: z.string().min(1).optional(),
  'auto-add-deployments': z.boolean().default(false),
  inactive: z.boolean().default(false),
  replace: z.boolean().default(false),
});
const inviteSchema = z.object({
  'expires-hours': z.coerce.number().int().min(1).max(maxInviteHours).default(defaultInviteHours),
  note: z.string().max(200).optional(),
});
const pendingIdSchema = z.object({ id: z.string().regex(/^[a-f0-9]{24}$/i, 'must be the id shown by `pending`') });
const targetSchema = z.object({ issuer: url, 'client-id': z.string().min(1) });

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      'auth-url': { type: 'string' },
      'token-url': { type: 'string' },
      'jwks-url': { type: 'string' },
      deployment: { type: 'string', multiple: true },
      name: { type: 'string' },
      'auto-add-deployments': { type: 'boolean' },
      inactive: { type: 'boolean' },
      replace: { type: 'boolean' },
      'expires-hours': { type: 'string' },
      note: { type: 'string' },
      id: { type: 'string' },
    },
    strict: true,
  });
  if (!command || !commands.includes(command)) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const config = loadConfig();
  const logger = createLogger('warn');
  const { provider, registry, connection, close } = await openToolContext(config, logger);
  const pending = createPendingRegistrations(connection);
  const audit = createAuditLog(connection);
  const actor = `cli:${safeUser()}`;
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  try {
    switch (command) {
      case 'invite': {
        const i = inviteSchema.parse(values);
        const invite = await createRegistrationInvites(connection).create({
          createdBy: actor,
          note: i.note,
          expiresInHours: i['expires-hours'],
        });
        await audit.record({
          actor,
          action: 'platform.invite',
          detail: `valid until ${invite.expiresAt.toISOString()}${i.note ? ` · ${i.note}` : ''}`,
        });
        out(inviteUrl(toolUrls(config.toolUrl).register, invite.token));
        process.stderr.write(
          `Registration link for one platform, valid until ${invite.expiresAt.toISOString()} (shown only now). Paste it into Canvas ` +
            `(Developer Keys → + LTI Registration) or Moodle (Manage tools → Tool URL).\n`,
        );
        break;
      }
      case 'add': {
        const a = addSchema.parse(values);
        const name = a.name ?? new URL(a.issuer).host;
        const exists =
          (await provider.getPlatform(a.issuer, a['client-id'])) !== null || (await registry.find(a.issuer, a['client-id'])) !== null;
        if (exists && !a.replace) {
          throw new Error(
            `${a.issuer} (${a['client-id']}) is already registered; nothing was changed. Add --replace to overwrite its endpoints and key set.`,
          );
        }
        await provider.registerPlatform(
          {
            issuer: a.issuer,
            clientId: a['client-id'],
            name,
            authUrl: a['auth-url'],
            tokenUrl: a['token-url'],
            jwksUrl: a['jwks-url'],
          },
          { replace: a.replace },
        );
        await provider.setActive(a.issuer, a['client-id'], !a.inactive);
        await registry.upsert({
          issuer: a.issuer,
          clientId: a['client-id'],
          name,
          deploymentIds: a.deployment,
          autoAddDeployments: a['auto-add-deployments'],
          registeredVia: 'cli',
          productFamily: undefined,
          tokenUrl: a['token-url'],
          authUrl: a['auth-url'],
          jwksUrl: a['jwks-url'],
        });
        out(`registered ${a.issuer} (${a['client-id']}), ${a.inactive ? 'inactive' : 'active'}, deployments: ${a.deployment.join(', ')}`);
        break;
      }
      case 'list': {
        const settings = await registry.list();
        for (const p of await provider.listPlatforms()) {
          const s = settings.find((x) => x.issuer === p.issuer && x.clientId === p.clientId);
          out(
            `${p.active ? 'active  ' : 'inactive'}  ${p.issuer}  ${p.clientId}  deployments=[${s?.deploymentIds.join(',') ?? ''}]  ${p.name}`,
          );
        }
        break;
      }
      case 'activate':
      case 'deactivate': {
        const t = targetSchema.parse(values);
        const found = await provider.setActive(t.issuer, t['client-id'], command === 'activate');
        if (!found) throw new Error(`no platform ${t.issuer} (${t['client-id']})`);
        await audit.record({
          actor,
          action: command === 'activate' ? 'platform.activate' : 'platform.deactivate',
          detail: `${t.issuer} (${t['client-id']})`,
        });
        out(`${command}d ${t.issuer} (${t['client-id']})`);
        break;
      }
      case 'add-deployment': {
        const t = targetSchema.extend({ deployment: z.array(z.string().min(1)).min(1) }).parse(values);
        for (const d of t.deployment) await registry.addDeployment(t.issuer, t['client-id'], d);
        out(`deployments added to ${t.issuer} (${t['client-id']})`);
        break;
      }
      case 'pending': {
        for (const p of await pending.list({ status: 'pending' })) {
          out(`${p.id}  ${p.createdAt.toISOString()}  ${p.issuer}  ${p.clientId}  jwks=${p.jwksUrl}  token=${p.tokenUrl}`);
        }
        break;
      }
      case 'approve':
      case 'reject': {
        const { id } = pendingIdSchema.parse(values);
        const platformDeps = { provider, registry: createPlatformRegistry(connection), pending };
        const decided =
          command === 'approve'
            ? await approvePendingRegistration(platformDeps, id, actor)
            : await rejectPendingRegistration(platformDeps, id, actor);
        await audit.record({
          actor,
          action: command === 'approve' ? 'platform.approve' : 'platform.reject',
          detail: `${decided.issuer} (${decided.clientId}) · keys ${decided.jwksUrl} · token ${decided.tokenUrl}`,
        });
        out(`${command === 'approve' ? 'approved' : 'rejected'} ${decided.issuer} (${decided.clientId})`);
        break;
      }
      case 'remove': {
        const t = targetSchema.parse(values);
        const found = await provider.removePlatform(t.issuer, t['client-id']);
        await registry.remove(t.issuer, t['client-id']);
        if (!found) throw new Error(`no platform ${t.issuer} (${t['client-id']})`);
        out(`removed ${t.issuer} (${t['client-id']})`);
        break;
      }
    }
    return 0;
  } finally {
    await close();
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

runCli(
  () => main(process.argv.slice(2)),
  (error) =>
    error instanceof z.ZodError ? error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ') : (error as Error).message,
);
