// The views every account has: the collections it can read, the recent
// objects of one collection with their TLP, lookup by value, and (accounts
// that can write) their recent publishes with the statuses' failures.

import { taxii, get } from './api.js';
import { h, timeEl, tlpBadge, setState, errorBox, loading, pagedTable } from './dom.js';
import { tlpOfObject } from './format.js';
import { loadCatalog, collectionNames, rootName, rootPath } from './catalog.js';

const enc = encodeURIComponent;

function heading(title, intro) {
  return [h('h2', {}, title), intro ? h('p', { class: 'intro' }, intro) : null];
}

// Waits for a paged table's first page and sets the view's state from it.
async function settle(table) {
  await table.ready;
  setState(table.dataset.state === 'error' ? 'error' : 'ready');
}

export async function collections(main) {
  main.append(...heading('Collections', 'The collections this account can read, by API root. Open one to see its objects.'));
  const box = h('div', {}, loading('Loading collections…'));
  main.append(box);
  const cat = await loadCatalog();
  box.replaceChildren();
  if (cat.roots.length === 0) box.append(h('p', { class: 'empty' }, 'The server lists no API root.'));
  for (const r of cat.roots) {
    const section = h('section', { class: 'root' }, h('h3', {}, `API root ${r.name}`));
    if (r.error) {
      section.append(errorBox(r.error));
      box.append(section);
      continue;
    }
    const readable = r.collections.filter((c) => c.can_read);
    const writeOnly = r.collections.filter((c) => !c.can_read && c.can_write);
    if (readable.length === 0) section.append(h('p', { class: 'empty' }, 'No collection here that this account can read.'));
    else {
      const rows = readable.map((c) =>
        h(
          'tr',
          { dataset: { collectionId: c.id } },
          h('td', {}, h('a', { href: `?view=objects&root=${enc(r.name)}&collection=${enc(c.id)}` }, c.title || c.id)),
          h('td', {}, c.alias || ''),
          h('td', { class: 'mono' }, c.id),
          h('td', {}, c.can_write ? 'read, write' : 'read'),
          h('td', {}, c.description || ''),
        ),
      );
      section.append(
        h(
          'div',
          { class: 'scroller', tabindex: '0', role: 'region', 'aria-label': `collections of ${r.name}` },
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ['Title', 'Alias', 'Id', 'Access', 'Description'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, rows),
          ),
        ),
      );
    }
    if (writeOnly.length) {
      section.append(h('p', { class: 'muted' }, `Publish only (no reading): ${writeOnly.map((c) => c.title || c.id).join(', ')}.`));
    }
    box.append(section);
  }
  if (cat.skipped.length) box.append(h('p', { class: 'muted' }, `Not shown: ${cat.skipped.length} API root(s) on another host.`));
  setState('ready');
}

const windows = [
  ['', 'Everything'],
  ['1', 'Added in the last 24 hours'],
  ['7', 'Added in the last 7 days'],
  ['30', 'Added in the last 30 days'],
];

// A short human name for a STIX object ('' when there is none but its id).
function summary(o) {
  if (o.type === 'relationship' && o.source_ref && o.target_ref) {
    return `${o.source_ref.split('--')[0]} ${o.relationship_type || 'related-to'} ${o.target_ref.split('--')[0]}`;
  }
  if (o.type === 'sighting' && o.sighting_of_ref) return `sighting of ${o.sighting_of_ref.split('--')[0]}`;
  return o.name || o.value || o.pattern || o.path || o.key || o.body || o.display_name || '';
}

export async function objects(main, params) {
  const root = params.get('root') || '';
  const id = params.get('collection') || '';
  const days = params.get('days') || '';
  const names = await collectionNames();
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '?view=collections' }, 'Collections'), ' / ', names.get(id) || id),
    ...heading(`Objects of ${names.get(id) || id}`, 'In the order they were added to the collection. TLP from each object\u2019s markings; objects without a TLP marking say unmarked (the collection\u2019s default applies).'),
  );
  if (!root || !id) {
    setState('error');
    main.append(errorBox({ description: 'Choose a collection first (the link needs root and collection).' }));
    return;
  }
  const form = h(
    'form',
    { class: 'filters', method: 'get', action: '' },
    h('input', { type: 'hidden', name: 'view', value: 'objects' }),
    h('input', { type: 'hidden', name: 'root', value: root }),
    h('input', { type: 'hidden', name: 'collection', value: id }),
    h('label', { for: 'objects-days' }, 'Show'),
    h('select', { id: 'objects-days', name: 'days' }, windows.map(([v, t]) => h('option', { value: v, selected: v === days }, t))),
    h('button', { type: 'submit' }, 'Apply'),
  );
  main.append(form);
  const since = days ? new Date(Date.now() - Number(days) * 86400e3).toISOString() : undefined;
  const base = `${rootPath(root)}collections/${enc(id)}/objects/`;
  const table = pagedTable({
    caption: 'Objects',
    empty: 'No object here that this account may see.',
    columns: [
      { label: 'TLP', cell: (o) => tlpBadge(tlpOfObject(o)) },
      { label: 'Type', cell: (o) => o.type },
      {
        label: 'Object',
        class: 'wrap',
        cell: (o) => {
          const text = summary(o);
          return h('span', {}, text ? [h('span', { class: 'summary' }, text), h('br')] : null, h('span', { class: 'mono small' }, o.id));
        },
      },
      { label: 'Version (modified)', cell: (o) => timeEl(o.modified || o.created) },
      { label: 'Revoked', cell: (o) => (o.revoked ? 'revoked' : '') },
    ],
    rowAttrs: (o) => ({ dataset: { objectId: o.id } }),
    load: async (next, signal) => {
      const res = await taxii(base, { params: { limit: 25, next, added_after: since }, signal });
      return { rows: res.objects || [], next: res.more ? res.next : null };
    },
  });
  main.append(table);
  await settle(table);
}

