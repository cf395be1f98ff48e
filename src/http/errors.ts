/** An error the management API answers with: its status, a stable code, a message, often a fix, and headers. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fix?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Printable ASCII only, at most `max` characters: what a request sent, safe to repeat in a message. */
export const printable = (s: string, max = 80) => s.slice(0, max).replace(/[^\x20-\x7e]/g, '?');
