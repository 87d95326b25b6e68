/**
 * The browser's part of an LTI launch: it carries the platform's login form to the tool, follows the
 * tool's redirect to the platform's authorization endpoint, and posts the id_token back. One Browser
 * is one user session, so the tool's state cookies travel as they would in an LMS iframe.
 */
import { decodeJwt } from 'jose';
import { parseForms, type Browser, type PageResponse } from '../support/browser';
import type { ConformancePlatform, LaunchSpec } from './platform';

export interface Authorized {
  redirectUri: string;
  state: string;
  idToken: string;
  claims: Record<string, unknown>;
}

/** Login initiation at the tool and authentication at the platform; stops before the id_token reaches the tool. */
export async function authorize(platform: ConformancePlatform, browser: Browser, spec: LaunchSpec): Promise<Authorized> {
  const initiation = platform.loginInitiation(spec);
  const login = await browser.post(initiation.url, initiation.params);
  if (login.status !== 302 || !login.location) {
    throw new Error(`login initiation at ${initiation.url} answered ${login.status} (expected 302): ${login.text.slice(0, 300)}`);
  }
  if (!login.location.startsWith(`${platform.authorizationEndpoint}?`)) {
    throw new Error(`login initiation redirected to ${login.location}, not to ${platform.authorizationEndpoint}`);
  }
  const answer = await browser.get(login.location);
  if (answer.status !== 200) throw new Error(`the platform refused the authentication request ${login.location}: ${answer.text}`);
  const form = parseForms(answer.text, answer.url)[0];
  const idToken = form?.fields.id_token;
  const state = form?.fields.state;
  if (!form || !idToken || !state) throw new Error(`no id_token form from the platform: ${answer.text.slice(0, 300)}`);
  return { redirectUri: form.action, state, idToken, claims: decodeJwt(idToken) };
}

/** The form_post of the id_token (and state) to the tool's redirect_uri. */
export function postIdToken(browser: Browser, authorized: Authorized, idToken = authorized.idToken): Promise<PageResponse> {
  return browser.post(authorized.redirectUri, { id_token: idToken, state: authorized.state });
}

/** A whole launch; returns the tool's answer to the id_token post (a redirect on success). */
export async function launch(platform: ConformancePlatform, browser: Browser, spec: LaunchSpec): Promise<PageResponse> {
  return postIdToken(browser, await authorize(platform, browser, spec));
}
