/**
 * The state-chart page's browser script and style sheet, as text (served under /ui/assets/).
 *
 * The script lists the tasks (`GET /tasks`), fetches a task's chart (`GET /tasks/:id/chart`), lays
 * it out with ELK (elk.bundled.js, served beside it), draws it as SVG, and follows the task's
 * server-sent events (`GET /tasks/:id/events`, read with fetch so that a bearer token can be sent):
 * it highlights the active state of every region, the transition just taken, lists transitions in
 * a timeline and shows the task's context. Plain ES2020, no build step; it names nothing outside
 * the page's origin.
 */

export const CLIENT_JS = String.raw`(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var body = document.body;
  var base = body.getAttribute('data-base') || '';
  var token = sessionStorage.getItem('tributary.token') || '';
  var els = {
    select: document.getElementById('task'),
    badge: document.getElementById('state'),
    health: document.getElementById('health'),
    live: document.getElementById('live'),
    chart: document.getElementById('chart'),
    global: document.getElementById('global'),
    context: document.getElementById('context'),
    timeline: document.getElementById('timeline'),
    message: document.getElementById('message'),
    tokenForm: document.getElementById('token-form'),
    tokenInput: document.getElementById('token-input'),
  };
  var direction = /^(RIGHT|DOWN|LEFT|UP)$/.test(new URL(location.href).searchParams.get('dir') || '') ? new URL(location.href).searchParams.get('dir') : 'DOWN';
  var view = null; // { taskId, graph, abort, edges: [], nodes: Map }
  var canvas = document.createElement('canvas').getContext('2d');
  var FONT_TITLE = '600 15px system-ui, -apple-system, "Segoe UI", sans-serif';
  var FONT_SMALL = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
  var FONT_EDGE = '12px system-ui, -apple-system, "Segoe UI", sans-serif';

  function textWidth(text, font) {
    canvas.font = font;
    return Math.ceil(canvas.measureText(text).width);
  }

  function say(text) {
    els.message.textContent = text || '';
    els.message.hidden = !text;
  }

  function api(path, init) {
    init = init || {};
    var headers = Object.assign({ accept: 'application/json' }, init.headers || {});
    if (token) headers.authorization = 'Bearer ' + token;
    return fetch(base + path, Object.assign({}, init, { headers: headers, cache: 'no-store' })).then(function (res) {
      if (res.status === 401) {
        els.tokenForm.hidden = false;
        throw new Error('The API asks for a bearer token: enter it above.');
      }
      return res;
    });
  }

  function json(path) {
    return api(path).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!res.ok) {
          var err = data && data.error ? data.error : null;
          throw new Error(err && err.message ? err.code + ': ' + err.message : 'HTTP ' + res.status + ' for ' + path);
        }
        return data;
      });
    });
  }

  function taskIds(list) {
    var items = Array.isArray(list) ? list : list && Array.isArray(list.tasks) ? list.tasks : [];
    return items.map(function (t) { return typeof t === 'string' ? t : t.taskId || t.id || t.name; }).filter(Boolean);
  }

  // ---- layout --------------------------------------------------------------------------------

  function nodeLines(n) {
    var lines = [];
    if (n.type !== 'machine' && n.invokes.length) lines.push('invoke ' + n.invokes.join(', '));
    if (n.internal.length) lines.push('on ' + n.internal.join(', '));
    return lines;
  }

  function layout(graph) {
    var children = new Map();
    graph.nodes.forEach(function (n) {
      var key = n.parent || '';
      if (!children.has(key)) children.set(key, []);
      children.get(key).push(n);
    });
    function elkNode(n) {
      var lines = nodeLines(n);
      var title = (n.type === 'final' ? '◎ ' : '') + n.label;
      var width = Math.max(textWidth(title, FONT_TITLE) + 28, lines.reduce(function (w, l) { return Math.max(w, textWidth(l, FONT_SMALL) + 20); }, 0), 90);
      var header = 28 + lines.length * 15;
      var kids = children.get(n.id) || [];
      var e = { id: n.id };
      if (kids.length) {
        e.children = kids.map(elkNode);
        e.layoutOptions = { 'elk.padding': '[top=' + (header + 10) + ',left=14,bottom=14,right=14]', 'elk.nodeSize.minimum': '(' + width + ',' + header + ')', 'elk.nodeSize.constraints': 'MINIMUM_SIZE' };
      } else {
        e.width = width;
        e.height = header + 8;
      }
      return e;
    }
    var edges = graph.edges.map(function (e) {
      var w = e.labels.reduce(function (m, l) { return Math.max(m, textWidth(l, FONT_EDGE)); }, 0) + 6;
      return { id: e.id, sources: [e.source], targets: [e.target], labels: [{ id: e.id + '_l', text: e.labels.join('\n'), width: w, height: e.labels.length * 14 + 2 }] };
    });
    var root = {
      id: '__root',
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': direction,
        'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
        'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
        'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
        'elk.edgeRouting': 'ORTHOGONAL',
        'elk.layered.spacing.nodeNodeBetweenLayers': '36',
        'elk.layered.spacing.edgeNodeBetweenLayers': '14',
        'elk.spacing.nodeNode': '26',
        'elk.spacing.edgeEdge': '8',
        'elk.spacing.edgeLabel': '3',
        'elk.edgeLabels.inline': 'false',
        'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
        'elk.padding': '[top=16,left=16,bottom=16,right=16]',
      },
      children: (children.get('') || []).map(elkNode),
      edges: edges,
    };
    return new ELK().layout(root);
  }

  // ---- drawing -------------------------------------------------------------------------------

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (parent) parent.appendChild(e);
    return e;
  }

  function draw(graph, laid) {
    var byId = new Map(graph.nodes.map(function (n) { return [n.id, n]; }));
    var abs = new Map([['__root', { x: 0, y: 0 }]]);
    var svg = el('svg', { viewBox: '0 0 ' + Math.ceil(laid.width) + ' ' + Math.ceil(laid.height), preserveAspectRatio: 'xMidYMid meet', role: 'img', 'aria-label': 'state chart of task ' + view.taskId });
    var defs = el('defs', {}, svg);
    var marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }, marker);
    var marker2 = el('marker', { id: 'arrow-taken', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead taken' }, marker2);
    var nodesLayer = el('g', { class: 'nodes' }, svg);
    var edgesLayer = el('g', { class: 'edges' }, svg);
    var nodes = new Map();

    function walk(elkNode, ox, oy) {
      (elkNode.children || []).forEach(function (c) {
        var x = ox + c.x, y = oy + c.y;
        abs.set(c.id, { x: x, y: y });
        var n = byId.get(c.id);
        var g = el('g', { class: 'node ' + n.type + (c.children && c.children.length ? ' compound' : ' leaf') + (n.tags.length ? ' tag-' + n.tags.join(' tag-') : ''), 'data-id': n.id }, nodesLayer);
        el('rect', { x: x, y: y, width: c.width, height: c.height, rx: n.type === 'machine' ? 4 : 10 }, g);
        if (n.type === 'final') el('rect', { x: x + 3, y: y + 3, width: c.width - 6, height: c.height - 6, rx: 8, class: 'inner' }, g);
        var tx = x + 12;
        if (n.initial) {
          el('circle', { cx: x + 10, cy: y + 15, r: 3.5, class: 'initial' }, g);
          tx = x + 18;
        }
        var title = el('text', { x: tx, y: y + 20, class: 'title' }, g);
        title.textContent = n.label;
        nodeLines(n).forEach(function (line, i) {
          var t = el('text', { x: x + 12, y: y + 36 + i * 15, class: 'detail' }, g);
          t.textContent = line;
        });
        var tip = el('title', {}, g);
        tip.textContent = n.id + (n.tags.length ? ' (tags: ' + n.tags.join(', ') + ')' : '');
        nodes.set(n.id, g);
        walk(c, x, y);
      });
    }
    walk(laid, 0, 0);

    var edges = [];
    (laid.edges || []).forEach(function (e) {
      var off = abs.get(e.container || '__root') || { x: 0, y: 0 };
      var src = graph.edges.find(function (x) { return x.id === e.id; });
      var g = el('g', { class: 'edge', 'data-source': e.sources[0], 'data-target': e.targets[0] }, edgesLayer);
      (e.sections || []).forEach(function (s) {
        var pts = [s.startPoint].concat(s.bendPoints || [], [s.endPoint]);
        var d = pts.map(function (p, i) { return (i ? 'L' : 'M') + (p.x + off.x).toFixed(1) + ',' + (p.y + off.y).toFixed(1); }).join(' ');
        el('path', { d: d, 'marker-end': 'url(#arrow)' }, g);
      });
      (e.labels || []).forEach(function (l) {
        var lines = String(l.text).split('\n');
        el('rect', { x: l.x + off.x - 1, y: l.y + off.y, width: l.width + 2, height: l.height, rx: 3, class: 'label-bg' }, g);
        var t = el('text', { x: l.x + off.x + 3, y: l.y + off.y + 12, class: 'label' }, g);
        lines.forEach(function (line, i) {
          var span = el('tspan', { x: l.x + off.x + 3, dy: i ? 14 : 0 }, t);
          span.textContent = line;
        });
      });
      edges.push({ g: g, source: src ? src.source : e.sources[0], target: src ? src.target : e.targets[0], via: src && src.via ? src.via : [] });
    });
    els.chart.replaceChildren(svg);
    view.nodes = nodes;
    view.edges = edges;
  }

  // ---- state ---------------------------------------------------------------------------------

  function idsOf(actor, text) {
    var id = actor ? text : view.graph.id + '.' + text;
    var parts = id.split('.');
    var out = [];
    for (var i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join('.'));
    return out;
  }

  function highlight(active) {
    var set = new Set(active);
    view.nodes.forEach(function (g, id) { g.classList.toggle('active', set.has(id)); });
  }

  function markTaken(t) {
    var from = idsOf(t.actor, t.from);
    var to = idsOf(t.actor, t.to);
    var machine = t.actor ? t.actor.split('/').pop() : view.graph.id;
    view.edges.forEach(function (e) {
      // A transition of one machine leaves the marks of the others (the invoked full sync) alone.
      if (e.source !== machine && e.source.indexOf(machine + '.') !== 0) return;
      var targets = [e.target].concat(e.via || []);
      var taken = from.indexOf(e.source) !== -1 && targets.some(function (t) { return to.indexOf(t) !== -1; });
      e.g.classList.toggle('taken', taken);
      e.g.querySelectorAll('path').forEach(function (p) { p.setAttribute('marker-end', taken ? 'url(#arrow-taken)' : 'url(#arrow)'); });
      if (taken) e.g.parentNode.appendChild(e.g);
    });
  }

  function time(at) {
    var d = new Date(at);
    var pad = function (n, w) { return String(n).padStart(w || 2, '0'); };
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
  }

  function num(n) { return typeof n === 'number' ? n.toLocaleString('en-US') : '–'; }
  function bytes(n) {
    if (typeof n !== 'number') return '–';
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
  }
  function when(ms) { return typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC') : '–'; }

  function row(dl, key, value, cls) {
    var dt = document.createElement('dt');
    dt.textContent = key;
    var dd = document.createElement('dd');
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
    if (cls) dd.className = cls;
    dd.setAttribute('data-key', key);
    dl.append(dt, dd);
  }

  function progressBar(done, total) {
    var wrap = document.createElement('div');
    wrap.className = 'progress';
    var bar = document.createElement('div');
    var pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
    bar.style.width = pct.toFixed(1) + '%';
    wrap.appendChild(bar);
    var label = document.createElement('span');
    label.textContent = done > total ? num(done) + ' rows (estimated ' + num(total) + ')' : num(done) + ' / ' + num(total) + ' rows' + (total > 0 ? ' (' + pct.toFixed(0) + '%)' : '');
    wrap.appendChild(label);
    return wrap;
  }

  function showState(s) {
    if (!view || s.taskId !== view.taskId) return;
    highlight(s.active);
    var st = s.status || {};
    var c = s.context || {};
    var p = c.progress || {};
    els.badge.textContent = s.text;
    els.badge.className = 'badge state-' + String(s.text).split('.')[0];
    els.badge.setAttribute('data-state', s.text);
    els.health.textContent = st.healthy ? 'healthy' : 'not healthy';
    els.health.className = 'badge ' + (st.healthy ? 'ok' : 'bad');
    var dl = document.createElement('dl');
    row(dl, 'state', s.text);
    row(dl, 'phase', c.phase || '–');
    row(dl, 'full sync', progressBar(p.rowsDone || 0, p.rowsEstimated || 0));
    row(dl, 'chunks', num(p.chunksDone) + ' / ' + num(p.chunksTotal));
    var counters = st.counters || {};
    row(dl, 'delivered', num(counters.events) + ' events, ' + bytes(counters.bytes) + ', ' + num(counters.snapshotRows) + ' snapshot rows');
    row(dl, 'position acked', p.position || '–', 'mono');
    row(dl, 'position checkpointed', st.position || '–', 'mono');
    row(dl, 'latency', typeof st.latencyMs === 'number' ? (st.latencyMs / 1000).toFixed(1) + ' s' : '–');
    var r = c.retry;
    row(dl, 'retry episode', r ? r.cause + ' error, attempt ' + r.attempts + ', back to ' + r.phase + '; since ' + when(r.retryStartedAt) + ', fails after ' + when(r.deadline) + ' (' + r.windowMinutes + ' min window)' : 'none', r ? 'warn' : '');
    var th = c.throttle || {};
    var limits = Object.keys(th).map(function (k) { return k + ' ' + th[k]; });
    row(dl, 'throttles', limits.length ? limits.join(', ') : 'unlimited');
    var e = c.lastError;
    row(dl, 'last error', e ? e.code + ' (' + e.kind + '): ' + e.message : 'none', e ? 'bad' : '');
    row(dl, 'restarts', String(c.restarts || 0) + (c.startedAt ? ', started ' + when(c.startedAt) : ''));
    row(dl, 'updated', time(s.at));
    els.context.replaceChildren(dl);
  }

  function shortEvent(type) {
    var m = /^xstate\.(done|error)\.actor\.(.*)$/.exec(type);
    if (m) return m[1] + ' ' + m[2];
    m = /^xstate\.after\.([^.]+)\./.exec(type);
    return m ? 'after ' + m[1] : type;
  }

  function addTransition(t, mark) {
    if (!view || t.taskId !== view.taskId) return;
    var tr = document.createElement('tr');
    tr.setAttribute('data-from', t.from);
    tr.setAttribute('data-to', t.to);
    tr.setAttribute('data-event', t.event);
    var when = document.createElement('td');
    when.textContent = time(t.at);
    var what = document.createElement('td');
    var move = document.createElement('div');
    move.className = 'move';
    move.textContent = t.from + ' → ' + t.to;
    var cause = document.createElement('div');
    cause.className = 'event';
    cause.textContent = shortEvent(t.event);
    cause.title = t.event;
    what.append(move, cause);
    tr.append(when, what);
    if (t.actor) tr.className = 'child';
    els.timeline.insertBefore(tr, els.timeline.firstChild);
    while (els.timeline.children.length > 300) els.timeline.removeChild(els.timeline.lastChild);
    if (mark) markTaken(t);
  }

  // ---- server-sent events --------------------------------------------------------------------

  function handle(name, data) {
    if (name === 'snapshot') showState(data);
    else if (name === 'transition') addTransition(data, true);
    else if (name === 'timeline') {
      els.timeline.replaceChildren();
      data.transitions.forEach(function (t) { addTransition(Object.assign({ taskId: data.taskId }, t), false); });
      var last = data.transitions[data.transitions.length - 1];
      if (last) markTaken(last);
    }
  }

  function follow(taskId, signal) {
    return api('/tasks/' + encodeURIComponent(taskId) + '/events', { signal: signal, headers: { accept: 'text/event-stream' } }).then(function (res) {
      if (!res.ok || !res.body) throw new Error('HTTP ' + res.status + ' for the event stream');
      els.live.textContent = 'live';
      els.live.className = 'badge ok';
      var reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      var buffer = '';
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) return;
          buffer += r.value.replace(/\r\n?/g, '\n');
          var i;
          while ((i = buffer.indexOf('\n\n')) !== -1) {
            var block = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            var name = 'message', data = [];
            block.split('\n').forEach(function (line) {
              if (line.startsWith('event:')) name = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            });
            if (data.length) {
              try { handle(name, JSON.parse(data.join('\n'))); } catch (err) { console.error('bad event', name, err); }
            }
          }
          return pump();
        });
      }
      return pump();
    });
  }

  function followForever(taskId, signal) {
    follow(taskId, signal).catch(function (err) {
      if (signal.aborted) return;
      console.warn('event stream:', err);
    }).then(function () {
      if (signal.aborted) return;
      els.live.textContent = 'reconnecting';
      els.live.className = 'badge bad';
      setTimeout(function () { if (!signal.aborted) followForever(taskId, signal); }, 1500);
    });
  }

  // ---- tasks ---------------------------------------------------------------------------------

  function open(taskId) {
    if (view && view.abort) view.abort.abort();
    var abort = new AbortController();
    view = { taskId: taskId, graph: null, abort: abort, nodes: new Map(), edges: [] };
    var url = new URL(location.href);
    url.searchParams.set('task', taskId);
    history.replaceState(null, '', url);
    say('');
    els.chart.textContent = 'Laying out…';
    return json('/tasks/' + encodeURIComponent(taskId) + '/chart').then(function (chart) {
      view.graph = chart.graph;
      els.global.textContent = chart.graph.global.length ? 'In every state: ' + chart.graph.global.join(' · ') : '';
      return layout(chart.graph).then(function (laid) {
        if (view.abort !== abort) return;
        draw(chart.graph, laid);
        body.setAttribute('data-laid-out', 'true');
        showState(Object.assign({ taskId: taskId }, chart.state));
        followForever(taskId, abort.signal);
      });
    }).catch(function (err) { say(err.message); });
  }

  function start() {
    return json('/tasks').then(function (list) {
      var ids = taskIds(list);
      els.select.replaceChildren();
      ids.forEach(function (id) {
        var o = document.createElement('option');
        o.value = id;
        o.textContent = id;
        els.select.appendChild(o);
      });
      if (!ids.length) { say('This runtime has no task yet.'); return; }
      var wanted = new URL(location.href).searchParams.get('task');
      var id = wanted && ids.indexOf(wanted) !== -1 ? wanted : ids[0];
      els.select.value = id;
      return open(id);
    }).catch(function (err) { say(err.message); });
  }

  els.select.addEventListener('change', function () { open(els.select.value); });
  els.tokenForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    token = els.tokenInput.value.trim();
    sessionStorage.setItem('tributary.token', token);
    els.tokenForm.hidden = true;
    start();
  });
  start();
})();
`;

