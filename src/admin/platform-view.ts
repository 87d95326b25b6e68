import type { PlatformRecord } from '../lti/ltijs-adapter';
import type { PlatformSettings } from '../lti/platform-registry';

/** One registered platform as the admin pages show it: the ltijs record joined with our settings. */
export interface PlatformRow {
  name: string;
  issuer: string;
  clientId: string;
  active: boolean;
  deployments: string;
  registeredVia: string;
  jwksUrl: string;
  tokenUrl: string;
}

export function platformRows(platforms: PlatformRecord[], settings: PlatformSettings[]): PlatformRow[] {
  return platforms
    .map((p) => {
      const s = settings.find((x) => x.issuer === p.issuer && x.clientId === p.clientId);
      return {
        name: p.name,
        issuer: p.issuer,
        clientId: p.clientId,
        active: p.active,
        deployments: s?.deploymentIds.join(', ') ?? '',
        registeredVia: s?.registeredVia ?? 'unknown',
        jwksUrl: s?.jwksUrl ?? (p.keys.method === 'JWK_SET' ? p.keys.url : p.keys.method),
        tokenUrl: p.tokenUrl,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
