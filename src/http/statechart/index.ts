/**
 * # State-chart page (issue 17)
 *
 * A page that draws each task's machine as a state chart (laid out in the browser by ELK), highlights
 * the active state of every region, and follows the task live through server-sent events, with a
 * timeline of transitions and the task's context. Framework-neutral: the HTTP server mounts it.
 *
 * ## Mounting contract (for the HTTP server)
 *
 * Once, next to the runtime:
 * ```ts
 * const hub = createInspectionHub(runtime); // listens to runtime.inspection$; hub.close() on shutdown
 * const page = statechartPage();            // { html, assets }; build once (reads elkjs once)
 * ```
 * Routes (same auth as the rest of the API; `/ui` and `/ui/assets/*` hold no task data, so they may
 * also be served without the token: the page asks for the token when the API answers 401 and sends
 * it as `Authorization: Bearer ...`):
 *
 * | route                     | answer                                                                  |
 * | ------------------------- | ----------------------------------------------------------------------- |
 * | `GET /ui`                 | 200 `text/html; charset=utf-8`, body `page.html`                        |
 * | `GET /ui/assets/:name`    | `page.assets[name]` → 200, `content-type: asset.type`, body `asset.body`; none → 404 |
 * | `GET /tasks/:id/chart`    | 200 JSON `chartOf(runtime.get(id))` ({@link TaskChart})                 |
 * | `GET /tasks/:id/events`   | 200 with {@link SSE_HEADERS}, then write every chunk of `hub.subscribe(id, send)`; call the function it returns when the client disconnects |
 *
 * `runtime.get(id)` and `hub.subscribe` throw the runtime's FatalError `UNKNOWN_TASK` for an unknown
 * task: answer 404 as for `GET /tasks/:id`. The page also reads `GET /tasks` (an array of task
 * statuses, each with `taskId`). In fastify, the events route takes over the socket:
 * ```ts
 * app.get('/tasks/:id/events', (req, reply) => {
 *   runtime.get(req.params.id);                       // 404 before any byte is written
 *   reply.hijack();
 *   reply.raw.writeHead(200, SSE_HEADERS);
 *   const stop = hub.subscribe(req.params.id, (chunk) => reply.raw.write(chunk));
 *   req.raw.on('close', stop);
 * });
 * ```
 *
 * ## For the CLI
 * - `tributary inspect` (no live task): print `JSON.stringify(machineConfigJson(), null, 2)`:
 *   `createMachine(JSON.parse(output))` loads it.
 * - `tributary inspect` of a live task: `GET /tasks/:id/chart` then print
 *   `inspectDocument(chart.state)`: `{ machine, state: { value, context }, text }`, loaded by
 *   `createMachine(doc.machine).resolveState(doc.state)`.
 * - `tributary inspect --live`: `createRuntime({ inspect: transitionPrinter((line) => process.stdout.write(line + '\n'), { children: true }) })`,
 *   one line per transition: `2024-05-01T12:00:00.000Z full -> incremental (xstate.done.actor.fullSync)`
 *   (`formatTransition(prev, next, event, at)` makes one such line).
 */
export { chartGraph, chartOf, chartState, activeStateIds, eventLabel, guardLabel, taskChartGraph } from './chart.js';
export type { ChartEdge, ChartGraph, ChartNode, ChartSource, ChartState, TaskChart } from './chart.js';
export { createInspectionHub, sseMessage, SSE_HEADERS } from './hub.js';
export type { InspectionHub, InspectionHubOptions } from './hub.js';
export { inspectDocument, machineConfigJson } from './machineConfig.js';
export type { InspectDocument, Json } from './machineConfig.js';
export { elkBundle, statechartPage } from './page.js';
export type { StatechartAsset, StatechartPage, StatechartPageOptions } from './page.js';
export { formatTransition, formatTransitionRecord, stateText, transitionPrinter, transitionTracker } from './transitions.js';
export type { TransitionRecord } from './transitions.js';
