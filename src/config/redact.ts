/**
 * Secret redaction for configs, logs and error messages. Nothing Tributary prints may contain a
 * password, a SASL secret, a token or the credentials inside a connection URI.
 */

export const MASK = '****';

/** Keys whose values are secrets wherever they appear in a config. */
const SECRET_KEY = /^(password|passwd|pwd|secret|token|apikey|api_key|accesskey|access_key|secretkey|secret_key|privatekey|private_key|credentials?)$/i;
/** Keys whose values are URLs or URIs that may carry credentials or tokens. */
const URI_KEY = /^(uri|url|webhookurl|connectionstring|dsn)$/i;
const PEM = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?-----END [A-Z0-9 ]+-----/g;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Masks the password of `scheme://user:password@host` (and a bare `scheme://secret@host`
 * userinfo without a user name is masked whole). Works on text containing several URIs.
 */
export function redactUri(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*)(:[^@\s/]*)?@/gi, (_m, scheme: string, user: string, pass: string | undefined) => {
    if (pass === undefined) return `${scheme}${user}@`;
    return `${scheme}${user}:${MASK}@`;
  });
}

/** Masks query-string values of a URL (webhook tokens). */
function redactQuery(url: string): string {
  return url.replace(/([?&][^=&#\s]+=)[^&#\s]*/g, `$1${MASK}`);
}

/** Replaces PEM blocks by a short placeholder (certificates are long and keys are secret). */
function redactPem(text: string): string {
  return text.replace(PEM, (m) => `<PEM ${m.length} bytes>`);
}

/**
 * Returns a deep copy of a config with secrets masked: secret-named keys (`password`, `token`...),
 * credentials in URIs, query strings of webhook URLs and PEM bodies.
 */
export function redactConfig<T>(config: T): T {
  return redactValue(config, undefined) as T;
}

function redactValue(value: unknown, key: string | undefined): unknown {
  if (typeof value === 'string') {
    if (key !== undefined && isSecretKey(key)) return value === '' ? value : MASK;
    if (key !== undefined && URI_KEY.test(key)) return key.toLowerCase() === 'webhookurl' ? redactQuery(redactUri(value)) : redactUri(value);
    return redactPem(redactUri(value));
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, undefined));
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && typeof value !== 'function') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v === 'function') continue;
      out[k] = isSecretKey(k) && v !== null && v !== undefined && typeof v !== 'object' ? MASK : redactValue(v, k);
    }
    return out;
  }
  return value;
}

/**
 * Collects the secret values of a config-like object: values of secret-named keys and the
 * passwords inside URIs. Used to scrub any text (errors, logs) with `redactText`.
 */
export function collectSecrets(value: unknown, key?: string, out: Set<string> = new Set()): string[] {
  if (typeof value === 'string' || typeof value === 'number') {
    const s = String(value);
    if (key !== undefined && isSecretKey(key) && s.length > 0) out.add(s);
    if (typeof value === 'string') {
      for (const m of value.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:([^@\s/]+)@/gi)) {
        if (m[1] !== undefined) {
          out.add(m[1]);
          try {
            out.add(decodeURIComponent(m[1]));
          } catch {
            // not percent-encoded
          }
        }
      }
    }
  } else if (Array.isArray(value)) {
    for (const v of value) collectSecrets(v, undefined, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) collectSecrets(v, k, out);
  }
  return [...out];
}

/**
 * Masks every occurrence of the given secret values in a text, and URI credentials anywhere in it.
 * Longer secrets are replaced first so a secret containing another is fully masked.
 */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  const list = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  for (const s of list) out = out.split(s).join(MASK);
  return redactUri(out);
}
