/**
 * The state-chart page in real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * a PostgreSQL → Kafka task is drawn, its highlighted state follows it live (server-sent events,
 * no reload) from full to incremental, and into retrying when its (private) broker stops; the
 * timeline lists those transitions and the context shows throttles, progress and the retry episode.
 * Takes a screenshot: .cache/statechart.png, or docs/statechart.png (the README's) with
 * TRIBUTARY_UPDATE_SCREENSHOT=1, so that a test run leaves the work tree as it was.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { servers } from './servers.js';
import { serveStatechart, type StatechartServer } from './statechartServer.js';
import { createTestDatabase, uniqueName, withPg } from './support.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** A private broker, so stopping it disturbs no other test. */
const PORT = 19392;
const BROKERS = [`127.0.0.1:${PORT}`];
const ENV = { ...process.env, TRIBUTARY_KAFKA_INSTANCE: 'ui', TRIBUTARY_KAFKA_PORT: String(PORT) };
const broker = (verb: 'up' | 'down') => run('bash', ['scripts/kafka.sh', verb], { cwd: ROOT, env: ENV, timeout: 120_000 });
const ROWS = 3000;

describe('state-chart page in headless Chromium', () => {
  let db: { database: string; drop: () => Promise<void> } | undefined;
  let dir: string;
  let runtime: Runtime | undefined;
  let srv: StatechartServer | undefined;
  let browser: Browser | undefined;

  const insert = (from: number, to: number) =>
    withPg((db as { database: string }).database, (c) => c.query(`INSERT INTO public.items SELECT g, 'v' || g FROM generate_series($1::int, $2::int) g`, [from, to]));

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`).toBe(true);
    await broker('up');
    db = await createTestDatabase('ui');
    dir = await mkdtemp(join(tmpdir(), 'trib-ui-'));
    await withPg(db.database, (c) => c.query('CREATE TABLE public.items (id int PRIMARY KEY, v text)'));
    await insert(1, ROWS);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await runtime?.shutdown().catch(() => undefined);
    await broker('up').catch(() => undefined);
    await db?.drop();
    await broker('down').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 180_000);

  const activeIds = (page: Page) => page.$$eval('#chart .node.active', (nodes) => nodes.map((n) => n.getAttribute('data-id')));
  const contextValue = (page: Page, key: string) => page.textContent(`#context dd[data-key="${key}"]`);

  it('draws the task machine, and follows the task from full to incremental and into retrying', async () => {
    runtime = createRuntime({ confirmIntervalMs: 200 });
    srv = await serveStatechart(runtime);
    const topic = uniqueName('ui');
    const task = runtime.add({
      name: topic.replace(/_/g, '-'),
      source: { type: 'postgres', host: servers.postgres.host, port: servers.postgres.port, user: servers.postgres.user, database: (db as { database: string }).database },
      destination: { kafka: { brokers: BROKERS, topic, format: 'canal-json', createTopics: true } },
      objects: [{ schema: 'public', table: 'items' }],
      checkpoints: { store: 'file', dir },
      // 3,000 rows at 200 rows/s: the page sees the full sync under way.
      throttle: { full: { rps: 200 } },
    });
    task.start();

    const page = await (browser as Browser).newPage({ viewport: { width: 1600, height: 1000 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${srv.url}/ui?task=${task.id}`);
    await page.waitForSelector('body[data-laid-out]', { timeout: 30_000 });
    // Marks this document: still there at the end proves the page never reloaded.
    await page.evaluate('window.__sameDocument = true');

    // The chart: every state of the task machine, the full-sync machine inside `full`, elk-laid-out edges.
    const drawn = await page.$$eval('#chart .node', (nodes) => nodes.map((n) => n.getAttribute('data-id')));
    for (const id of ['task.idle', 'task.prechecking', 'task.full', 'task.incremental', 'task.retrying', 'task.retrying.waiting', 'task.paused', 'task.failed', 'fullSync', 'fullSync.copying']) {
      expect(drawn).toContain(id);
    }
    expect(await page.locator('#chart .edge path').count()).toBeGreaterThan(30);

    // Full sync: `full` and the full-sync machine's `copying` are highlighted, the throttle is shown.
    await page.waitForSelector('#chart .node.active[data-id="task.full"]', { timeout: 60_000 });
    await page.waitForSelector('#chart .node.active[data-id="fullSync.copying"]', { timeout: 30_000 });
    expect(await page.textContent('#state')).toBe('full');
    expect(await contextValue(page, 'throttles')).toBe('fullRps 200');
    expect(await page.locator('#timeline tr[data-from="prechecking"][data-to="full"]').count()).toBe(1);
    const rowsSeen = await contextValue(page, 'full sync');
    expect(task.status.state).toBe('full');

    // Lifting the throttle shows in the context at once; the copy then finishes.
    runtime.setThrottle(task.id, { fullRps: null });
    await page.waitForFunction(`document.querySelector('#context dd[data-key="throttles"]')?.textContent === 'unlimited'`, undefined, { timeout: 10_000 });

    // Incremental: the highlight moves, the transition is in the timeline and its edge is marked.
    await page.waitForSelector('#chart .node.active[data-id="task.incremental"]', { timeout: 60_000 });
    expect(await activeIds(page)).not.toContain('task.full');
    expect(await page.textContent('#state')).toBe('incremental');
    const fullToIncremental = page.locator('#timeline tr[data-from="full"][data-to="incremental"]');
    expect(await fullToIncremental.count()).toBe(1);
    expect(await fullToIncremental.getAttribute('data-event')).toBe('xstate.done.actor.fullSync');
    expect(await page.locator('#chart .edge.taken[data-source="task.full"][data-target="task.incremental"]').count()).toBe(1);
    expect(await contextValue(page, 'full sync')).not.toBe(rowsSeen);
    expect(await contextValue(page, 'full sync')).toContain(ROWS.toLocaleString('en-US'));

    // Changes stream; the acknowledged position appears in the context.
    await task.waitFor((s) => s.state === 'incremental' && s.healthy, 60_000);
    await insert(ROWS + 1, ROWS + 50);
    await page.waitForFunction(`/^\\d/.test(document.querySelector('#context dd[data-key="position acked"]')?.textContent ?? '')`, undefined, { timeout: 30_000 });

    // The broker stops: the task retries, and the page shows it.
    await broker('down');
    await insert(ROWS + 51, ROWS + 100);
    await page.waitForSelector('#chart .node.active[data-id="task.retrying"]', { timeout: 120_000 });
    expect(await activeIds(page)).not.toContain('task.incremental');
    expect(await page.textContent('#state')).toMatch(/^retrying/);
    expect(await page.locator('#timeline tr[data-from="incremental"][data-to^="retrying"]').count()).toBeGreaterThanOrEqual(1);
    expect(await contextValue(page, 'retry episode')).toMatch(/^connection error, attempt \d+, back to incremental/);
    expect(await contextValue(page, 'last error')).not.toBe('none');
    expect(await page.textContent('#health')).toBe('not healthy');

    // Nothing came from anywhere but this server, the page never reloaded, and no script failed.
    expect(requests.filter((u) => !u.startsWith(`${srv?.url}/`))).toEqual([]);
    expect(requests).toContain(`${srv.url}/ui/assets/elk.bundled.js`);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(errors).toEqual([]);

    const shot = process.env.TRIBUTARY_UPDATE_SCREENSHOT === '1' ? join(ROOT, 'docs', 'statechart.png') : join(ROOT, '.cache', 'statechart.png');
    await mkdir(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot });
  }, 360_000);
});
