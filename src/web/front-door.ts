import type { Config } from '../config/config';
import { toolUrls } from '../lti/tool-configuration';
import { buildInfo } from './build-info';

/** The home page: what IT needs to register and run CoachLTI, with the URLs ready to copy. */
export function frontDoor(config: Pick<Config, 'toolUrl' | 'dynRegRequireInvite'>) {
  const urls = toolUrls(config.toolUrl);
  const { version, commit } = buildInfo();
  return {
    // The layout adds " · CoachLTI" only to pages with a title of their own.
    pageTitle: undefined,
    inviteRequired: config.dynRegRequireInvite,
    registrationUrls: [
      {
        id: 'register',
        label: 'Dynamic Registration URL',
        url: urls.register,
        hint: config.dynRegRequireInvite ? 'Paste the registration link an administrator created (it ends in ?invite=…).' : undefined,
      },
      { id: 'login', label: 'OpenID Connect login initiation URL', url: urls.login, hint: undefined },
      { id: 'launch', label: 'Target link URI and redirect URI (launch)', url: urls.launch, hint: undefined },
      { id: 'keys', label: 'Public key set URL (JWKS)', url: urls.keys, hint: undefined },
      { id: 'canvas', label: 'Canvas JSON configuration URL', url: urls.canvasJson, hint: undefined },
    ],
    version,
    commit,
  };
}
