/*
 * Charts with uPlot (vendor/uplot-1.6.32). A result is chartable when it has a TIMESTAMP
 * column and at least one numeric column: x is time, one line per numeric column, or, when
 * the result also has a string column, one line per value of that column (for each numeric
 * column). model() turns rows into uPlot's aligned arrays; Chart draws and redraws them.
 */
(function (QV) {
  'use strict';

  const MAX_SERIES = 40;
  const MAX_ROWS = 200000;  /* more rows than pixels is no better picture: draw every k-th */
  const PALETTE_LIGHT = ['#2f6fed', '#e8590c', '#2b8a3e', '#c2255c', '#7048e8', '#0c8599', '#e67700', '#5c940d',
    '#d6336c', '#1864ab', '#862e9c', '#087f5b'];
  const PALETTE_DARK = ['#6b9bff', '#ff922b', '#51cf66', '#f06595', '#9775fa', '#3bc9db', '#fcc419', '#94d82d',
    '#faa2c1', '#74c0fc', '#da77f2', '#63e6be'];
  const STRINGS = new Set(['STRING', 'SYMBOL']);

  function num(v) {
    if (typeof v === 'number') return v;
    if (v === null || v === undefined) return null;
    if (typeof v === 'boolean') return v ? 1 : 0;
    const f = parseFloat(v);  /* "nan", "inf" -> not drawn */
    return isFinite(f) ? f : null;
  }

  /* Which columns make the chart, or null when the result is not a time series. */
  function shape(meta) {
    const ts = meta.findIndex((m) => m.type === 'TIMESTAMP' || m.type === 'DATE'); /* a DATE is its midnight */
    if (ts < 0) return null;
    const nums = [];
    meta.forEach((m, i) => { if (i !== ts && QV.NUMERIC.has(m.type)) nums.push(i); });
    if (!nums.length) return null;
    const by = meta.findIndex((m) => STRINGS.has(m.type));
    return { ts, nums, by };
  }

  function model(meta, rows) {
    const sh = shape(meta);
    if (!sh) return null;
    let note = '';
    if (rows.length > MAX_ROWS) {
      const k = Math.ceil(rows.length / MAX_ROWS), all = rows.length;
      rows = rows.filter((r, i) => i % k === 0);
      note = 'Drawing 1 row in ' + k + ' (' + rows.length.toLocaleString('en-US') + ' of ' + all.toLocaleString('en-US') +
        '); aggregate with time_bucket() for an exact picture.';
    }
    const n = rows.length, tsec = new Float64Array(n);
    for (let i = 0; i < n; i++) { const t = QV.tsSeconds(rows[i][sh.ts]); tsec[i] = t === null ? NaN : t; }
    if (sh.by < 0) {
      /* one line per numeric column; x must ascend for uPlot */
      let order = null;
      for (let i = 1; i < n; i++) if (tsec[i] < tsec[i - 1]) { order = true; break; }
      let idx = Array.from({ length: n }, (_, i) => i).filter((i) => !isNaN(tsec[i]));
      if (order) idx.sort((a, b) => tsec[a] - tsec[b]);
      const x = idx.map((i) => tsec[i]);
      const series = sh.nums.map((c, k) => ({ label: meta[c].name, col: k, values: idx.map((i) => num(rows[i][c])) }));
      return { x, series, note, sh, names: sh.nums.map((c) => meta[c].name) };
    }
    /* one line per value of the string column (and numeric column) */
    const groups = new Map();
    const xs = [];
    for (let i = 0; i < n; i++) if (!isNaN(tsec[i])) xs.push(tsec[i]);
    xs.sort((a, b) => a - b);
    const x = [];
    for (let i = 0; i < xs.length; i++) if (i === 0 || xs[i] !== xs[i - 1]) x.push(xs[i]);
    const at = new Map();
    x.forEach((t, i) => at.set(t, i));
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      if (isNaN(tsec[i])) continue;
      const key = rows[i][sh.by] === null ? 'NULL' : String(rows[i][sh.by]);
      let g = groups.get(key);
      if (!g) {
        if (groups.size * sh.nums.length >= MAX_SERIES) { dropped++; continue; }
        g = sh.nums.map(() => new Array(x.length).fill(null));
        groups.set(key, g);
      }
      const xi = at.get(tsec[i]);
      sh.nums.forEach((c, k) => { g[k][xi] = num(rows[i][c]); });
    }
    const series = [];
    for (const [key, g] of groups) {
      sh.nums.forEach((c, k) => series.push({ label: sh.nums.length === 1 ? key : key + ' · ' + meta[c].name, col: k, values: g[k] }));
    }
    if (dropped) note += (note ? ' ' : '') + 'Showing the first ' + series.length + ' series; ' + dropped + ' rows of other ' + meta[sh.by].name + ' values are not drawn.';
    return { x, series, note, sh, names: sh.nums.map((c) => meta[c].name) };
  }

  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  function fmtNum(v) {
    if (v === null || v === undefined) return '—';
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e9 || a < 1e-3)) return v.toExponential(3);
    return v.toLocaleString('en-US', { maximumFractionDigits: a >= 100 ? 2 : 4 });
  }

  /* x-axis labels in UTC (as the table shows time), 24-hour, as fine as the tick spacing needs */
  const pad2 = (n) => (n < 10 ? '0' : '') + n;
  function timeTicks(u, splits, ax, space, incr) {
    let prevDay = '';
    return splits.map((t) => {
      const d = new Date(t * 1000);
      const day = d.getUTCFullYear() + '-' + pad2(d.getUTCMonth() + 1) + '-' + pad2(d.getUTCDate());
      let s;
      if (incr >= 86400) s = day;
      else {
        s = pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes());
        if (incr < 60) s += ':' + pad2(d.getUTCSeconds());
        if (incr < 1) s += '.' + String(d.getUTCMilliseconds()).padStart(3, '0');
        if (day !== prevDay) s += '\n' + day;
      }
      prevDay = day;
      return s;
    });
  }
  const fmtTime = (v) => (v === null || v === undefined ? '—' : new Date(v * 1000).toISOString().replace('T', ' ').replace('Z', ''));

  const compactFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });
  const axisNum = (u, vals) => vals.map((v) => (v !== null && Math.abs(v) >= 1e4 ? compactFmt.format(v) : fmtNum(v)));

  class Chart {
    constructor(root, note) {
      this.root = root;
      this.noteEl = note;
      this.u = null;
      this.m = null;
      this.labels = '';
      new ResizeObserver(() => this.resize()).observe(root);
      window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => { if (this.m) this.draw(this.m, true); });
    }

    size() {
      const legend = this.u ? this.u.root.querySelector('.u-legend') : null;
      const lh = legend ? legend.offsetHeight : 34;
      const cs = getComputedStyle(this.root);
      const padX = parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight), padY = parseFloat(cs.paddingTop) + parseFloat(cs.paddingBottom);
      return { width: Math.max(200, this.root.clientWidth - padX), height: Math.max(140, this.root.clientHeight - padY - lh - 6) };
    }

    resize() { if (this.u && this.root.clientWidth) this.u.setSize(this.size()); }

    clear() {
      if (this.u) { this.u.destroy(); this.u = null; }
      this.m = null;
      this.labels = '';
      this.noteEl.textContent = '';
    }

    /* Draw model m; reuses the chart when the series are the same (live updates). */
    draw(m, rebuild) {
      this.m = m;
      this.noteEl.textContent = m.note || '';
      const data = [m.x].concat(m.series.map((s) => s.values));
      const labels = m.series.map((s) => s.label).join('\u0000');
      if (this.u && !rebuild && labels === this.labels) { this.u.setData(data); return; }
      if (this.u) this.u.destroy();
      this.labels = labels;
      const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
      const pal = dark ? PALETTE_DARK : PALETTE_LIGHT;
      const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid'), width: 1 }, font: '12px ' + cssVar('--ui-font') };
      const few = m.x.length <= 60;
      const two = m.names.length > 1;
      const opts = Object.assign(this.size(), {
        class: 'qv-chart',
        scales: { x: { time: true } },
        /* the first numeric column on the left axis, the others on the right (price and volume differ) */
        axes: [Object.assign({ values: timeTicks, size: 52, space: 96 }, axis),
          Object.assign({ size: 64, values: axisNum, label: two ? m.names[0] : undefined, labelSize: 18 }, axis)]
          .concat(two ? [Object.assign({}, axis, { scale: 'y2', side: 1, size: 64, values: axisNum,
            grid: { show: false }, label: m.names.slice(1).join(', '), labelSize: 18 })] : []),
        cursor: { drag: { x: true, y: false }, points: { size: 7 } },
        legend: { live: true },
        series: [{ label: 'time (UTC)', value: (u, v) => fmtTime(v) }]
          .concat(m.series.map((s, i) => ({
            label: s.label, stroke: pal[i % pal.length], width: 1.5, spanGaps: true, scale: two && s.col > 0 ? 'y2' : 'y',
            points: { show: few, size: 4 }, value: (u, v) => fmtNum(v),
          }))),
      });
      this.u = new uPlot(opts, data, this.root);
      /* the legend's height is known only now */
      requestAnimationFrame(() => this.resize());
    }
  }

  QV.chartShape = shape;
  QV.chartModel = model;
  QV.Chart = Chart;
})(window.QV = window.QV || {});
