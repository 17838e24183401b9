// Every request of the console goes through here: same origin only, the
// session cookie (credentials: 'same-origin'), the CSRF token on requests
// that change state, the TAXII media type on TAXII paths, and errors turned
// into ApiError with the server's own description.

export const TAXII = 'application/taxii+json;version=2.1';

let csrfToken = null;
let expiresAt = Infinity;
// The session's token and end (ms). Past its end the browser has dropped the
// cookie, and a request without credentials would get a Basic challenge,
// which makes the browser open its own password dialog: no request is sent
// then, the app shows its sign-in form instead.
export function setSession(token, expires) {
  csrfToken = token;
  const t = Date.parse(expires || '');
  expiresAt = Number.isNaN(t) ? Infinity : t;
}

export class ApiError extends Error {
  constructor(status, title, description) {
    super(description || title || `HTTP ${status}`);
    this.status = status;
    this.title = title;
    this.description = description;
  }
}

// A path (or same-origin URL) for fetch; a URL on another host is refused
// here so that the console never talks to anyone but its own server.
export function samePath(url) {
  const u = new URL(url, location.href);
  if (u.origin !== location.origin) throw new ApiError(0, 'elsewhere', `${u.origin} is another host; the console only talks to ${location.origin}`);
  return u.pathname + u.search;
}

function withQuery(path, params) {
  if (!params) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

async function errorFrom(res) {
  let title = `${res.status} ${res.statusText}`.trim();
  let description = '';
  try {
    const body = await res.json();
    if (body && typeof body === 'object') {
      title = body.title || title;
      description = body.description || '';
    }
  } catch {
    // not JSON: the status line is all there is
  }
  if (res.status === 429) {
    const after = res.headers.get('Retry-After');
    if (after) description = `${description || 'Too many attempts.'} Try again in ${after} s.`;
  }
  return new ApiError(res.status, title, description || title);
}

// Listeners told when a request finds the session gone (401), so the app can
// show the sign-in form again.
const expiredListeners = new Set();
export function onSessionExpired(fn) {
  expiredListeners.add(fn);
}

let inflight = 0;
const busyListeners = new Set();
export function onBusy(fn) {
  busyListeners.add(fn);
}
function busy(delta) {
  inflight += delta;
  for (const fn of busyListeners) fn(inflight);
}

export async function request(method, path, { params, body, json, taxii, signal, raw } = {}) {
  const headers = { Accept: taxii ? TAXII : 'application/json' };
  let payload;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  } else if (body !== undefined) {
    payload = body;
  }
  if (!['GET', 'HEAD', 'OPTIONS'].includes(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (csrfToken && Date.now() >= expiresAt && !path.startsWith('/cairn/console/session')) {
    const err = new ApiError(401, 'Session ended', 'Your session has ended. Please sign in again.');
    for (const fn of expiredListeners) fn(err);
    throw err;
  }
  busy(1);
  let res;
  try {
    res = await fetch(withQuery(samePath(path), params), {
      method,
      headers,
      body: payload,
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The server could not be reached. Check the connection and try again.');
  } finally {
    busy(-1);
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    if (res.status === 401 && !path.startsWith('/cairn/console/session')) {
      for (const fn of expiredListeners) fn(err);
    }
    throw err;
  }
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

export const get = (path, opts) => request('GET', path, opts);
export const taxii = (path, opts) => request('GET', path, { ...opts, taxii: true });
