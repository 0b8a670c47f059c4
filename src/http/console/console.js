/*
 * The console page: wires the editor, the result grid, the chart, the schema browser and
 * the history together, and runs queries (stream.js) or follows subscriptions (live mode).
 *
 * States: idle -> running (a query streams in; Stop or Esc aborts it, which cancels it on
 * the server) -> idle; or idle -> live (a SUBSCRIBE stream; rows are appended until Stop).
 * window.QV.app exposes the state for people poking around in devtools and for the tests.
 */
(function (QV) {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const MAX_ROWS = 1000000;        /* a query stops being read past this */
  const LIVE_KEEP = 200000;        /* live mode keeps the newest rows */
  const HISTORY_KEY = 'quiver.console.history', DRAFT_KEY = 'quiver.console.draft', SPLIT_KEY = 'quiver.console.editor-h';
  const HISTORY_MAX = 200;
  const SAMPLE = "-- Ctrl+Enter runs the query (or the selection). Tables are on the left.\nSHOW TABLES";

  const app = {
    state: 'idle', meta: [], rows: [], stats: null, error: null, elapsedMs: 0, ctl: null, chartable: false,
    view: 'table', prefer: 'table', liveRows: 0, lastSql: '', chartModel: null, runs: 0,
  };
  QV.app = app;

  const fmtInt = (n) => Number(n).toLocaleString('en-US');
  function fmtBytes(b) {
    if (b < 1024) return b + ' B';
    const u = ['KiB', 'MiB', 'GiB', 'TiB'];
    let i = -1;
    do { b /= 1024; i++; } while (b >= 1024 && i < u.length - 1);
    return b.toFixed(b < 10 ? 2 : 1) + ' ' + u[i];
  }
  function fmtMs(ms) {
    if (ms < 1) return ms.toFixed(2) + ' ms';
    if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + ' ms';
    return (ms / 1000).toFixed(2) + ' s';
  }
  function fmtAgo(t) {
    const s = (Date.now() - t) / 1000;
    if (s < 60) return 'just now';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return new Date(t).toLocaleDateString();
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* ---- status line ---- */
  function setMessage(kind, text) {
    const m = $('message');
    m.className = 'message ' + kind;
    m.textContent = text;
    app.error = kind === 'error' ? text : null;
  }
  function setStats(parts) {
    const s = $('stats');
    s.replaceChildren();
    parts.forEach(([label, value, title]) => {
      const d = el('span', 'stat');
      if (title) d.title = title;
      d.append(el('b', null, value), document.createTextNode(' ' + label));
      s.appendChild(d);
    });
  }

  /* ---- running ---- */
  function setState(st) {
    app.state = st;
    document.body.dataset.state = st;
    $('run').disabled = st !== 'idle';
    $('stop').disabled = st === 'idle';
  }

  function resetResult(meta) {
    app.meta = meta;
    app.rows = grid.rows;
    grid.setColumns(meta);
    app.rows = grid.rows;
    app.chartable = !!QV.chartShape(meta);
    $('tab-chart').disabled = !app.chartable;
    chart.clear();
    app.chartModel = null;
    if (!app.chartable && app.view === 'chart') showView('table', true);
  }

  function isSubscribe(sql) { return /^\s*(--[^\n]*\n\s*)*subscribe\b/i.test(sql); }

  function run() {
    if (app.state !== 'idle') return;
    const r = editor.runnable();
    const sql = r.text.trim();
    if (!sql) return;
    if ($('live').checked || isSubscribe(sql)) return runLive(r);
    runQuery(r);
  }

  async function runQuery(r) {
    const sql = r.text;
    editor.clearError();
    setState('running');
    app.lastSql = sql;
    app.runs++;
    updateDownload(sql);
    const ctl = new AbortController();
    app.ctl = ctl;
    const t0 = performance.now();
    let metaSeen = false, capped = false, ticking = 0;
    setMessage('busy', 'Running…');
    setStats([]);
    $('res-info').textContent = '';
    const tick = () => {
      if (app.state !== 'running') return;
      setMessage('busy', 'Running… ' + fmtInt(grid.rows.length) + ' rows, ' + fmtMs(performance.now() - t0));
      ticking = setTimeout(tick, 200);
    };
    ticking = setTimeout(tick, 200);
    let ok = false, nrows = 0;
    try {
      const res = await QV.runQuery(sql, {
        signal: ctl.signal,
        onMeta: (meta) => { metaSeen = true; resetResult(meta); },
        onRows: (rows) => {
          if (grid.rows.length + rows.length > MAX_ROWS) { rows = rows.slice(0, MAX_ROWS - grid.rows.length); capped = true; }
          grid.append(rows);
        },
        stopped: () => capped,
      });
      const ms = performance.now() - t0;
      app.elapsedMs = ms;
      if (res.kind === 'text') {
        resetResult([{ name: res.format + ' output', type: 'STRING' }]);
        grid.append(res.text.split('\n').filter((l, i, a) => l || i < a.length - 1).map((l) => [l]));
        setMessage('ok', 'The query asked for FORMAT ' + res.format + '; shown as text.');
        setStats([['elapsed', fmtMs(ms)]]);
      } else {
        nrows = grid.rows.length;
        grid.done = true;
        grid.schedule(true);
        const st = res.statistics || {};
        app.stats = st;
        setMessage(capped ? 'warn' : 'ok', capped ? 'Showing the first ' + fmtInt(MAX_ROWS) + ' rows (the rest were not read).' : 'Done at ' + new Date().toLocaleTimeString() + '.');
        const parts = [['rows', fmtInt(nrows)], ['elapsed', fmtMs(st.elapsed_s !== undefined ? st.elapsed_s * 1000 : ms), 'server time to the last row; ' + fmtMs(ms) + ' in the browser']];
        if (st.rows_read !== undefined) parts.push(['rows read', fmtInt(st.rows_read)], ['read', fmtBytes(st.bytes_read || 0), 'column bytes scanned']);
        setStats(parts);
        $('res-info').textContent = metaSeen ? app.meta.length + ' columns' : '';
      }
      ok = true;
      showView(app.prefer === 'chart' && app.chartable ? 'chart' : 'table', true);
      if (/^\s*(create|drop|insert)\b/i.test(sql)) loadSchema();
    } catch (e) {
      if (e.name === 'AbortError') {
        setMessage('warn', 'Stopped after ' + fmtInt(grid.rows.length) + ' rows.');
        nrows = grid.rows.length;
      } else {
        showError(e, r, sql, 0);
      }
    } finally {
      clearTimeout(ticking);
      app.ctl = null;
      setState('idle');
      addHistory(sql, ok, nrows, performance.now() - t0);
    }
  }

  /* Show e; mark where it points. sent = prefix + r.text (live mode may put SUBSCRIBE before it). */
  function showError(e, r, sent, prefix) {
    const msg = e.message || String(e);
    setMessage('error', msg);
    setStats([]);
    const off = QV.errorOffset(msg, sent) - prefix;
    if (off >= 0 && off <= r.text.length) editor.markErrorAt(r.offset + off, msg);
  }

  /* ---- live mode ---- */
  async function runLive(r) {
    /* sent as written, so the server's line/column point into the editor; the prefix is undone in showError */
    let sql = r.text, prefix = 0;
    if (!isSubscribe(sql)) { sql = 'SUBSCRIBE ' + r.text; prefix = 10; }
    const autoChecked = !$('live').checked;
    $('live').checked = true;
    editor.clearError();
    setState('live');
    app.lastSql = sql;
    app.runs++;
    app.liveRows = 0;
    updateDownload(null);
    resetResult([]);
    const ctl = new AbortController();
    app.ctl = ctl;
    const t0 = performance.now();
    let last = null, chartTimer = 0;
    setMessage('live', 'Live: waiting for commits…');
    loadSchema();
    setStats([]);
    const redrawChart = () => {
      chartTimer = 0;
      if (app.chartable && (app.view === 'chart' || app.prefer === 'chart')) showView('chart', true);
    };
    let ok = false;
    try {
      let ended = null;
      await QV.subscribe(sql, {
        signal: ctl.signal,
        onEvent: (ev, data) => {
          if (ev === 'schema') { resetResult(data.meta); return; }
          if (ev === 'end') { ended = data; return; }
          if (ev !== 'rows' || !data.length) return;
          const follow = grid.atBottom();
          app.liveRows += data.length;
          grid.append(data);
          if (grid.rows.length > LIVE_KEEP) grid.setRows(grid.rows.slice(grid.rows.length - LIVE_KEEP));
          app.rows = grid.rows;
          last = new Date();
          if (follow) requestAnimationFrame(() => grid.scrollToEnd());
          setMessage('live', 'Live: ' + fmtInt(app.liveRows) + ' rows · last commit at ' + last.toLocaleTimeString());
          setStats([['rows', fmtInt(app.liveRows)]]);
          $('res-info').textContent = app.meta.length + ' columns';
          if (!chartTimer) chartTimer = setTimeout(redrawChart, 250);
        },
      });
      clearTimeout(chartTimer);
      redrawChart();
      if (ended && ended.error) throw new Error(ended.error + ' (' + ended.code + ')');
      ok = true;
      setMessage('ok', 'The subscription ended (' + fmtInt(app.liveRows) + ' rows).');
    } catch (e) {
      if (e.name === 'AbortError') { ok = true; setMessage('warn', 'Live mode stopped after ' + fmtInt(app.liveRows) + ' rows.'); }
      else if (e instanceof QV.QueryError) showError(e, r, sql, prefix);
      else setMessage('error', 'The subscription broke off: ' + e.message);
    } finally {
      clearTimeout(chartTimer);
      app.ctl = null;
      setState('idle');
      if (autoChecked) $('live').checked = false;
      addHistory(sql, ok, app.liveRows, performance.now() - t0);
    }
  }

  function stop() { if (app.ctl) app.ctl.abort(); }

  function updateDownload(sql) {
    const a = $('download');
    if (!sql) { a.setAttribute('aria-disabled', 'true'); a.removeAttribute('href'); return; }
    a.href = '/?format=CSVWithNames&query=' + encodeURIComponent(sql.replace(/;\s*$/, ''));
    a.setAttribute('download', 'quiver-result.csv');
    a.setAttribute('aria-disabled', 'false');
  }

  /* ---- views ---- */
  function showView(v, quiet) {
    if (v === 'chart' && !app.chartable) return;
    app.view = v;
    document.querySelectorAll('.res-tabs [data-view]').forEach((b) => b.classList.toggle('on', b.dataset.view === v));
    $('view-table').classList.toggle('on', v === 'table');
    $('view-chart').classList.toggle('on', v === 'chart');
    if (!quiet) { app.prefer = v; localStorage.setItem('quiver.console.view', v); }
    if (v === 'chart') drawChart();
  }

  function drawChart() {
    const m = QV.chartModel(app.meta, grid.rows);
    app.chartModel = m;
    if (!m) { chart.clear(); return; }
    chart.draw(m);
    app.chart = chart.u;
  }

  /* ---- schema ---- */
  async function loadSchema() {
    const ul = $('schema');
    try {
      const r = await fetch('/tables', { headers: { Accept: 'application/json' } });
      const j = await r.json();
      app.tables = j.tables || [];
      renderSchema();
    } catch (e) {
      ul.replaceChildren(el('li', 'muted pad', 'Could not load tables: ' + e.message));
    }
  }

  const openTables = new Set();
  function renderSchema() {
    const ul = $('schema'), f = $('schema-filter').value.trim().toLowerCase();
    ul.replaceChildren();
    const tables = (app.tables || []).filter((t) => !f || t.name.toLowerCase().includes(f) ||
      t.schema.some((c) => c.name.toLowerCase().includes(f)));
    if (!tables.length) ul.appendChild(el('li', 'muted pad', app.tables && app.tables.length ? 'No table matches.' : 'No tables yet. CREATE TABLE, or POST /ingest?table=…'));
    for (const t of tables) {
      const li = el('li', 'tbl' + (openTables.has(t.name) ? ' open' : ''));
      li.dataset.table = t.name;
      const row = el('div', 'tbl-row');
      row.title = t.name + ': ' + fmtInt(t.rows) + ' rows, ' + fmtBytes(t.bytes || 0);
      const caret = el('span', 'caret', '▸');
      const name = el('span', 'tname', t.name);
      const rows = el('span', 'trows', compact(t.rows));
      const go = el('button', 'go', 'SELECT');
      go.title = 'SELECT * FROM ' + t.name + ' LIMIT 1000';
      row.append(caret, name, rows, go);
      li.appendChild(row);
      const cols = el('ul', 'cols');
      for (const c of t.schema) {
        const ci = el('li', 'col');
        ci.title = 'Double-click to insert';
        ci.append(el('span', 'cname', c.name), el('span', 'ctype', c.type + (c.nullable ? '' : ' NOT NULL')));
        ci.addEventListener('dblclick', () => editor.insert(quoteIdent(c.name)));
        cols.appendChild(ci);
      }
      li.appendChild(cols);
      row.addEventListener('click', (e) => {
        if (e.target === go) return;
        if (openTables.has(t.name)) openTables.delete(t.name); else openTables.add(t.name);
        li.classList.toggle('open');
      });
      row.addEventListener('dblclick', (e) => { if (e.target !== go) editor.insert(quoteIdent(t.name)); });
      go.addEventListener('click', () => {
        editor.value = 'SELECT * FROM ' + quoteIdent(t.name) + ' LIMIT 1000';
        saveDraft();
        run();
      });
      ul.appendChild(li);
    }
  }
  function compact(n) {
    if (n < 1000) return String(n);
    if (n < 1e6) return (n / 1e3).toFixed(n < 1e4 ? 1 : 0) + 'k';
    if (n < 1e9) return (n / 1e6).toFixed(n < 1e7 ? 1 : 0) + 'M';
    return (n / 1e9).toFixed(1) + 'B';
  }
  function quoteIdent(s) { return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : '"' + s.replace(/"/g, '""') + '"'; }

  /* ---- history ---- */
  function loadHistory() { try { return JSON.parse(localStorage.getItem(HISTORY_KEY)) || []; } catch (e) { return []; } }
  function addHistory(sql, ok, rows, ms) {
    const h = loadHistory();
    const s = sql.trim();
    if (h.length && h[0].sql === s) h.shift();
    h.unshift({ sql: s, at: Date.now(), ok, rows, ms: Math.round(ms) });
    if (h.length > HISTORY_MAX) h.length = HISTORY_MAX;
    try { localStorage.setItem(HISTORY_KEY, JSON.stringify(h)); } catch (e) { /* full or disabled */ }
    renderHistory();
  }
  function renderHistory() {
    const h = loadHistory(), ul = $('history');
    $('history-count').textContent = h.length ? h.length + (h.length === 1 ? ' query' : ' queries') : '';
    ul.replaceChildren();
    if (!h.length) ul.appendChild(el('li', 'muted pad', 'Queries you run are kept here, in this browser.'));
    h.forEach((q) => {
      const li = el('li', q.ok ? '' : 'failed');
      li.title = q.sql + '\n\nClick to load, double-click to run.';
      li.append(el('code', null, q.sql.length > 300 ? q.sql.slice(0, 300) + '…' : q.sql),
        el('span', 'meta', fmtAgo(q.at) + (q.ok ? ' · ' + fmtInt(q.rows) + ' rows · ' + fmtMs(q.ms) : ' · failed')));
      li.addEventListener('click', () => { editor.value = q.sql; saveDraft(); editor.focus(); });
      li.addEventListener('dblclick', () => { editor.value = q.sql; saveDraft(); run(); });
      ul.appendChild(li);
    });
  }
  /* Alt+Up / Alt+Down step through history in the editor. */
  let histPos = -1;
  function stepHistory(d) {
    const h = loadHistory();
    if (!h.length) return;
    histPos = Math.max(-1, Math.min(h.length - 1, histPos + d));
    editor.value = histPos < 0 ? (localStorage.getItem(DRAFT_KEY) || '') : h[histPos].sql;
  }

  function saveDraft() { try { localStorage.setItem(DRAFT_KEY, editor.value); } catch (e) { /* ignore */ } }

  /* ---- server ---- */
  async function loadServer() {
    try {
      const j = await (await fetch('/health')).json();
      $('server').textContent = 'quiverd ' + (j.version || '') + ' · ' + location.host;
      $('server').title = fmtInt(j.tables || 0) + ' tables, ' + fmtInt(j.rows || 0) + ' rows, up ' + fmtInt(j.uptime_s || 0) + ' s';
      $('server').classList.add('up');
    } catch (e) {
      $('server').textContent = 'server unreachable';
      $('server').classList.remove('up');
    }
  }

  /* ---- layout: editor height ---- */
  function initSplitter() {
    const wrap = $('editor-wrap'), sp = $('splitter');
    const h = +localStorage.getItem(SPLIT_KEY);
    if (h > 60) wrap.style.height = h + 'px';
    sp.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      sp.setPointerCapture(e.pointerId);
      const y0 = e.clientY, h0 = wrap.offsetHeight;
      const move = (ev) => { wrap.style.height = Math.max(72, Math.min(window.innerHeight - 220, h0 + ev.clientY - y0)) + 'px'; };
      const up = () => {
        sp.removeEventListener('pointermove', move);
        sp.removeEventListener('pointerup', up);
        localStorage.setItem(SPLIT_KEY, String(wrap.offsetHeight));
      };
      sp.addEventListener('pointermove', move);
      sp.addEventListener('pointerup', up);
    });
  }

  /* ---- start ---- */
  const editor = new QV.Editor($('editor'));
  const grid = new QV.Grid($('grid'));
  const chart = new QV.Chart($('chart'), $('chart-note'));
  app.editor = editor;
  app.grid = grid;
  app.chartView = chart;
  app.run = run;
  app.stop = stop;
  app.showView = showView;
  app.loadSchema = loadSchema;

  editor.value = localStorage.getItem(DRAFT_KEY) || SAMPLE;
  editor.onChange = () => { histPos = -1; saveDraft(); };
  $('run').addEventListener('click', run);
  $('stop').addEventListener('click', stop);
  $('schema-refresh').addEventListener('click', loadSchema);
  $('schema-filter').addEventListener('input', renderSchema);
  $('history-clear').addEventListener('click', () => { localStorage.removeItem(HISTORY_KEY); renderHistory(); });
  document.querySelectorAll('.side-tabs [data-pane]').forEach((b) => b.addEventListener('click', () => {
    document.querySelectorAll('.side-tabs [data-pane]').forEach((x) => x.classList.toggle('on', x === b));
    document.querySelectorAll('#side .pane').forEach((p) => p.classList.toggle('on', p.id === 'pane-' + b.dataset.pane));
  }));
  document.querySelectorAll('.res-tabs [data-view]').forEach((b) => b.addEventListener('click', () => showView(b.dataset.view)));
  document.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); run(); }
    else if (e.key === 'Escape' && app.state !== 'idle') { e.preventDefault(); stop(); }
    else if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown') && document.activeElement === editor.ta) {
      e.preventDefault();
      stepHistory(e.key === 'ArrowUp' ? 1 : -1);
    }
  });
  initSplitter();
  setState('idle');
  app.prefer = localStorage.getItem('quiver.console.view') || 'table';
  renderHistory();
  loadSchema();
  loadServer();
  /* tables come and go from other clients: look again now and then, and when the page is back in view */
  setInterval(() => { if (!document.hidden) loadSchema(); }, 15000);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) loadSchema(); });
  editor.focus();
  app.ready = true;
})(window.QV = window.QV || {});
