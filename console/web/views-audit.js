// The auditor's views: sharing history with filters, "who received ID" with
// the exposure table, deliveries per partner as a chart, alerts, and the
// latest checkpoint verified in this browser.

import { get } from './api.js';
import { h, timeEl, setState, errorBox, loading, pagedTable } from './dom.js';
import { collectionNames } from './catalog.js';
import { chartModel, drawChart } from './chart.js';
import { checkCheckpoint, pinKey, pinnedKey, lastSeen } from './checkpoint.js';

const enc = encodeURIComponent;
const actions = ['publish', 'pull', 'delete', 'denied', 'auth-failure', 'config', 'alert'];
const alertKinds = ['auth-failure-burst', 'denied-burst', 'new-address', 'volume', 'suspended-use'];

function heading(title, intro) {
  return [h('h2', {}, title), intro ? h('p', { class: 'intro' }, intro) : null];
}

async function settle(table) {
  await table.ready;
  setState(table.dataset.state === 'error' ? 'error' : 'ready');
}

// A GET filter form: the view's name in a hidden field, then one labelled
// field per [name, label, {options|placeholder}], then Apply and Clear.
function filterForm(id, viewName, params, fields) {
  const form = h('form', { id, class: 'filters', method: 'get', action: '' }, h('input', { type: 'hidden', name: 'view', value: viewName }));
  for (const [name, label, opts = {}] of fields) {
    const fid = `${id}-${name}`;
    const value = params.get(name) || '';
    const input = opts.options
      ? h('select', { id: fid, name }, h('option', { value: '' }, 'any'), opts.options.map((o) => h('option', { value: o, selected: o === value }, o)))
      : h('input', { id: fid, name, value, placeholder: opts.placeholder || '', autocomplete: 'off', spellcheck: 'false', size: opts.size || 16 });
    form.append(h('span', { class: 'field' }, h('label', { for: fid }, label), input));
  }
  form.append(
    h('span', { class: 'field actions' }, h('button', { type: 'submit' }, 'Apply'), ' ', h('a', { href: `?view=${viewName}`, class: 'button secondary' }, 'Clear')),
  );
  return form;
}

const timeHint = { placeholder: '2026-11-01T00:00:00Z', size: 20 };

// The objects of a record as links to "who received"; many sit in a
// disclosure so that one bulk pull does not fill the page.
function objectLinks(record) {
  const objs = record.objects || [];
  if (objs.length === 0) return '—';
  const link = (o) => h('li', {}, h('a', { href: `?object=${enc(o.id)}`, class: 'mono small' }, o.id));
  if (objs.length <= 2) return h('ul', { class: 'plain' }, objs.map(link));
  const shown = objs.slice(0, 100).map(link);
  const more = objs.length > 100 ? h('li', { class: 'muted' }, `and ${objs.length - 100} more`) : null;
  return h('details', {}, h('summary', {}, `${objs.length} objects`), h('ul', { class: 'plain' }, shown, more));
}

export async function history(main, params) {
  main.append(...heading('Sharing history', 'Audit records, oldest first within the filters. Times are UTC.'));
  main.append(
    filterForm('history-filters', 'history', params, [
      ['account', 'Account'],
      ['collection', 'Collection (id or alias)'],
      ['object', 'Object id', { size: 30 }],
      ['action', 'Action', { options: actions }],
      ['since', 'Since (UTC)', timeHint],
      ['until', 'Until (UTC)', timeHint],
    ]),
  );
  const names = await collectionNames();
  const filters = {};
  for (const k of ['account', 'collection', 'object', 'action', 'since', 'until']) filters[k] = params.get(k) || undefined;
  const table = pagedTable({
    caption: 'Audit records',
    empty: 'No record matches these filters.',
    columns: [
      { label: 'Seq', class: 'num', cell: (r) => String(r.seq) },
      { label: 'Time (UTC)', cell: (r) => timeEl(r.time) },
      { label: 'Account', class: 'account', cell: (r) => r.account || '—' },
      { label: 'Action', cell: (r) => h('span', { class: `action action-${r.action}` }, r.action) },
      { label: 'Collection', cell: (r) => (r.collection ? names.get(r.collection) || r.collection : '—') },
      { label: 'Objects', class: 'wrap', cell: (r) => objectLinks(r) },
      { label: 'HTTP', class: 'num', cell: (r) => (r.status ? String(r.status) : '') },
      { label: 'From', cell: (r) => r.remote || '' },
    ],
    rowAttrs: (r) => ({ dataset: { seq: r.seq } }),
    load: async (next, signal) => {
      const res = await get('/cairn/v1/audit', { params: { ...filters, limit: 50, next }, signal });
      return { rows: res.records || [], next: res.more ? res.next : null };
    },
  });
  main.append(table);
  await settle(table);
}

