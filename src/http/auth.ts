/**
 * Bearer-token authentication of the management API, and the rule about where it may listen
 * without one.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { FatalError } from '../core/errors.js';

export const MIN_TOKEN_LENGTH = 16;
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/** 127.0.0.0/8, ::1 (and its IPv4-mapped form) and `localhost`; anything else, `0.0.0.0` included, is not. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    // The URL parser writes an IPv6 address in its one short form (::ffff:127.0.0.1 is ::ffff:7f00:1).
    const short = new URL(`http://[${h}]/`).hostname.replace(/^\[|\]$/g, '');
    return short === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(short);
  }
  return false;
}

/** Throws a clear error when the token is unusable, or missing where one is required. */
export function checkTokenSetting(host: string, token: string | undefined): void {
  const fix = `Generate one (for example \`openssl rand -hex 32\`) and pass it: serveHttp(runtime, { token }), or TRIBUTARY_HTTP_TOKEN for \`tributary run --http\`.`;
  if (token === undefined) {
    if (isLoopback(host)) return;
    throw new FatalError(
      'HTTP_TOKEN_REQUIRED',
      `The management API would listen on ${host}, which is not a loopback address, without a token: anyone who can reach it could create tasks that read any database this process can reach.`,
      { field: 'token', fix: `${fix} Or listen on 127.0.0.1.` },
    );
  }
  if (token.length < MIN_TOKEN_LENGTH || !TOKEN_CHARS.test(token)) {
    throw new FatalError('HTTP_TOKEN_INVALID', `The management API token must be at least ${MIN_TOKEN_LENGTH} printable ASCII characters without spaces.`, { field: 'token', fix });
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Compares the `Authorization: Bearer <token>` header with the token in constant time (both are
 * hashed first, so neither the content nor the length leaks through timing).
 */
export function bearerMatches(header: string | undefined, token: string): 'ok' | 'missing' | 'invalid' {
  if (header === undefined) return 'missing';
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (m === null) return 'missing';
  return timingSafeEqual(digest(m[1] ?? ''), digest(token)) ? 'ok' : 'invalid';
}
