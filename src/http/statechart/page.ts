/**
 * The state-chart page: its HTML and the assets it loads, every one from this server (nothing is
 * fetched from outside). The layout library, ELK (`elkjs`, a dependency), is read from
 * node_modules when the page is first asked for and kept in memory.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CLIENT_CSS, CLIENT_JS } from './client.js';

/** A file the page loads from `GET /ui/assets/<name>`. */
export interface StatechartAsset {
  /** The Content-Type to answer with. */
  type: string;
  body: string;
}

export interface StatechartPage {
  /** `GET /ui` (text/html). */
  html: string;
  /** `GET /ui/assets/<name>`, by name: `statechart.js`, `statechart.css`, `elk.bundled.js`. */
  assets: Record<string, StatechartAsset>;
}

export interface StatechartPageOptions {
  /** Path prefix the API is mounted under (default ''): the page asks `${base}/tasks`, `${base}/ui/assets/...`. */
  base?: string;
  /** Page title. */
  title?: string;
}

let elkSource: string | undefined;

/** elk.bundled.js from the installed elkjs package (ELK compiled to JavaScript, no worker needed). */
export function elkBundle(): string {
  if (elkSource === undefined) {
    const require = createRequire(import.meta.url);
    elkSource = readFileSync(require.resolve('elkjs/lib/elk.bundled.js'), 'utf8');
  }
  return elkSource;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The state-chart page and its assets. Serve `html` at `GET /ui` and each asset at
 * `GET /ui/assets/<name>` with its `type`; the page then calls `GET /tasks`,
 * `GET /tasks/:id/chart` and `GET /tasks/:id/events` on the same origin.
 */
export function statechartPage(options: StatechartPageOptions = {}): StatechartPage {
  const base = (options.base ?? '').replace(/\/+$/, '');
  const title = escapeHtml(options.title ?? 'Tributary · state chart');
  const asset = (name: string) => `${escapeHtml(base)}/ui/assets/${name}`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${asset('statechart.css')}">
</head>
<body data-base="${escapeHtml(base)}">
<header>
  <h1>${title}</h1>
  <label>task <select id="task" aria-label="task"></select></label>
  <span id="state" class="badge" title="current state">…</span>
  <span id="health" class="badge">…</span>
  <span id="live" class="badge">connecting</span>
  <form id="token-form" hidden><input id="token-input" type="password" placeholder="API bearer token" autocomplete="off"> <button>Use</button></form>
</header>
<p id="message" hidden></p>
<main>
  <section id="chart-wrap">
    <div id="chart" aria-live="polite">Loading…</div>
    <p id="global"></p>
  </section>
  <aside>
    <h2>Context</h2>
    <div id="context"></div>
    <h2>Timeline</h2>
    <table><thead><tr><th>time</th><th>transition (event)</th></tr></thead><tbody id="timeline"></tbody></table>
  </aside>
</main>
<script src="${asset('elk.bundled.js')}"></script>
<script src="${asset('statechart.js')}"></script>
</body>
</html>
`;
  return {
    html,
    assets: {
      'statechart.js': { type: 'text/javascript; charset=utf-8', body: CLIENT_JS },
      'statechart.css': { type: 'text/css; charset=utf-8', body: CLIENT_CSS },
      'elk.bundled.js': { type: 'text/javascript; charset=utf-8', body: elkBundle() },
    },
  };
}