export async function lookup(main, params) {
  const value = (params.get('value') || '').trim();
  main.append(
    ...heading(
      'Lookup',
      'Find indicators and observables by value: an IP address (a CIDR in a pattern that holds it counts), domain, URL, e-mail address or file hash. Only collections this account can read are searched.',
    ),
  );
  const form = h(
    'form',
    { id: 'lookup', class: 'filters', method: 'get', action: '', role: 'search' },
    h('input', { type: 'hidden', name: 'view', value: 'lookup' }),
    h('label', { for: 'lookup-value' }, 'Value'),
    h('input', { id: 'lookup-value', name: 'value', value, required: true, size: 40, placeholder: '198.51.100.7, example.org, sha-256…', autocomplete: 'off', spellcheck: 'false' }),
    h('button', { type: 'submit' }, 'Look up'),
  );
  main.append(form);
  if (!value) {
    setState('ready');
    return;
  }
  const out = h('div', {}, loading(`Looking up ${value}…`));
  main.append(out);
  let res;
  try {
    res = await get('/cairn/v1/lookup', { params: { value } });
  } catch (e) {
    out.replaceChildren(errorBox(e));
    setState('error');
    return;
  }
  const names = await collectionNames();
  const matches = res.matches || [];
  out.replaceChildren(
    h('p', { role: 'status' }, matches.length ? `${matches.length} match${matches.length === 1 ? '' : 'es'} for ${res.value}.` : `No match for ${res.value}.`),
  );
  if (matches.length) {
    out.append(
      h(
        'div',
        { class: 'scroller', tabindex: '0', role: 'region', 'aria-label': 'lookup results' },
        h(
          'table',
          {},
          h('thead', {}, h('tr', {}, ['TLP', 'Type', 'Object', 'Version', 'Collection', 'State', 'Valid until'].map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            {},
            matches.map((m) =>
              h(
                'tr',
                { dataset: { objectId: m.id } },
                h('td', {}, tlpBadge(m.tlp)),
                h('td', {}, m.type),
                h('td', { class: 'mono wrap' }, m.id),
                h('td', {}, timeEl(m.version)),
                h('td', {}, h('a', { href: `?view=objects&root=${enc(rootName(m.api_root || ''))}&collection=${enc(m.collection)}` }, names.get(m.collection) || m.collection)),
                h('td', {}, m.revoked ? 'revoked' : 'active'),
                h('td', {}, m.valid_until ? timeEl(m.valid_until) : 'no end'),
              ),
            ),
          ),
        ),
      ),
    );
  }
  if (res.more) out.append(h('p', { class: 'muted' }, 'More matches exist than are shown; narrow the value.'));
  setState('ready');
}

// Fetches the failures of a status (with their messages) into `cell`.
async function loadFailures(cell, s) {
  cell.replaceChildren(loading('Loading failures…'));
  try {
    const st = await taxii(`${rootPath(s.api_root)}status/${enc(s.id)}/`);
    const list = h('ul', { class: 'failures' });
    for (const f of st.failures || []) {
      list.append(h('li', {}, h('span', { class: 'mono small' }, f.id), f.version ? ` (${f.version})` : '', ': ', h('span', { class: 'message' }, f.message || 'no reason given')));
    }
    cell.replaceChildren(list.childElementCount ? list : 'none listed');
  } catch (e) {
    cell.replaceChildren(errorBox(e, () => loadFailures(cell, s)));
  }
}

export async function publishes(main) {
  main.append(...heading('My publishes', 'The statuses of this account\u2019s recent publishes, newest first, with every failed object and its reason.'));
  const table = pagedTable({
    caption: 'Recent publishes',
    empty: 'This account has published nothing yet.',
    columns: [
      { label: 'Requested', cell: (s) => timeEl(s.request_timestamp) },
      { label: 'Status', cell: (s) => h('span', { class: `status status-${s.failure_count ? 'failed' : s.status}` }, s.failure_count ? `${s.status}, with failures` : s.status) },
      { label: 'Objects', class: 'num', cell: (s) => `${s.success_count} of ${s.total_count} ok${s.pending_count ? `, ${s.pending_count} pending` : ''}` },
      { label: 'Failed', class: 'num', cell: (s) => String(s.failure_count) },
      {
        label: 'Failures',
        class: 'wrap',
        cell: (s) => {
          const cell = h('div', {}, s.failure_count ? '' : '—');
          if (s.failure_count) loadFailures(cell, s);
          return cell;
        },
      },
      { label: 'Status id', cell: (s) => h('span', { class: 'mono small' }, s.id) },
    ],
    rowAttrs: (s) => ({ dataset: { statusId: s.id } }),
    load: async (next, signal) => {
      const res = await get('/cairn/v1/statuses', { params: { limit: 20, next }, signal });
      return { rows: res.statuses || [], next: res.more ? res.next : null };
    },
  });
  main.append(table);
  await settle(table);
}