export async function received(main, params) {
  const id = (params.get('object') || '').trim();
  main.append(...heading('Who received an object', 'Every pull that delivered a version of the object, and who holds which version now.'));
  main.append(
    h(
      'form',
      { id: 'received-form', class: 'filters', method: 'get', action: '' },
      h('input', { type: 'hidden', name: 'view', value: 'received' }),
      h('span', { class: 'field' }, h('label', { for: 'received-object' }, 'Object id'), h('input', { id: 'received-object', name: 'object', value: id, required: true, size: 50, placeholder: 'indicator--…', spellcheck: 'false', autocomplete: 'off' })),
      h('span', { class: 'field actions' }, h('button', { type: 'submit' }, 'Show')),
    ),
  );
  if (!id) {
    setState('ready');
    return;
  }
  main.append(h('p', {}, 'Object ', h('strong', { class: 'mono', id: 'received-id' }, id)));

  // Exposure: who holds which version now.
  const exposure = h('section', { class: 'exposure' }, h('h3', {}, 'Exposure'), loading('Loading exposure…'));
  const exposureDone = (async () => {
    try {
      const ex = await get('/cairn/v1/audit/exposure', { params: { object: id } });
      const facts = h(
        'p',
        {},
        'Current version: ',
        ex.current_version ? h('span', { class: 'mono' }, ex.current_version) : 'unknown',
        ex.revoked ? h('span', { class: 'badge revoked' }, ' revoked') : '',
      );
      const rows = (ex.recipients || []).map((r) =>
        h(
          'tr',
          { dataset: { account: r.account } },
          h('td', { class: 'account' }, r.account),
          h('td', { class: 'version mono' }, r.last_version_received),
          h('td', { class: 'time' }, timeEl(r.time)),
          h('td', {}, h('span', { class: r.current ? 'ok' : 'warn' }, r.current ? 'current' : 'outdated')),
        ),
      );
      exposure.replaceChildren(
        h('h3', {}, 'Exposure'),
        facts,
        h(
          'div',
          { class: 'scroller', tabindex: '0', role: 'region', 'aria-label': 'exposure' },
          h(
            'table',
            { id: 'exposure' },
            h('thead', {}, h('tr', {}, ['Account', 'Last version received', 'Received (UTC)', 'Holds'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, rows),
          ),
        ),
        rows.length ? '' : h('p', { class: 'empty' }, 'No account has received this object.'),
      );
    } catch (e) {
      exposure.replaceChildren(h('h3', {}, 'Exposure'), errorBox(e));
    }
  })();

  const versionsOf = (r) =>
    (r.objects || [])
      .filter((o) => o.id === id)
      .map((o) => o.version)
      .join(', ');
  const table = pagedTable({
    caption: 'Deliveries (pull records)',
    empty: 'No pull delivered this object.',
    columns: [
      { label: 'Seq', class: 'num', cell: (r) => String(r.seq) },
      { label: 'Account', class: 'account', cell: (r) => r.account },
      { label: 'Version', class: 'version mono', cell: versionsOf },
      { label: 'Time (UTC)', class: 'time', cell: (r) => timeEl(r.time, { plain: true }) },
      { label: 'From', cell: (r) => r.remote || '' },
    ],
    rowAttrs: (r) => ({ dataset: { seq: r.seq } }),
    load: async (next, signal) => {
      const res = await get('/cairn/v1/audit', { params: { action: 'pull', object: id, limit: 50, next }, signal });
      return { rows: res.records || [], next: res.more ? res.next : null };
    },
  });
  main.append(h('section', { class: 'pulls' }, h('h3', {}, 'Deliveries'), table), exposure);
  await Promise.all([table.ready, exposureDone]);
  setState(table.dataset.state === 'error' ? 'error' : 'ready');
}

const ranges = [
  ['1', 'Last 24 hours', 'hour'],
  ['7', 'Last 7 days', 'hour'],
  ['30', 'Last 30 days', 'day'],
  ['90', 'Last 90 days', 'day'],
];

export async function chart(main, params) {
  const days = ranges.some((r) => r[0] === params.get('days')) ? params.get('days') : '30';
  const metric = params.get('metric') === 'records' ? 'records' : 'objects';
  const [, rangeLabel, bucket] = ranges.find((r) => r[0] === days);
  main.append(...heading('Deliveries per partner', 'Objects (or pull records) delivered to each account per time bucket, in UTC.'));
  main.append(
    h(
      'form',
      { id: 'chart-options', class: 'filters', method: 'get', action: '' },
      h('input', { type: 'hidden', name: 'view', value: 'chart' }),
      h('span', { class: 'field' }, h('label', { for: 'chart-days' }, 'Range'), h('select', { id: 'chart-days', name: 'days' }, ranges.map(([v, t, b]) => h('option', { value: v, selected: v === days }, `${t} (per ${b})`)))),
      h('span', { class: 'field' }, h('label', { for: 'chart-metric' }, 'Count'), h('select', { id: 'chart-metric', name: 'metric' }, h('option', { value: 'objects', selected: metric === 'objects' }, 'objects delivered'), h('option', { value: 'records', selected: metric === 'records' }, 'pull records'))),
      h('span', { class: 'field actions' }, h('button', { type: 'submit' }, 'Show')),
    ),
  );
  const box = h('div', { class: 'chart-box' }, loading('Loading statistics…'));
  main.append(box);
  const until = new Date();
  const since = new Date(until.getTime() - Number(days) * 86400e3);
  let stats;
  try {
    stats = await get('/cairn/v1/audit/stats', { params: { bucket, since: since.toISOString() } });
  } catch (e) {
    box.replaceChildren(errorBox(e));
    setState('error');
    return;
  }
  const model = chartModel(stats, { since, until, bucket: stats.bucket || bucket, metric });
  const title = `${metric === 'objects' ? 'Objects delivered' : 'Pull records'} per ${model.bucket}, ${rangeLabel.toLowerCase()}`;
  const figure = h('figure', {}, drawChart(model, title, box.clientWidth), h('figcaption', {}, `${title} (UTC). `, model.series.length ? '' : 'No deliveries in this range.'));
  box.replaceChildren(figure);
  // Redrawn at the new width when the window changes size (text keeps its size).
  let width = box.clientWidth;
  let timer = 0;
  const onResize = () => {
    if (!figure.isConnected) {
      window.removeEventListener('resize', onResize);
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (Math.abs(box.clientWidth - width) < 8) return;
      width = box.clientWidth;
      figure.querySelector('svg').replaceWith(drawChart(model, title, width));
    }, 150);
  };
  window.addEventListener('resize', onResize);
  // The same numbers as a table, for reading exact values and for screen readers.
  const rows = model.series.map((s) =>
    h('tr', { dataset: { account: s.account } }, h('td', { class: 'account' }, h('span', { class: `swatch c${s.color}`, 'aria-hidden': 'true' }), s.account), h('td', { class: 'num' }, String(s.total)), h('td', { class: 'num' }, String(s.peak)), h('td', {}, s.peakTime ? timeEl(s.peakTime, { plain: true }) : '—')),
  );
  box.append(
    h(
      'div',
      { class: 'scroller', tabindex: '0', role: 'region', 'aria-label': 'totals per account' },
      h('table', { id: 'chart-totals' }, h('caption', {}, `Totals per account, ${rangeLabel.toLowerCase()}`), h('thead', {}, h('tr', {}, ['Account', 'Total', `Busiest ${model.bucket}`, 'Starting (UTC)'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows)),
    ),
  );
  setState('ready');
}

export async function alerts(main, params) {
  main.append(...heading('Alerts', 'What the exchange noticed about its own use, oldest first within the filters.'));
  main.append(
    filterForm('alert-filters', 'alerts', params, [
      ['kind', 'Kind', { options: alertKinds }],
      ['account', 'Account'],
      ['since', 'Since (UTC)', timeHint],
      ['until', 'Until (UTC)', timeHint],
    ]),
  );
  const filters = {};
  for (const k of ['kind', 'account', 'since', 'until']) filters[k] = params.get(k) || undefined;
  const table = pagedTable({
    caption: 'Alerts',
    empty: 'No alert matches these filters.',
    columns: [
      { label: 'Seq', class: 'num', cell: (a) => String(a.seq) },
      { label: 'Time (UTC)', cell: (a) => timeEl(a.time) },
      { label: 'Kind', cell: (a) => h('span', { class: 'badge alert-kind' }, a.kind) },
      { label: 'Account', class: 'account', cell: (a) => a.account || '—' },
      { label: 'From', cell: (a) => a.remote || '' },
      { label: 'Detail', class: 'wrap', cell: (a) => a.detail || '' },
      {
        label: 'Evidence',
        class: 'wrap',
        cell: (a) => {
          const ev = a.evidence || [];
          if (!ev.length) return '—';
          const first = Math.min(...ev);
          const last = Math.max(...ev);
          return `${ev.length} record${ev.length === 1 ? '' : 's'} (seq ${first === last ? first : `${first}–${last}`})`;
        },
      },
    ],
    rowAttrs: (a) => ({ dataset: { seq: a.seq } }),
    load: async (next, signal) => {
      const res = await get('/cairn/v1/alerts', { params: { ...filters, limit: 50, next }, signal });
      return { rows: res.alerts || [], next: res.more ? res.next : null };
    },
  });
  main.append(table);
  await settle(table);
}

const verdictText = {
  verified: 'Verified',
  failed: 'Failed',
  unsupported: 'Cannot check here',
  first: 'Signature verified (first checkpoint seen here)',
};

export async function checkpoint(main) {
  main.append(
    ...heading(
      'Latest checkpoint',
      'This browser checks the audit log\u2019s latest signed checkpoint itself: the Ed25519 signature with the operator\u2019s public key, and that the log only grew since the last checkpoint this browser saw (an RFC 9162 consistency proof).',
    ),
  );
  const verdict = h('div', { id: 'checkpoint-verdict', class: 'verdict', role: 'status', 'aria-live': 'polite' }, loading('Fetching and verifying the checkpoint…'));
  const details = h('div', { class: 'cp-details' });
  const keyBox = h('section', { class: 'keybox' });
  main.append(verdict, details, keyBox);

  async function run() {
    verdict.dataset.verdict = '';
    verdict.className = 'verdict';
    verdict.replaceChildren(loading('Fetching and verifying the checkpoint…'));
    let out;
    try {
      out = await checkCheckpoint(location.origin, {
        checkpoint: () => get('/cairn/v1/audit/checkpoint'),
        consistency: (from, to) => get('/cairn/v1/audit/consistency', { params: { from, to } }),
      });
    } catch (e) {
      // Nothing was judged: the server could not be asked.
      verdict.replaceChildren(errorBox(e, run));
      setState('error');
      return;
    }
    setState('ready');
    verdict.dataset.verdict = out.verdict;
    verdict.className = `verdict verdict-${out.verdict}`;
    verdict.replaceChildren(h('strong', { class: 'verdict-word' }, verdictText[out.verdict] || out.verdict), h('p', { class: 'verdict-sentence' }, out.sentence), out.steps?.length ? h('ul', { class: 'steps' }, out.steps.map((s) => h('li', { class: s.ok ? 'ok' : 'bad' }, s.ok ? '✓ ' : '✗ ', s.text))) : '');
    details.replaceChildren();
    const cp = out.checkpoint;
    if (cp) {
      const seen = lastSeen(location.origin);
      details.append(
        h(
          'dl',
          { class: 'facts' },
          h('dt', {}, 'Records (tree size)'),
          h('dd', {}, String(cp.tree_size)),
          h('dt', {}, 'Signed at'),
          h('dd', {}, timeEl(cp.time)),
          h('dt', {}, 'Root hash'),
          h('dd', { class: 'mono wrap' }, cp.root_hash),
          h('dt', {}, 'Chain hash (record hash)'),
          h('dd', { class: 'mono wrap' }, cp.chain_hash),
          h('dt', {}, 'Last checkpoint kept here'),
          h('dd', {}, seen ? `${seen.tree_size} records, root ${seen.root_hash.slice(0, 16)}…` : 'none'),
        ),
      );
    }
    drawKeyBox(out);
  }

  function drawKeyBox(out) {
    const pinned = pinnedKey(location.origin);
    const ta = h('textarea', { id: 'operator-pem', name: 'pem', rows: 5, cols: 66, spellcheck: 'false', placeholder: '-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----' });
    const msg = h('p', { class: 'form-msg', role: 'status' });
    const form = h(
      'form',
      { id: 'pin-key', class: 'stack' },
      h('label', { for: 'operator-pem' }, 'Operator\u2019s public key (PEM), from the operator by a channel you trust'),
      ta,
      msg,
      h('span', {}, h('button', { type: 'submit' }, 'Pin this key and verify again')),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const r = pinKey(location.origin, ta.value, 'pasted');
      if (!r.ok) {
        msg.textContent = r.reason;
        msg.className = 'form-msg error';
        return;
      }
      run();
    });
    keyBox.replaceChildren(
      h('h3', {}, 'Operator key'),
      pinned
        ? h('p', {}, pinned.source === 'pasted' ? 'Pinned in this browser from the PEM you pasted.' : `Pinned on first use (trust on first use) at ${pinned.pinned_at}: this browser took the key the server sent the first time. Compare it with the operator\u2019s key once to be sure.`)
        : h('p', {}, 'No key pinned in this browser yet.'),
      pinned ? h('pre', { class: 'pem' }, pinned.pem.trim()) : '',
      out.checkpoint && out.checkpoint.public_key && pinned && out.keyChanged ? h('p', { class: 'warn' }, 'The server now sends this other key:', h('pre', { class: 'pem' }, out.checkpoint.public_key.trim())) : '',
      form,
      h('p', {}, h('button', { type: 'button', id: 'verify-again', class: 'secondary', onclick: run }, 'Verify again')),
    );
  }

  await run();
}
