import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig } from '../../config/config';
import { runCli } from '../../shared/cli';
import { createLogger } from '../../shared/logger';
import { openToolContext } from './tool-context';

/**
 * npm run platform -- add|list|activate|deactivate|remove …
 * Manual registration for LMSs without Dynamic Registration (or when an admin prefers it).
 */
const usage = `usage:
  npm run platform -- add --issuer URL --client-id ID --auth-url URL --token-url URL --jwks-url URL --deployment ID [--deployment ID…] [--name NAME] [--auto-add-deployments] [--inactive]
  npm run platform -- list
  npm run platform -- activate|deactivate|remove --issuer URL --client-id ID
  npm run platform -- add-deployment --issuer URL --client-id ID --deployment ID`;

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
});
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
    },
    strict: true,
  });
  if (!command || !['add', 'list', 'activate', 'deactivate', 'remove', 'add-deployment'].includes(command)) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const config = loadConfig();
  const logger = createLogger('warn');
  const { provider, registry, close } = await openToolContext(config, logger);
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  try {
    switch (command) {
      case 'add': {
        const a = addSchema.parse(values);
        const name = a.name ?? new URL(a.issuer).host;
        await provider.registerPlatform({
          issuer: a.issuer,
          clientId: a['client-id'],
          name,
          authUrl: a['auth-url'],
          tokenUrl: a['token-url'],
          jwksUrl: a['jwks-url'],
        });
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
        out(`${command}d ${t.issuer} (${t['client-id']})`);
        break;
      }
      case 'add-deployment': {
        const t = targetSchema.extend({ deployment: z.array(z.string().min(1)).min(1) }).parse(values);
        for (const d of t.deployment) await registry.addDeployment(t.issuer, t['client-id'], d);
        out(`deployments added to ${t.issuer} (${t['client-id']})`);
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

runCli(
  () => main(process.argv.slice(2)),
  (error) =>
    error instanceof z.ZodError ? error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ') : (error as Error).message,
);
