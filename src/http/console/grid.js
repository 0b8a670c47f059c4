/*
 * The result table, virtualised: rows live in one array (of the arrays JSONCompact gives);
 * the DOM holds only the rows in view plus a few above and below, positioned inside a
 * spacer as tall as all rows, so a million rows scroll as smoothly as ten. Fixed row height;
 * column widths come from the header and the first rows' text.
 */
(function (QV) {
  'use strict';

  const ROW_H = 26, OVERSCAN = 8, MIN_W = 64, MAX_W = 440, PAD = 22;
  const NUMERIC_TYPES = new Set(['INT32', 'INT64', 'FLOAT32', 'FLOAT64']);
  /* DECIMAL's type name carries its precision and scale: "DECIMAL(10,2)" */
  const NUMERIC = { has: (t) => NUMERIC_TYPES.has(t) || /^DECIMAL\(/.test(t) };

  function cellText(v, type) {
    if (v === null || v === undefined) return null;
    if (type === 'TIMESTAMP' && typeof v === 'string') return v.replace('T', ' ').replace(/Z$/, '');
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  class Grid {
    constructor(root) {
      this.root = root;
      this.meta = [];
      this.rows = [];
      this.widths = [];
      this.sel = null;           /* {r, c} */
      this.head = document.createElement('div');
      this.head.className = 'gh';
      this.spacer = document.createElement('div');
      this.spacer.className = 'gs';
      this.body = document.createElement('div');
      this.body.className = 'gb';
      this.spacer.appendChild(this.body);
      this.none = document.createElement('div');
      this.none.className = 'grid-none';
      this.none.textContent = 'No rows.';
      this.pool = [];
      this.pending = false;
      this.first = -1;
      this.last = -1;
      this.measureCtx = document.createElement('canvas').getContext('2d');
      root.addEventListener('scroll', () => this.schedule(true));
      root.addEventListener('click', (e) => this.click(e));
      root.addEventListener('keydown', (e) => this.key(e));
      new ResizeObserver(() => this.schedule(true)).observe(root);
    }

    setColumns(meta) {
      this.meta = meta;
      this.fixed = meta.map(() => false);
      this.sort = null;    /* {c, dir} while the user sorts by a column; order[] maps shown -> stored row */
      this.order = null;
      this.done = false;   /* set when the result is complete: only then is "No rows." true */
      this.rows = [];
      this.sel = null;
      this.numeric = meta.map((m) => NUMERIC.has(m.type));
      this.root.replaceChildren(this.head, this.spacer, this.none);
      this.root.scrollTop = 0;
      this.root.scrollLeft = 0;
      this.measured = 0;
      /* (the computed `font` shorthand is empty when font-variant-numeric is set, so build it) */
      const cs = getComputedStyle(this.root);
      const family = cs.fontFamily, mono = getComputedStyle(document.documentElement).getPropertyValue('--mono');
      this.font = cs.fontSize + ' ' + family;
      this.measureCtx.font = '600 ' + this.font;
      const heads = meta.map((m) => this.textW(m.name));
      this.measureCtx.font = '10px ' + mono;
      const types = meta.map((m) => this.textW(m.type));
      this.measureCtx.font = this.font;
      this.widths = [this.textW(String(1000)) + PAD].concat(meta.map((m, i) => Math.max(MIN_W, heads[i] + types[i] + PAD + 20)));
      this.buildHead();
      this.pool.forEach((r) => r.remove());
      this.pool = [];
      this.first = this.last = -1;
      this.schedule(true);
    }

    textW(s) { return Math.ceil(this.measureCtx.measureText(s).width); }

    /* Widen columns from the rows not measured yet (only the first 300 rows count). */
    measure() {
      if (this.measured >= 300 || this.measured >= this.rows.length) return false;
      const upto = Math.min(300, this.rows.length);
      let changed = false;
      for (let r = this.measured; r < upto; r++) {
        const row = this.rows[r];
        for (let c = 0; c < this.meta.length; c++) {
          const t = cellText(row[c], this.meta[c].type);
          const w = Math.min(MAX_W, (t === null ? 36 : this.textW(t.length > 80 ? t.slice(0, 80) : t)) + PAD);
          if (w > this.widths[c + 1] && !this.fixed[c]) { this.widths[c + 1] = w; changed = true; }
        }
      }
      this.measured = upto;
      return changed;
    }

    layoutWidths() {
      const nw = this.textW(String(Math.max(1000, this.rows.length))) + PAD;
      if (nw > this.widths[0]) this.widths[0] = nw;
      const tmpl = this.widths.map((w) => w + 'px').join(' ');
      this.root.style.setProperty('--cols', tmpl);
      const total = this.widths.reduce((a, b) => a + b, 0);
      this.head.style.width = total + 'px';
      this.spacer.style.width = total + 'px';
    }

    buildHead() {
      const h = this.head;
      h.replaceChildren();
      const n = document.createElement('div');
      n.className = 'c rn';
      n.textContent = '#';
      h.appendChild(n);
      this.meta.forEach((m, i) => {
        const d = document.createElement('div');
        d.className = 'c' + (this.numeric[i] ? ' num' : '');
        d.title = m.name + ' ' + m.type + (m.type === 'TIMESTAMP' ? ' (UTC)' : '') + ' · click to sort';
        d.addEventListener('click', () => this.toggleSort(i));
        const nm = document.createElement('span');
        nm.className = 'name';
        nm.textContent = m.name;
        const ty = document.createElement('span');
        ty.className = 'type';
        ty.textContent = m.type;
        const grip = document.createElement('span');
        grip.className = 'grip';
        grip.title = 'Drag to resize';
        grip.addEventListener('click', (e) => e.stopPropagation());
        grip.addEventListener('pointerdown', (e) => this.resizeStart(e, i));
        d.append(nm, ty, grip);
        h.appendChild(d);
      });
      this.layoutWidths();
    }

    append(rows) {
      for (let i = 0; i < rows.length; i++) this.rows.push(rows[i]);
      if (this.sort) this.order = null;   /* sorted again at the next frame */
      this.schedule(!!this.sort);
    }

    /* Replace all rows (live mode trims the oldest). */
    setRows(rows) { this.rows = rows; this.order = null; this.schedule(true); }

    rowAt(r) {
      if (this.sort && !this.order) this.sortRows();
      return this.rows[this.order ? this.order[r] : r];
    }

    /* Drag a header's right edge: that column's width, kept while the columns stay the same. */
    resizeStart(e, c) {
      e.preventDefault();
      e.stopPropagation();
      const grip = e.target, x0 = e.clientX, w0 = this.widths[c + 1];
      grip.setPointerCapture(e.pointerId);
      this.fixed[c] = true;
      const move = (ev) => { this.widths[c + 1] = Math.max(40, Math.round(w0 + ev.clientX - x0)); this.layoutWidths(); };
      const up = () => { grip.removeEventListener('pointermove', move); grip.removeEventListener('pointerup', up); };
      grip.addEventListener('pointermove', move);
      grip.addEventListener('pointerup', up);
    }

    /* Click on a header: ascending, descending, then as the server sent them. NULLs last. */
    toggleSort(c) {
      const s = this.sort;
      this.sort = !s || s.c !== c ? { c, dir: 1 } : s.dir === 1 ? { c, dir: -1 } : null;
      this.order = null;
      this.sel = null;
      Array.from(this.head.children).forEach((h, i) => {
        h.classList.toggle('asc', !!this.sort && this.sort.c === i - 1 && this.sort.dir === 1);
        h.classList.toggle('desc', !!this.sort && this.sort.c === i - 1 && this.sort.dir === -1);
      });
      this.schedule(true);
    }

    sortRows() {
      const { c, dir } = this.sort, rows = this.rows, n = rows.length, num = this.numeric[c];
      const keys = new Array(n);
      for (let i = 0; i < n; i++) {
        const v = rows[i][c];
        keys[i] = v === null || v === undefined ? null : num ? (typeof v === 'number' ? v : parseFloat(v)) : v;
      }
      const order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((a, b) => {
        const x = keys[a], y = keys[b];
        if (x === null || (num && isNaN(x))) return y === null || (num && isNaN(y)) ? a - b : 1;
        if (y === null || (num && isNaN(y))) return -1;
        return x < y ? -dir : x > y ? dir : a - b;
      });
      this.order = order;
    }

    atBottom() {
      const r = this.root;
      return r.scrollTop + r.clientHeight >= r.scrollHeight - ROW_H * 1.5;
    }

    scrollToEnd() { this.root.scrollTop = this.root.scrollHeight; }

    schedule(force) {
      if (force) this.first = -1;
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.render(); });
    }

    render() {
      if (this.measure()) this.first = -1;
      this.layoutWidths();
      const n = this.rows.length;
      this.spacer.style.height = n * ROW_H + 'px';
      this.none.style.display = n === 0 && this.meta.length && this.done ? '' : 'none';
      const top = this.root.scrollTop, hgt = this.root.clientHeight;
      const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
      const last = Math.min(n, Math.ceil((top + hgt) / ROW_H) + OVERSCAN);
      if (first === this.first && last === this.last) return;
      /* reuse last frame's row elements when the window did not move (rows only appended) */
      this.first = first;
      this.last = last;
      const want = last - first;
      while (this.pool.length < want) this.pool.push(this.makeRow());
      while (this.pool.length > want) this.pool.pop().remove();
      this.body.style.transform = 'translateY(' + first * ROW_H + 'px)';
      for (let i = 0; i < want; i++) this.fill(this.pool[i], first + i);
    }

    makeRow() {
      const r = document.createElement('div');
      r.className = 'gr';
      const cells = this.meta.length + 1;
      for (let c = 0; c < cells; c++) {
        const d = document.createElement('div');
        d.className = c === 0 ? 'c rn' : this.numeric[c - 1] ? 'c num' : 'c';
        r.appendChild(d);
      }
      this.body.appendChild(r);
      return r;
    }

    fill(el, r) {
      const row = this.rowAt(r), kids = el.children;
      el.dataset.row = r;
      el.classList.toggle('odd', (r & 1) === 1);
      kids[0].textContent = r + 1;
      for (let c = 0; c < this.meta.length; c++) {
        const d = kids[c + 1], t = cellText(row[c], this.meta[c].type);
        const selected = this.sel && this.sel.r === r && this.sel.c === c;
        if (t === null) { d.textContent = 'NULL'; d.classList.add('null'); } else { d.textContent = t; d.classList.remove('null'); }
        d.classList.toggle('sel', !!selected);
        if (t !== null && t.length > 40) d.title = t; else d.removeAttribute('title');
      }
    }

    /* Row r's cells as the user sees them (for tests and copy). */
    visibleText(r) {
      const row = this.rowAt(r);
      return row ? row.map((v, c) => cellText(v, this.meta[c].type)) : null;
    }

    click(e) {
      const cell = e.target.closest('.gr .c');
      if (!cell || cell.classList.contains('rn')) return;
      const r = +cell.parentElement.dataset.row, c = Array.prototype.indexOf.call(cell.parentElement.children, cell) - 1;
      this.sel = { r, c };
      this.first = -1;
      this.render();
    }

    key(e) {
      if (!this.sel) return;
      const s = this.sel;
      if ((e.ctrlKey || e.metaKey) && e.key === 'c') {
        const t = cellText(this.rowAt(s.r)[s.c], this.meta[s.c].type);
        if (navigator.clipboard) navigator.clipboard.writeText(t === null ? '' : t);
        e.preventDefault();
        return;
      }
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      const m = moves[e.key];
      if (!m) return;
      e.preventDefault();
      s.r = Math.max(0, Math.min(this.rows.length - 1, s.r + m[0]));
      s.c = Math.max(0, Math.min(this.meta.length - 1, s.c + m[1]));
      const y = s.r * ROW_H, hh = this.head.offsetHeight;
      if (y < this.root.scrollTop) this.root.scrollTop = y;
      else if (y + ROW_H > this.root.scrollTop + this.root.clientHeight - hh) this.root.scrollTop = y + ROW_H - this.root.clientHeight + hh;
      this.first = -1;
      this.render();
    }
  }

  QV.Grid = Grid;
  QV.ROW_H = ROW_H;
  QV.NUMERIC = NUMERIC;
  QV.cellText = cellText;
})(window.QV = window.QV || {});
