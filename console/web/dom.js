// Small DOM helpers shared by the views: element building (text only, never
// HTML strings), times, TLP badges, state of main#view, and paged tables.

import { relativeTime, tlpLabel, tlpClass } from './format.js';

// h('a', {href: '?view=x', class: 'c', dataset: {k: 'v'}}, 'text', child...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Gives every cell the label of its column (data-label), which the narrow
// layout shows in front of the value when a row becomes a stacked card.
export function labelCells(root) {
  for (const table of root.querySelectorAll('table')) {
    const labels = Array.from(table.querySelectorAll('thead th'), (th) => th.textContent);
    for (const tr of table.querySelectorAll('tbody tr')) {
      Array.from(tr.children).forEach((td, i) => {
        if (labels[i]) td.dataset.label = labels[i];
      });
    }
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// A time as its UTC text with the relative hint in the title, and, unless
// `plain`, a small visible hint after it.
export function timeEl(iso, { plain = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const rel = relativeTime(iso);
  const t = h('time', { datetime: iso, title: rel ? `${rel} (UTC)` : 'UTC' }, iso);
  if (plain || !rel) return t;
  return h('span', { class: 'when' }, t, ' ', h('span', { class: 'rel' }, rel));
}

export function tlpBadge(level) {
  const label = tlpLabel(level);
  return h('span', { class: `tlp tlp-${tlpClass(label)}` }, label);
}

// The <main id="view"> element, its state, and a live status line.
export const view = () => document.getElementById('view');

export function setState(state) {
  view().dataset.state = state;
  view().setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
}

export function errorBox(err, retry) {
  const box = h(
    'div',
    { class: 'error', role: 'alert' },
    h('strong', {}, err.title && err.title !== err.description ? `${err.title}: ` : 'Error: '),
    err.description || err.message || String(err),
  );
  if (retry) box.append(' ', h('button', { type: 'button', class: 'retry', onclick: retry }, 'Try again'));
  return box;
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

// A table that loads its rows page by page from `load(token)` ->
// {rows: [...], next: token|null}. `columns` are [{label, cell(row) -> Node|string, class}].
// `rowAttrs(row)` gives the <tr> attributes (e.g. the data-* hooks). Returns
// the container element; `onFirstPage(result)` is called after the first page.
export function pagedTable({ caption, columns, rowAttrs, load, empty = 'Nothing to show.', id, onPage }) {
  const wrap = h('section', { class: 'table-wrap' });
  const status = h('p', { class: 'table-status', role: 'status' });
  const table = h('table', { id });
  if (caption) table.append(h('caption', {}, caption));
  table.append(h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))));
  const tbody = h('tbody');
  table.append(tbody);
  const scroller = h('div', { class: 'scroller', tabindex: '0', role: 'region', 'aria-label': caption || 'table' }, table);
  const pager = h('div', { class: 'pager' });
  wrap.append(scroller, status, pager);

  const tokens = [null]; // tokens[i] loads page i
  let page = 0;
  let ctrl = null;

  async function show(i) {
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    const mine = ctrl;
    status.replaceChildren(loading(i === 0 ? 'Loading…' : `Loading page ${i + 1}…`));
    wrap.dataset.state = 'loading';
    for (const b of pager.querySelectorAll('button')) b.disabled = true;
    let res;
    try {
      res = await load(tokens[i], mine.signal);
    } catch (e) {
      if (e.name === 'AbortError') return;
      wrap.dataset.state = 'error';
      status.replaceChildren(errorBox(e, () => show(i)));
      for (const b of pager.querySelectorAll('button')) b.disabled = false;
      if (onPage) onPage(null, e);
      return;
    }
    if (mine !== ctrl) return;
    page = i;
    if (res.next) tokens[i + 1] = res.next;
    tokens.length = res.next ? i + 2 : i + 1;
    tbody.replaceChildren(
      ...res.rows.map((r) => h('tr', rowAttrs ? rowAttrs(r) : {}, columns.map((c) => h('td', { class: c.class }, c.cell(r))))),
    );
    status.replaceChildren(
      res.rows.length === 0 && i === 0
        ? h('p', { class: 'empty' }, empty)
        : `Page ${i + 1}: ${res.rows.length} row${res.rows.length === 1 ? '' : 's'}${res.next ? ', more after this page' : ''}.`,
    );
    labelCells(table);
    pager.replaceChildren();
    if (i > 0) pager.append(h('button', { type: 'button', class: 'prev-page', onclick: () => show(i - 1) }, '← Previous page'));
    if (res.next) pager.append(h('button', { type: 'button', class: 'next-page', onclick: () => show(i + 1) }, 'Next page →'));
    wrap.dataset.state = 'ready';
    if (onPage) onPage(res, null);
  }
  wrap.reload = () => {
    tokens.length = 1;
    return show(0);
  };
  wrap.ready = show(0);
  return wrap;
}
