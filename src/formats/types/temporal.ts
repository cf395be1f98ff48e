/**
 * The neutral vocabulary's temporal text (core/values.ts) read into parts, for formats that write
 * dates and times as structures (DTS Avro): `YYYY-MM-DD[ BC]`, `HH:MM:SS[.ffffff][+HH[:MM]]`,
 * `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]][ BC]` (a `T` or `Z` is read too).
 */

export interface DateTimeParts {
  year: number | null;
  month: number | null;
  day: number | null;
  hour: number | null;
  minute: number | null;
  second: number | null;
  /** Fraction of a second in MICROseconds (the DTS readers pad it to 6 digits). */
  millis: number | null;
}

const DATE_RE = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/;
const TIME_RE = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-]\d{2}(?::?\d{2}){0,2})?$/;
const TS_RE = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-]\d{2}(?::?\d{2}){0,2}|Z)?( BC)?$/;

function micros(frac: string | undefined): number {
  return frac === undefined ? 0 : Number(frac.padEnd(6, '0'));
}

function bcYear(y: number, bc: string | undefined): number {
  return bc === undefined ? y : 1 - y;
}

export function parseDate(s: string): DateTimeParts | null {
  const m = DATE_RE.exec(s);
  if (m === null) return null;
  return { year: bcYear(Number(m[1]), m[4]), month: Number(m[2]), day: Number(m[3]), hour: null, minute: null, second: null, millis: null };
}

/** `HH:MM:SS[.ffffff][+hh[:mm]]`; returns the parts and the zone text (null when absent). */
export function parseTime(s: string): { parts: DateTimeParts; zone: string | null } | null {
  const m = TIME_RE.exec(s);
  if (m === null) return null;
  return {
    parts: { year: null, month: null, day: null, hour: Number(m[1]), minute: Number(m[2]), second: Number(m[3]), millis: micros(m[4]) },
    zone: m[5] === undefined ? null : normalizeZone(m[5]),
  };
}

export function parseTimestamp(s: string): { parts: DateTimeParts; zone: string | null } | null {
  const m = TS_RE.exec(s);
  if (m === null) return null;
  return {
    parts: {
      year: bcYear(Number(m[1]), m[9]), month: Number(m[2]), day: Number(m[3]),
      hour: Number(m[4]), minute: Number(m[5]), second: Number(m[6]), millis: micros(m[7]),
    },
    zone: m[8] === undefined ? null : normalizeZone(m[8]),
  };
}

/** `+05`, `+0530`, `+05:30:15`, `Z` → `+05:00` style. */
export function normalizeZone(z: string): string {
  if (z === 'Z') return '+00:00';
  const sign = z[0] ?? '+';
  const digits = z.slice(1).replace(/:/g, '');
  const hh = digits.slice(0, 2);
  const mm = digits.slice(2, 4) || '00';
  const ss = digits.slice(4, 6);
  return ss ? `${sign}${hh}:${mm}:${ss}` : `${sign}${hh}:${mm}`;
}

export function zoneOffsetSeconds(zone: string): number {
  const sign = zone.startsWith('-') ? -1 : 1;
  const [h = '0', m = '0', s = '0'] = zone.slice(1).split(':');
  return sign * (Number(h) * 3600 + Number(m) * 60 + Number(s));
}

/** Unix seconds (may be negative) and microseconds of a timestamp-with-zone text; null when not a finite instant. */
export function parseInstant(s: string): { seconds: number; micros: number } | null {
  const r = parseTimestamp(s);
  if (r === null) return null;
  const p = r.parts;
  const d = new Date(0);
  d.setUTCFullYear(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1);
  d.setUTCHours(p.hour ?? 0, p.minute ?? 0, p.second ?? 0, 0);
  const seconds = Math.floor(d.getTime() / 1000) - (r.zone === null ? 0 : zoneOffsetSeconds(r.zone));
  return { seconds, micros: p.millis ?? 0 };
}
