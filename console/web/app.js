// The console's entry point: the session (sign-in, reload, sign-out), the
// navigation for the account's roles, and routing by query string on
// /cairn/console/ (?view=NAME..., or ?object=ID for "who received ID").

import { request, setSession, onSessionExpired, onBusy, ApiError } from './api.js';
import { h, clear, view, setState, errorBox, labelCells, loading } from './dom.js';
import { loadCatalog, resetCatalog } from './catalog.js';
import * as common from './views-common.js';
import * as audit from './views-audit.js';

const views = {
  collections: { title: 'Collections', render: common.collections },
  objects: { title: 'Objects', render: common.objects, hidden: true },
  lookup: { title: 'Lookup', render: common.lookup },
  publishes: { title: 'My publishes', render: common.publishes, publisher: true },
  history: { title: 'Sharing history', render: audit.history, auditor: true },
  received: { title: 'Who received', render: audit.received, auditor: true },
  chart: { title: 'Deliveries', render: audit.chart, auditor: true },
  alerts: { title: 'Alerts', render: audit.alerts, auditor: true },
  checkpoint: { title: 'Checkpoint', render: audit.checkpoint, auditor: true },
};

let session = null; // {account, auditor, clearance, csrf_token, expires}
let publisher = false;
let renderSeq = 0;

function allowed(name) {
  const v = views[name];
  if (!v) return false;
  if (v.auditor && !session.auditor) return false;
  if (v.publisher && !publisher) return false;
  return true;
}

function currentRoute() {
  const q = new URLSearchParams(location.search);
  let name = q.get('view');
  if (!name && q.get('object')) name = 'received';
  return { name: name || 'collections', params: q };
}

// Follows an in-console link without reloading the page.
export function navigate(href, { replace = false } = {}) {
  const u = new URL(href, location.href);
  if (u.origin !== location.origin || u.pathname !== location.pathname) {
    location.assign(u.href);
    return;
  }
  if (replace) history.replaceState(null, '', u.href);
  else history.pushState(null, '', u.href);
  render();
}

function buildNav() {
  const nav = document.getElementById('nav');
  const { name } = currentRoute();
  const list = h('ul');
  for (const [key, v] of Object.entries(views)) {
    if (v.hidden || !allowed(key)) continue;
    const a = h('a', { href: `?view=${key}`, dataset: { nav: key } }, v.title);
    if (key === name || (name === 'objects' && key === 'collections')) a.setAttribute('aria-current', 'page');
    list.append(h('li', {}, a));
  }
  nav.replaceChildren(list);
  nav.hidden = false;
}

function showSignedIn() {
  document.getElementById('whoami').textContent = session.account;
  const roles = [session.auditor ? 'auditor' : null, publisher ? 'publisher' : null, `clearance ${session.clearance}`].filter(Boolean);
  document.getElementById('roles').textContent = roles.join(' · ');
  document.getElementById('account').hidden = false;
}

async function render() {
  const mine = ++renderSeq;
  const main = view();
  if (!session) return;
  const { name, params } = currentRoute();
  buildNav();
  const target = allowed(name) ? name : null;
  clear(main);
  main.dataset.view = target || name;
  if (!target) {
    setState('error');
    main.append(
      h('h2', {}, 'Not available'),
      errorBox(new ApiError(404, 'Not available', `There is no view "${name}" for the account ${session.account}.`)),
    );
    return;
  }
  document.title = `${views[target].title} · Cairn console`;
  setState('loading');
  try {
    await views[target].render(main, params, { session, navigate, stale: () => mine !== renderSeq });
  } catch (e) {
    if (mine !== renderSeq) return;
    setState('error');
    main.append(errorBox(e));
  }
  if (mine === renderSeq) labelCells(main);
  // Move focus to the new view's heading for keyboard and screen-reader users
  // (not on the first render, where the page has just loaded).
  if (mine === renderSeq && renderedOnce) {
    const heading = main.querySelector('h2');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: false });
    }
  }
  renderedOnce = true;
}
let renderedOnce = false;

async function afterSignIn(s) {
  session = s;
  setSession(s.csrf_token, s.expires);
  scheduleExpiry(s);
  document.getElementById('notice').textContent = '';
  showSignedIn();
  // Whether the account may publish anywhere decides the "My publishes" view,
  // so the collections are known before the first view is drawn (the header
  // is already there; the view says it is loading).
  const main = view();
  main.dataset.view = currentRoute().name;
  setState('loading');
  main.replaceChildren(loading('Loading the collections this account can see…'));
  try {
    const cat = await loadCatalog();
    publisher = cat.roots.some((r) => r.collections.some((c) => c.can_write));
  } catch {
    // the collections view shows the error itself
  }
  if (session !== s) return;
  showSignedIn();
  render();
}

