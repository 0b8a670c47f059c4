/*
 * Talking to quiverd: queries streamed as JSONCompact, subscriptions as Server-Sent Events.
 *
 * JSONCompact arrives as {"meta":[...],"data":[[...],...],"rows":N,"statistics":{...}}
 * in chunks (the server streams it, docs/http.md). CompactParser hands out the meta as soon
 * as it is complete and the rows as each chunk completes them, so a 1M-row answer shows its
 * first rows at once and is never held as one string. It tracks only string/escape state and
 * bracket depth; each chunk's complete rows go through one JSON.parse. INT64 values beyond 2^53
 * are kept as their exact decimal text (a string), so the table shows what the server sent.
 */
(function (QV) {
  'use strict';

  const DATA_KEY = '],"data":[';
  const LONG_DIGITS = /[0-9]{16}/;
  const exactInts = (k, v, ctx) =>
    (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) && ctx && ctx.source &&
      /^-?[0-9]+$/.test(ctx.source) ? ctx.source : v);

  class CompactParser {
    constructor(onMeta, onRows) {
      this.onMeta = onMeta;
      this.onRows = onRows;
      this.buf = '';
      this.phase = 0;      /* 0 head, 1 rows, 2 tail */
      this.pos = 0;        /* scan position in buf (phase 1) */
      this.depth = 0;      /* 0 between rows, 1 inside a row */
      this.inStr = false;
      this.esc = false;
      this.rowStart = -1;  /* start of the first unparsed complete-or-partial row */
      this.tail = '';
      this.count = 0;
    }

    push(text) {
      if (this.phase === 2) { this.tail += text; return; }
      this.buf += text;
      if (this.phase === 0) {
        const k = this.buf.indexOf(DATA_KEY);
        if (k < 0) return;
        const head = JSON.parse(this.buf.slice(0, k + 1) + '}');
        this.onMeta(head.meta);
        this.buf = this.buf.slice(k + DATA_KEY.length);
        this.phase = 1;
        this.pos = 0;
      }
      this.scan();
    }

    scan() {
      const b = this.buf, n = b.length;
      let i = this.pos, depth = this.depth, inStr = this.inStr, esc = this.esc;
      let first = this.rowStart, cur = this.rowStart, lastEnd = -1, end = -1;
      for (; i < n; i++) {
        const c = b.charCodeAt(i);
        if (inStr) {
          if (esc) esc = false;
          else if (c === 92) esc = true;          /* \ */
          else if (c === 34) inStr = false;       /* " */
          continue;
        }
        if (c === 34) inStr = true;
        else if (c === 91) {                      /* [ */
          if (depth === 0) { cur = i; if (first < 0) first = i; }
          depth++;
        } else if (c === 93) {                    /* ] */
          if (depth === 0) { end = i; break; }    /* end of "data" */
          depth--;
          if (depth === 0) lastEnd = i;
        }
      }
      if (lastEnd >= 0) {
        const text = '[' + b.slice(first, lastEnd + 1) + ']';
        /* 16+ digits in a row may be an integer a double cannot hold: read those chunks keeping
           such numbers as their exact text (JSON.parse's source access; others get the double) */
        const rows = LONG_DIGITS.test(text) ? JSON.parse(text, exactInts) : JSON.parse(text);
        this.count += rows.length;
        this.onRows(rows);
      }
      if (end >= 0) {
        this.phase = 2;
        this.tail = b.slice(end + 1);
        this.buf = '';
        return;
      }
      /* Keep only the row in progress, if any. */
      const keep = depth > 0 ? cur : i;
      this.buf = b.slice(keep);
      this.pos = i - keep;
      this.rowStart = depth > 0 ? 0 : -1;
      this.depth = depth;
      this.inStr = inStr;
      this.esc = esc;
    }

    /* The closing part: {"rows":N,"statistics":{...}}, or null if the body was cut short. */
    finish() {
      if (this.phase !== 2) return null;
      try { return JSON.parse('{' + this.tail.replace(/^\s*,/, '')); } catch (e) { return null; }
    }
  }

  class QueryError extends Error {
    constructor(message, code) { super(message); this.code = code; }
  }

  /* "syntax error at line 2, column 7: ..." or "... (line 1, column 15)" -> {line, col} */
  function errorPosition(msg) {
    const m = /line (\d+), column (\d+)/.exec(msg || '');
    return m ? { line: +m[1], col: +m[2] } : null;
  }

  /* 1-based line/column -> offset in text (columns count UTF-16 units). */
  function offsetOf(text, line, col) {
    let off = 0;
    for (let l = 1; l < line; l++) {
      const nl = text.indexOf('\n', off);
      if (nl < 0) return text.length;
      off = nl + 1;
    }
    return Math.min(off + col - 1, text.length);
  }

  /*
   * Where in `sent` (the statement as sent) the error message points, or -1. A SUBSCRIBE's
   * errors may count from the SELECT inside it rather than from the start of the statement:
   * both readings are tried, and the one where the message's quoted token ('nope',
   * unexpected 'FROM') sits is taken.
   */
  function errorOffset(msg, sent) {
    const pos = errorPosition(msg);
    if (!pos) return -1;
    const bases = [0];
    const sub = /^\s*subscribe\s+/i.exec(sent);
    if (sub) bases[/^SUBSCRIBE:/.test(msg) ? 'unshift' : 'push'](sub[0].length);
    const offs = bases.map((b) => b + offsetOf(sent.slice(b), pos.line, pos.col));
    const q = /'((?:[^']|'')+)'/.exec(msg);
    if (q) {
      const tok = q[1].toLowerCase();
      const hit = offs.find((o) => sent.slice(o, o + tok.length).toLowerCase() === tok);
      if (hit !== undefined) return hit;
    }
    return offs[0];
  }

  async function errorOf(resp) {
    const text = await resp.text();
    try {
      const j = JSON.parse(text);
      if (j && j.error) return new QueryError(j.error, resp.status);
    } catch (e) { /* not JSON */ }
    return new QueryError(text.trim() || ('HTTP ' + resp.status), resp.status);
  }

  /*
   * Run sql; h.onMeta(meta), h.onRows(rows) as they arrive. Resolves to
   * {kind:'rows', rows, statistics} or {kind:'text', format, text} when the SQL's own
   * FORMAT clause asked for something else. Rejects with QueryError.
   */
  async function runQuery(sql, h) {
    const resp = await fetch('/?format=JSONCompact', {
      method: 'POST', body: sql, signal: h.signal,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Accept': 'application/json' },
    });
    if (!resp.ok) throw await errorOf(resp);
    const fmt = resp.headers.get('X-Quiver-Format') || '';
    if (fmt !== 'JSONCompact') {
      if (fmt === 'Arrow') {
        const buf = await resp.arrayBuffer();
        return { kind: 'text', format: fmt, text: 'An Arrow IPC stream of ' + buf.byteLength + ' bytes (use the CSV link or Flight to read it).' };
      }
      return { kind: 'text', format: fmt, text: await resp.text() };
    }
    const p = new CompactParser(h.onMeta, h.onRows);
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        p.push(dec.decode(value, { stream: true }));
        if (h.stopped && h.stopped()) { reader.cancel(); return { kind: 'rows', rows: p.count, statistics: null, cut: true }; }
      }
      p.push(dec.decode());
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new QueryError('the result was cut off after ' + p.count + ' rows (the server log says why)', 0);
    }
    const tail = p.finish();
    if (!tail) throw new QueryError('the result was cut off after ' + p.count + ' rows (the server log says why)', 0);
    return { kind: 'rows', rows: tail.rows, statistics: tail.statistics };
  }

  /*
   * Follow `SUBSCRIBE SELECT ...` on /subscribe as Server-Sent Events (docs/http.md): an
   * `event: schema` with the meta first, then `event: rows` with arrays of rows in meta order
   * (JSONCompact values), `: keepalive` comments, and `event: end` with {"error","code"}.
   * Read with fetch rather than EventSource, so Stop cancels it, a refused statement's error
   * body can be read, and nothing reconnects by itself. h.onEvent(name, data) per event.
   */
  async function subscribe(sql, h) {
    const resp = await fetch('/subscribe?query=' + encodeURIComponent(sql), {
      signal: h.signal, headers: { 'Accept': 'text/event-stream' },
    });
    if (!resp.ok) throw await errorOf(resp);
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    let buf = '', name = 'message', data = [];
    const line = (l) => {
      if (l === '') {
        const text = data.join('\n');
        if (data.length) h.onEvent(name, LONG_DIGITS.test(text) ? JSON.parse(text, exactInts) : JSON.parse(text));
        name = 'message';
        data = [];
      } else if (l.charCodeAt(0) === 58) {      /* ':' comment (keepalive) */
        h.onKeepalive && h.onKeepalive();
      } else {
        const k = l.indexOf(':'), field = k < 0 ? l : l.slice(0, k);
        let v = k < 0 ? '' : l.slice(k + 1);
        if (v.charCodeAt(0) === 32) v = v.slice(1);
        if (field === 'event') name = v;
        else if (field === 'data') data.push(v);
      }
    };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        let l = buf.slice(0, nl);
        if (l.endsWith('\r')) l = l.slice(0, -1);
        buf = buf.slice(nl + 1);
        line(l);
      }
    }
    line('');
  }

  /* ISO-8601 UTC text from the server -> seconds since the epoch (fractional), or null. */
  function tsSeconds(s) {
    if (typeof s !== 'string' || s.length < 10 || s.charCodeAt(4) !== 45) {
      if (typeof s === 'number') return s / 1e9;   /* integer ns */
      const t = Date.parse(s);
      return isNaN(t) ? null : t / 1000;
    }
    const ms = Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10),
      +s.slice(11, 13) || 0, +s.slice(14, 16) || 0, +s.slice(17, 19) || 0);
    let frac = 0;
    if (s.charCodeAt(19) === 46) {
      let j = 20;
      while (j < s.length && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
      frac = +('0.' + s.slice(20, j));
    }
    const sec = ms / 1000 + frac;
    return isNaN(sec) ? null : sec;
  }

  QV.CompactParser = CompactParser;
  QV.QueryError = QueryError;
  QV.errorPosition = errorPosition;
  QV.errorOffset = errorOffset;
  QV.offsetOf = offsetOf;
  QV.runQuery = runQuery;
  QV.subscribe = subscribe;
  QV.tsSeconds = tsSeconds;
})(window.QV = window.QV || {});