export const CLIENT_CSS = `:root {
  --ink: #1f2430; --muted: #5f6776; --line: #8a93a3; --paper: #ffffff; --panel: #f5f6f8;
  --active: #fff1b8; --active-line: #d97706; --taken: #d97706; --ok: #15803d; --bad: #b91c1c; --warn: #a16207;
  font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--paper);
}
* { box-sizing: border-box; }
body { margin: 0; height: 100vh; display: flex; flex-direction: column; }
header { display: flex; align-items: center; gap: 12px; padding: 8px 16px; border-bottom: 1px solid #dde1e7; background: var(--panel); flex-wrap: wrap; }
header h1 { font-size: 16px; margin: 0 8px 0 0; font-weight: 650; }
header select { font: inherit; padding: 3px 6px; }
.badge { display: inline-block; padding: 2px 9px; border-radius: 999px; font-size: 13px; font-weight: 600; background: #e5e7eb; }
.badge.ok { background: #dcfce7; color: var(--ok); }
.badge.bad { background: #fee2e2; color: var(--bad); }
#state { background: var(--active); color: #7c4a03; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
#state.state-retrying, #state.state-failed, #state.state-precheckFailed { background: #fee2e2; color: var(--bad); }
#token-form input { font: inherit; width: 22em; }
#message { margin: 0; padding: 8px 16px; background: #fff7ed; color: #9a3412; }
main { flex: 1; display: grid; grid-template-columns: minmax(0, 1fr) 400px; min-height: 0; }
#chart-wrap { display: flex; flex-direction: column; min-height: 0; border-right: 1px solid #dde1e7; }
#chart { flex: 1; min-height: 0; padding: 6px; }
#chart svg { width: 100%; height: 100%; display: block; }
#global { margin: 0; padding: 6px 14px; font-size: 12px; color: var(--muted); border-top: 1px solid #eef0f3; }
aside { overflow: auto; padding: 10px 14px; background: #fbfbfc; }
aside h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 10px 0 6px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 10px; margin: 0; font-size: 13px; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
dd.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
dd.warn { color: var(--warn); } dd.bad { color: var(--bad); }
.progress { position: relative; height: 18px; background: #e5e7eb; border-radius: 4px; overflow: hidden; }
.progress div { position: absolute; inset: 0 auto 0 0; background: #86efac; }
.progress span { position: relative; font-size: 12px; padding-left: 6px; line-height: 18px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
td { padding: 2px 4px; border-bottom: 1px solid #eef0f3; vertical-align: top; white-space: nowrap; }
td:first-child { color: var(--muted); font-variant-numeric: tabular-nums; }
td .move { font-weight: 600; }
td .event { white-space: normal; overflow-wrap: anywhere; color: var(--muted); font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 11px; }
tr.child td .move { font-weight: 400; color: var(--muted); }
tbody tr:first-child td { background: #fffbeb; }
.node rect { fill: #fff; stroke: var(--line); stroke-width: 1.3; }
.node.compound > rect, .node.machine > rect { fill: #f8fafc; }
.node.machine > rect { stroke-dasharray: 5 3; fill: #f1f5f9; }
.node.return > rect { stroke-dasharray: 3 3; fill: #f8fafc; }
th { text-align: left; font-size: 11px; font-weight: 600; color: var(--muted); padding: 2px 4px; }
.node.final rect.inner { fill: none; }
.node text.title { font: 600 15px system-ui, -apple-system, "Segoe UI", sans-serif; fill: var(--ink); }
.node.machine text.title { font-size: 12px; fill: var(--muted); }
.node text.detail { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif; fill: var(--muted); }
.node circle.initial { fill: var(--ink); }
.node.active > rect { fill: var(--active); stroke: var(--active-line); stroke-width: 3; }
.node.active.compound > rect, .node.active.machine > rect { fill: #fffbeb; stroke-width: 2.5; }
.node.active.tag-retrying > rect { fill: #fee2e2; stroke: var(--bad); }
.node.active > text.title { fill: #7c2d12; }
.edge path { fill: none; stroke: var(--line); stroke-width: 1.1; }
.edge .label { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif; fill: #3f4654; }
.edge .label-bg { fill: #fff; opacity: .85; }
.arrowhead { fill: var(--line); }
.arrowhead.taken { fill: var(--taken); }
.edge.taken path { stroke: var(--taken); stroke-width: 3; }
.edge.taken .label { fill: #9a3412; font-weight: 700; }
`;