function showSignIn(message) {
  session = null;
  publisher = false;
  resetCatalog();
  setSession(null, null);
  clearTimeout(expiryTimer);
  document.getElementById('account').hidden = true;
  document.getElementById('nav').hidden = true;
  const main = view();
  clear(main);
  main.dataset.view = 'signin';
  document.title = 'Sign in · Cairn console';
  const err = h('p', { id: 'signin-error', class: 'error', role: 'alert' });
  err.hidden = !message;
  if (message) err.textContent = message;
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { id: 'signin', method: 'post', action: '', class: 'card signin' },
    h('h2', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Use your Cairn account name and password. The session lasts at most 12 hours.'),
    h('label', { for: 'signin-account' }, 'Account'),
    h('input', { id: 'signin-account', name: 'account', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' }),
    h('label', { for: 'signin-password' }, 'Password'),
    h('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    err,
    button,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    button.disabled = true;
    button.textContent = 'Signing in…';
    err.hidden = true;
    try {
      const s = await request('POST', '/cairn/console/session', {
        body: new URLSearchParams({ account: fd.get('account'), password: fd.get('password') }),
      });
      renderedOnce = true; // focus moves to the first view's heading
      await afterSignIn(s);
    } catch (e) {
      err.textContent = e.description || e.message;
      err.hidden = false;
      button.disabled = false;
      button.textContent = 'Sign in';
      form.querySelector('input[name=password]').select();
    }
  });
  main.append(form);
  setState('ready');
  form.querySelector(message ? 'input[name=password]' : 'input[name=account]').focus();
}

// At the session's end the page says so at once (rather than on the next
// click); a timer longer than 24 days would fire at once, hence the cap.
let expiryTimer = 0;
function scheduleExpiry(s) {
  clearTimeout(expiryTimer);
  const left = Date.parse(s.expires || '') - Date.now();
  if (!Number.isNaN(left) && left < 2 ** 31 - 1) {
    expiryTimer = setTimeout(() => {
      if (session === s) showSignIn('Your session has ended. Please sign in again.');
    }, Math.max(0, left));
  }
}

// Signing out in one tab signs out the others of this browser (they share the
// cookie): they hear it through the storage event.
const signoutKey = `cairn.signout.${location.origin}`;

async function signOut() {
  const btn = document.getElementById('signout');
  btn.disabled = true;
  try {
    await request('DELETE', '/cairn/console/session');
  } catch (e) {
    // A session that is already gone is signed out all the same.
    if (e.status !== 401) {
      btn.disabled = false;
      view().prepend(errorBox(e));
      return;
    }
  }
  btn.disabled = false;
  localStorage.setItem(signoutKey, new Date().toISOString());
  showSignIn();
  document.getElementById('notice').textContent = 'Signed out.';
}

async function start() {
  document.getElementById('signout').addEventListener('click', signOut);
  // In-console links and GET forms change the query string without a reload.
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest('a[href]');
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || a.target) return;
    const u = new URL(a.href);
    if (u.origin === location.origin && u.pathname === location.pathname && session) {
      ev.preventDefault();
      navigate(u.href);
    }
  });
  document.addEventListener('submit', (ev) => {
    const form = ev.target;
    if (ev.defaultPrevented || !session || form.method !== 'get') return;
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim() !== '') q.append(k, String(v).trim());
    navigate(`?${q}`);
  });
  window.addEventListener('popstate', () => render());
  window.addEventListener('storage', (ev) => {
    if (ev.key === signoutKey && session) {
      showSignIn();
      document.getElementById('notice').textContent = 'Signed out (in another tab).';
    }
  });
  onSessionExpired(() => {
    if (!session) return;
    showSignIn('Your session has ended. Please sign in again.');
  });
  const progress = document.getElementById('progress');
  onBusy((n) => {
    progress.hidden = n === 0;
  });

  // The cookie is HttpOnly: only the server can say whether this browser
  // still has a session (a reloaded page gets its CSRF token back this way).
  setState('loading');
  try {
    const s = await request('GET', '/cairn/console/session');
    // {"signed_in":false}: no session in this browser (an answer, not an error).
    if (!s || s.signed_in === false) {
      showSignIn();
      return;
    }
    await afterSignIn(s);
  } catch (e) {
    if (e.status === 401) showSignIn();
    else showSignIn(e.description || e.message);
  }
}

start();
