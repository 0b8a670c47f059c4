/*
 * The SQL editor: a plain <textarea> (so typing, undo, IME and selection are the browser's
 * own) over a <pre> that shows the same text highlighted, with a line-number gutter. An error
 * from the server ("line L, column C") is marked on that token and that line until the text
 * changes.
 */
(function (QV) {
  'use strict';

  const KEYWORDS = new Set(('select from where group by order having limit offset distinct as and or not in is null ' +
    'like ilike between case when then else end asc desc nulls first last create table drop insert into values ' +
    'show tables describe explain subscribe since true false interval timestamp with join on union all cast ' +
    'exists if primary key format').split(' '));
  const TYPES = new Set(('int integer int32 int64 bigint int4 int8 real float float32 float4 double float64 ' +
    'float8 bool boolean varchar utf8').split(' '));  /* not symbol, text: common column names */
  const TOKEN = /(--[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|('(?:[^']|'')*'?)|("(?:[^"]|"")*"?)|(\b\d+(?:\.\d*)?(?:[eE][+-]?\d+)?\b|\.\d+\b)|([A-Za-z_][A-Za-z0-9_]*)|(\s+)|([\s\S])/g;

  function esc(s) {
    return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
  }

  /* Highlighted HTML for text; the token holding offset errAt (if >= 0) gets class err. */
  function highlight(text, errAt, errMsg) {
    let out = '', m;
    TOKEN.lastIndex = 0;
    while ((m = TOKEN.exec(text))) {
      const tok = m[0], s = m.index, e = s + tok.length;
      let cls = '';
      if (m[1]) cls = 'c';
      else if (m[2]) cls = 's';
      else if (m[3]) cls = 'q';
      else if (m[4]) cls = 'n';
      else if (m[5]) {
        const w = tok.toLowerCase();
        if (KEYWORDS.has(w)) cls = 'k';
        else if (TYPES.has(w)) cls = 't';
        else if (text.charAt(e) === '(' || /^\s*\(/.test(text.slice(e, e + 8))) cls = 'f';
      } else if (m[7]) cls = 'p';
      const hasErr = errAt >= s && errAt < e;
      if (hasErr && m[6]) {
        /* whitespace: mark just the one character */
        const k = errAt - s;
        out += esc(tok.slice(0, k)) + '<span class="err" title="' + esc(errMsg).replace(/"/g, '&quot;') + '">' +
          (tok[k] === '\n' ? ' ' : esc(tok[k])) + '</span>' + (tok[k] === '\n' ? '\n' : '') + esc(tok.slice(k + 1));
        continue;
      }
      const klass = (cls ? cls : '') + (hasErr ? ' err' : '');
      out += klass ? '<span class="' + klass.trim() + '"' + (hasErr ? ' title="' + esc(errMsg).replace(/"/g, '&quot;') + '"' : '') + '>' + esc(tok) + '</span>' : esc(tok);
    }
    if (errAt >= text.length && errAt >= 0) out += '<span class="err eof" title="' + esc(errMsg).replace(/"/g, '&quot;') + '"> </span>';
    /* a trailing newline needs something after it to take up its line */
    return out + '\n';
  }

  function lineColOf(text, off) {
    const before = text.slice(0, off);
    const line = before.split('\n').length;
    const col = off - (before.lastIndexOf('\n') + 1) + 1;
    return { line, col };
  }

  class Editor {
    constructor(root) {
      this.root = root;
      this.ta = root.querySelector('textarea');
      this.pre = root.querySelector('pre.hl');
      this.code = this.pre.querySelector('code');
      this.gutter = root.querySelector('.gutter-inner');
      this.error = null;        /* {line, col, offset, message} */
      this.lines = 0;
      this.ta.addEventListener('input', () => { this.error = null; this.render(); this.onChange && this.onChange(); });
      this.ta.addEventListener('scroll', () => this.syncScroll());
      this.ta.addEventListener('keydown', (e) => this.key(e));
      this.render();
    }

    get value() { return this.ta.value; }
    set value(v) { this.ta.value = v; this.error = null; this.render(); }

    focus() { this.ta.focus(); }

    /* What Ctrl+Enter runs: the selection if there is one, else everything; with where it starts. */
    runnable() {
      const t = this.ta, v = t.value;
      if (t.selectionEnd > t.selectionStart && v.slice(t.selectionStart, t.selectionEnd).trim()) {
        return { text: v.slice(t.selectionStart, t.selectionEnd), offset: t.selectionStart };
      }
      return { text: v, offset: 0 };
    }

    /* Mark the error at offset (in the editor's text) until the text changes. */
    markErrorAt(offset, message) {
      offset = Math.max(0, Math.min(offset, this.ta.value.length));
      const { line, col } = lineColOf(this.ta.value, offset);
      this.error = { line, col, offset, message };
      this.render();
      this.ta.setSelectionRange(offset, offset);
      /* bring the marked line into view */
      const lh = parseFloat(getComputedStyle(this.ta).lineHeight) || 20;
      const y = (line - 1) * lh;
      if (y < this.ta.scrollTop || y > this.ta.scrollTop + this.ta.clientHeight - lh) this.ta.scrollTop = Math.max(0, y - lh * 2);
    }

    clearError() { if (this.error) { this.error = null; this.render(); } }

    render() {
      const v = this.ta.value, err = this.error;
      this.code.innerHTML = highlight(v, err ? err.offset : -1, err ? err.message : '');
      const n = v.split('\n').length;
      let g = '';
      for (let i = 1; i <= n; i++) g += err && err.line === i ? '<div class="err">' + i + '</div>' : '<div>' + i + '</div>';
      this.gutter.innerHTML = g;
      this.lines = n;
      this.syncScroll();
    }

    syncScroll() {
      this.pre.scrollTop = this.ta.scrollTop;
      this.pre.scrollLeft = this.ta.scrollLeft;
      this.gutter.style.transform = 'translateY(' + (-this.ta.scrollTop) + 'px)';
    }

    insert(text) {
      this.ta.focus();
      /* execCommand keeps the browser's undo stack; fall back to setRangeText */
      if (!document.execCommand || !document.execCommand('insertText', false, text)) {
        this.ta.setRangeText(text, this.ta.selectionStart, this.ta.selectionEnd, 'end');
        this.ta.dispatchEvent(new Event('input'));
      }
    }

    key(e) {
      const t = this.ta;
      if (e.key === 'Tab' && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        if (e.shiftKey) return this.outdent();
        this.insert('  ');
      } else if (e.key === 'Enter' && !e.ctrlKey && !e.metaKey && !e.shiftKey && !e.altKey) {
        /* keep the indentation of the current line */
        const v = t.value, ls = v.lastIndexOf('\n', t.selectionStart - 1) + 1;
        const ind = /^[ \t]*/.exec(v.slice(ls, t.selectionStart))[0];
        e.preventDefault();
        this.insert('\n' + ind);
      }
    }

    outdent() {
      const t = this.ta, v = t.value, ls = v.lastIndexOf('\n', t.selectionStart - 1) + 1;
      const n = v.startsWith('  ', ls) ? 2 : v.startsWith(' ', ls) || v.startsWith('\t', ls) ? 1 : 0;
      if (!n) return;
      const s = t.selectionStart, en = t.selectionEnd;
      t.setSelectionRange(ls, ls + n);
      this.insert('');
      t.setSelectionRange(Math.max(ls, s - n), Math.max(ls, en - n));
    }
  }

  QV.Editor = Editor;
  QV.highlightSql = highlight;
})(window.QV = window.QV || {});
