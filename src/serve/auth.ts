/**
 * Who may read the dashboard. On a loopback address (the default) anyone on this machine may,
 * unless a token was given; on any other address a token is required — the one given with
 * `--token`, or one generated and printed, as Jupyter does. It is accepted as `?token=` (then kept
 * in a cookie, so links and live updates work), as a cookie, or as `Authorization: Bearer`.
 * Without a token a loopback server also refuses requests whose Host header names another host,
 * so a web page elsewhere cannot reach it by DNS rebinding.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export const TOKEN_COOKIE = 'vggkit_token';

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1';
  return false;
}

export function generateToken(): string {
  return randomBytes(24).toString('hex');
}

export interface AuthRequest {
  readonly query?: string | undefined;
  readonly cookie?: string | undefined;
  readonly authorization?: string | undefined;
  readonly host?: string | undefined;
}

export type AuthDecision =
  | { readonly ok: true; readonly setCookie?: string }
  | { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** The decision for one request; `token` undefined means none is required. */
export function authorize(request: AuthRequest, token: string | undefined): AuthDecision {
  if (token === undefined) {
    const hostName = (request.host ?? '').replace(/:\d+$/, '');
    return isLoopback(hostName)
      ? { ok: true }
      : { ok: false, status: 403, reason: `Host ${hostName} is not this machine's loopback name` };
  }
  const bearer = /^Bearer\s+(.+)$/i.exec(request.authorization ?? '')?.[1]?.trim();
  if (bearer !== undefined && same(bearer, token)) return { ok: true };
  if (request.query !== undefined && same(request.query, token))
    return {
      ok: true,
      setCookie: `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`,
    };
  const cookie = cookieValue(request.cookie, TOKEN_COOKIE);
  if (cookie !== undefined && same(cookie, token)) return { ok: true };
  return {
    ok: false,
    status: 401,
    reason: 'a token is required: open the URL vggkit serve printed (it ends in ?token=…)',
  };
}
