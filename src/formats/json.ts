/** Characters JSON.stringify escapes in a string: `"`, `\`, controls, and (lone) surrogates. */
// eslint-disable-next-line no-control-regex -- exactly the characters JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `JSON.stringify(s)` for a string, byte for byte, but without the serializer's overhead for the
 * common string that needs no escaping. Strings with surrogates (even well-formed pairs) take the
 * JSON.stringify path, which escapes lone ones as `\udXXX`.
 */
export function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}
