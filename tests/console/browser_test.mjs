// End-to-end tests of the console (/cairn/console/) in a real headless
// Chromium, driven by puppeteer-core.
//
//   node browser_test.mjs --cairnd PATH [--out DIR] [--readme DIR] [--chromium PATH]
//
// Starts the real cairnd (`cairnd demo` in a fresh folder, on 127.0.0.1 and a
// port the kernel picks), trusts exactly its certificate in the browser (by
// the SHA-256 of its public key, --ignore-certificate-errors-spki-list), and
// checks what a person and an attacker's page would see: sign-in, the session
// cookie, sign-out, CSRF refusal, each role's views and what they hide, "who
// received X", the chart, alerts, the checkpoint verdict, the security
// headers, no request to another host, no console error, narrow windows and
// the keyboard. Screenshots of every view (1280x800) go under --out; with
// --readme DIR, small PNGs of the auditor's views go to DIR as well.
//
// Exit status: 0 every case passed, 1 a case failed (or the run could not
// start), 77 skipped because the browser or puppeteer-core is missing (a
// failure instead when CAIRN_REQUIRE_BROWSER=1). cairnd and Chromium are
// ended on every path out: normal end, exception, signal, and the run's own
// deadline (which comes before ctest's TIMEOUT).

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

const SKIP = 77;
const RUN_DEADLINE_MS = 240_000;  // ctest's TIMEOUT for the test is 300 s
const VIEW_TIMEOUT_MS = 15_000;
const TAXII = 'application/taxii+json;version=2.1';
const AUDITOR_VIEWS = ['history', 'received', 'chart', 'alerts', 'checkpoint'];
const COOKIE = '__Host-cairn-session';

// --- arguments and environment ------------------------------------------------

function parseArgs(argv) {
  const out = { out: 'console-screenshots', chromium: process.env.CAIRN_CHROMIUM || '/usr/bin/chromium' };
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i];
    const take = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--cairnd') out.cairnd = take();
    else if (a === '--out') out.out = take();
    else if (a === '--readme') out.readme = take();
    else if (a === '--chromium') out.chromium = take();
    else usage(`unknown argument ${a}`);
  }
  if (!out.cairnd) usage('--cairnd PATH is required');
  // cairnd runs in a folder of its own.
  out.cairnd = path.resolve(out.cairnd);
  return out;
}

function usage(why) {
  console.error(`browser_test: ${why}\nusage: node browser_test.mjs --cairnd PATH [--out DIR] [--readme DIR] [--chromium PATH]`);
  process.exit(2);
}

function skipOrFail(why) {
  if (process.env.CAIRN_REQUIRE_BROWSER === '1') {
    console.error(`console browser tests: ${why}; CAIRN_REQUIRE_BROWSER=1, so this is a failure`);
    process.exit(1);
  }
  console.log(`SKIPPED: console browser tests: ${why} (scripts/setup.sh installs it)`);
  process.exit(SKIP);
}

const args = parseArgs(process.argv);
try {
  fs.accessSync(args.chromium, fs.constants.X_OK);
} catch {
  skipOrFail(`no Chromium at ${args.chromium}`);
}
let puppeteer;
try {
  puppeteer = (await import('puppeteer-core')).default;
} catch (e) {
  skipOrFail(`puppeteer-core is not installed in tests/console/node_modules (npm ci --prefix tests/console): ${e.message}`);
}
try {
  fs.accessSync(args.cairnd, fs.constants.X_OK);
} catch {
  console.error(`browser_test: no cairnd at ${args.cairnd}`);
  process.exit(1);
}

// --- cleanup on every path out --------------------------------------------------

const state = { cairnd: null, browser: null, dirs: [], stopping: false };

function cleanupSync() {
  // Last resort ('exit' handlers cannot wait): kill what is still running.
  try {
    state.browser?.process()?.kill('SIGKILL');
  } catch {}
  if (state.cairnd && state.cairnd.exitCode === null && state.cairnd.signalCode === null) {
    try {
      state.cairnd.kill('SIGKILL');
    } catch {}
  }
  for (const d of state.dirs) fs.rmSync(d, { recursive: true, force: true });
  state.dirs = [];
}

async function cleanup() {
  if (state.browser) {
    const b = state.browser;
    state.browser = null;
    await Promise.race([b.close().catch(() => {}), sleep(5000)]);
    try {
      b.process()?.kill('SIGKILL');
    } catch {}
  }
  if (state.cairnd && state.cairnd.exitCode === null && state.cairnd.signalCode === null) {
    const c = state.cairnd;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    if ((await Promise.race([exited.then(() => 'exited'), sleep(12_000)])) !== 'exited') {
      c.kill('SIGKILL');
      await exited;
    }
  }
  for (const d of state.dirs) fs.rmSync(d, { recursive: true, force: true });
  state.dirs = [];
}

process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`browser_test: ${sig}, stopping cairnd and Chromium`);
    state.stopping = true;
    cleanup().finally(() => process.exit(1));
  });
}
const deadline = setTimeout(() => {
  console.error(`browser_test: the run took more than ${RUN_DEADLINE_MS / 1000} s; stopping cairnd and Chromium`);
  state.stopping = true;
  cleanup().finally(() => process.exit(1));
}, RUN_DEADLINE_MS);

// --- small helpers --------------------------------------------------------------

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

class CheckError extends Error {}

function expect(cond, message) {
  if (!cond) throw new CheckError(message);
}

function uuid() {
  return crypto.randomUUID();
}

function stixTime(d = new Date()) {
  return d.toISOString();
}

const results = [];

// One named case: passes or fails with a message; later cases still run.
async function check(name, fn) {
  if (state.stopping) return;  // a signal or the deadline: no more cases
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false, message: e.message });
    console.log(`not ok - ${name}\n    ${String(e instanceof CheckError ? e.message : e.stack || e).replace(/\n/g, '\n    ')}`);
  }
}

// --- cairnd ---------------------------------------------------------------------

async function startDemo() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-console-'));
  state.dirs.push(dir);
  const demoDir = path.join(dir, 'demo');
  // setpriv --pdeathsig: cairnd ends with this process even when it is killed
  // without a chance to clean up.
  const cmd = [args.cairnd, 'demo', '--dir', demoDir, '--port', '0'];
  const setpriv = '/usr/bin/setpriv';
  const argv = fs.existsSync(setpriv) ? [setpriv, '--pdeathsig', 'KILL', '--', ...cmd] : cmd;
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  state.cairnd = child;
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => (out += d));
  // cairnd logs one JSON line per request to stderr: keep the tail only.
  child.stderr.on('data', (d) => (err = (err + d).slice(-20000)));
  const started = Date.now();
  while (!out.includes('Serving until Ctrl-C.')) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`cairnd demo exited (${child.exitCode ?? child.signalCode}) before serving:\n${out}\n${err}`);
    }
    if (Date.now() - started > 60_000) throw new Error(`cairnd demo did not start within 60 s:\n${out}\n${err}`);
    await sleep(100);
  }
  const port = Number(/Discovery: https:\/\/127\.0\.0\.1:(\d+)\/taxii2\//.exec(out)?.[1]);
  const passwords = {};
  for (const m of out.matchAll(/^\s+(\w+): user (\S+)\s+password (\S+)$/gm)) passwords[m[2]] = m[3];
  if (!port || !passwords.publisher || !passwords.partner || !passwords.auditor) {
    throw new Error(`cannot read the port and the passwords from cairnd demo's output:\n${out}`);
  }
  const keyPem = fs.readFileSync(path.join(demoDir, 'server.key'));
  const spki = crypto.createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  return {
    dir: demoDir,
    port,
    origin: `https://127.0.0.1:${port}`,
    passwords,
    spkiHash: crypto.createHash('sha256').update(spki).digest('base64'),
    ca: fs.readFileSync(path.join(demoDir, 'server.pem')),
    stderrTail: () => err,
  };
}

// A request over Node's https straight to cairnd (not through the browser).
function request(srv, method, urlPath, { user, password, cookie, headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const h = { Accept: TAXII, ...headers };
    if (user) h.Authorization = 'Basic ' + Buffer.from(`${user}:${password ?? srv.passwords[user]}`).toString('base64');
    if (cookie) h.Cookie = cookie;
    let data;
    if (body !== undefined) {
      data = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      h['Content-Type'] ??= TAXII;
      h['Content-Length'] = data.length;
    }
    const req = https.request(
      { host: '127.0.0.1', port: srv.port, method, path: urlPath, headers: h, ca: srv.ca, agent: false, timeout: 20_000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer within 20 s`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function requestOk(srv, method, urlPath, opts) {
  const r = await request(srv, method, urlPath, opts);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${urlPath} as ${opts?.user}: ${r.status} ${r.text.slice(0, 300)}`);
  return r;
}

// Every object of a collection that `user` may read, following `next`.
async function pullAll(srv, user, collection, query = '') {
  const objects = [];
  let next = '';
  for (let i = 0; i < 100; ++i) {
    const q = [query, next ? `next=${encodeURIComponent(next)}` : ''].filter(Boolean).join('&');
    const r = await requestOk(srv, 'GET', `/sharing/collections/${collection}/objects/${q ? '?' + q : ''}`, { user });
    objects.push(...(r.json.objects || []));
    if (!r.json.more) return objects;
    next = r.json.next;
  }
  throw new Error('more than 100 pages');
}

// --- the browser ----------------------------------------------------------------

// Everything each page did that the checks at the end look at.
const observed = { foreign: [], consoleErrors: [], pageErrors: [], badResponses: [], requests: [] };
// (method, path prefix, status) of the error answers a case provokes on purpose.
const expectedErrors = [];

function allowError(method, pathPrefix, status) {
  expectedErrors.push({ method, pathPrefix, status });
}

async function newPage(context, srv, label, viewport = { width: 1280, height: 800 }) {
  const page = await context.newPage();
  await page.setViewport(viewport);
  page.setDefaultTimeout(VIEW_TIMEOUT_MS);
  page.on('request', (req) => {
    const url = req.url();
    observed.requests.push({ label, method: req.method(), url });
    if (url === 'about:blank') return;
    let origin;
    try {
      origin = new URL(url).origin;
    } catch {
      origin = url;
    }
    if (origin !== srv.origin) observed.foreign.push(`${label}: ${req.method()} ${url}`);
  });
  page.on('response', (res) => {
    if (res.status() < 400) return;
    const u = new URL(res.url());
    const method = res.request().method();
    const ok = expectedErrors.some((e) => e.method === method && u.pathname.startsWith(e.pathPrefix) && e.status === res.status());
    if (!ok) observed.badResponses.push(`${label}: ${method} ${u.pathname}${u.search} -> ${res.status()}`);
  });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Chromium reports every 4xx answer as "Failed to load resource"; those
    // are judged by the response check above, against the expected ones.
    if (msg.text().startsWith('Failed to load resource')) return;
    observed.consoleErrors.push(`${label}: ${msg.text()} (${msg.location()?.url ?? ''})`);
  });
  page.on('pageerror', (e) => observed.pageErrors.push(`${label}: ${e.message}`));
  return page;
}

// Waits until main#view shows `name` in a final state; fails unless ready and
// without a .error.
async function waitView(page, name, timeout = VIEW_TIMEOUT_MS) {
  try {
    await page.waitForFunction(
      (n) => {
        const m = document.querySelector('main#view');
        return m && m.dataset.view === n && (m.dataset.state === 'ready' || m.dataset.state === 'error');
      },
      { timeout },
      name,
    );
  } catch {
    const now = await page.evaluate(() => {
      const m = document.querySelector('main#view');
      return m ? `data-view=${m.dataset.view} data-state=${m.dataset.state}` : 'no main#view';
    });
    throw new CheckError(`view ${name} did not finish loading within ${timeout / 1000} s (page: ${now}, url ${page.url()})`);
  }
  const s = await page.$eval('main#view', (m) => ({ state: m.dataset.state, error: m.querySelector('.error')?.textContent?.trim() }));
  expect(s.state === 'ready', `view ${name} ended in data-state=${s.state}: ${s.error ?? '(no .error text)'}`);
  expect(!s.error, `view ${name} is ready but shows an error: ${s.error}`);
}

async function signIn(page, srv, account, password = srv.passwords[account]) {
  await page.goto(`${srv.origin}/cairn/console/`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('form#signin input[name=account]', { visible: true });
  await page.type('form#signin input[name=account]', account);
  await page.type('form#signin input[name=password]', password);
  await page.click('form#signin button[type=submit]');
  try {
    await page.waitForFunction((a) => document.querySelector('#whoami')?.textContent.trim() === a, {}, account);
  } catch {
    const err = await page.$eval('#signin-error', (e) => e.textContent.trim()).catch(() => '');
    throw new CheckError(`signing in as ${account} did not show #whoami "${account}"${err ? `; #signin-error says: ${err}` : ''}`);
  }
  await waitView(page, 'collections');
}

async function navNames(page) {
  return page.$$eval('nav a[data-nav]', (as) => as.map((a) => a.dataset.nav));
}

// A fetch made by the page itself (same origin, its cookie).
async function pageFetch(page, method, url, { headers = {}, body } = {}) {
  return page.evaluate(
    async (method, url, headers, body) => {
      const r = await fetch(url, { method, headers, body, credentials: 'same-origin' });
      return { status: r.status, text: await r.text() };
    },
    method,
    url,
    headers,
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  );
}

async function csrfToken(page) {
  const r = await pageFetch(page, 'GET', '/cairn/console/session');
  expect(r.status === 200, `GET /cairn/console/session from a signed-in page: ${r.status} ${r.text}`);
  const token = JSON.parse(r.text).csrf_token;
  expect(typeof token === 'string' && token.length > 0, `the session JSON has no csrf_token: ${r.text}`);
  return token;
}

async function shot(page, dir, name) {
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}

function bundleOf(objects) {
  return { type: 'bundle', id: `bundle--${uuid()}`, objects };
}

function indicator(name, value) {
  const t = stixTime();
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${uuid()}`,
    created: t,
    modified: t,
    name,
    pattern: `[ipv4-addr:value = '${value}']`,
    pattern_type: 'stix',
    valid_from: t,
    object_marking_refs: ['marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb'],  // TLP:GREEN
  };
}

// --- the run ------------------------------------------------------------------------

async function main() {
  fs.mkdirSync(args.out, { recursive: true });
  const srv = await startDemo();
  console.log(`# cairnd demo on ${srv.origin} (folder ${srv.dir})`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-chromium-'));
  state.dirs.push(profile);
  state.browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: true,
    pipe: true,
    userDataDir: profile,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    protocolTimeout: 60_000,
    args: [
      '--no-sandbox',
      '--headless=new',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      `--ignore-certificate-errors-spki-list=${srv.spkiHash}`,
    ],
  });
  const browser = state.browser;
  const ctx = {};  // one browser context (cookie jar, local storage) per role
  const pages = {};

  // The objects the checks use, from the TAXII API.
  const collections = (await requestOk(srv, 'GET', '/sharing/collections/', { user: 'publisher' })).json.collections ?? [];
  const intelId = collections.find((c) => c.alias === 'intel')?.id;
  if (!intelId) throw new Error(`the demo has no collection with the alias intel: ${JSON.stringify(collections)}`);
  const objectsUrl = `?view=objects&root=sharing&collection=${intelId}`;

  // An alert for the alerts view, caused first so that it is this run's:
  // wrong passwords from 127.0.0.1, as many as the default
  // auth_failure_burst count (10 within 60 s). The name is no account's (an
  // alert for an account name would suspend that account).
  for (let i = 0; i < 10; ++i) {
    const r = await request(srv, 'GET', '/taxii2/', { user: 'mallory', password: 'not-a-password' });
    if (r.status !== 401) throw new Error(`wrong password ${i + 1} for mallory: ${r.status}, not 401`);
  }
  const partnerIntel = await pullAll(srv, 'partner', 'intel');
  const everyIntel = await pullAll(srv, 'publisher', 'intel');
  const partnerIds = new Set(partnerIntel.map((o) => o.id));
  const hidden = everyIntel.filter((o) => !partnerIds.has(o.id));
  const known = partnerIntel.find((o) => o.type === 'indicator');
  if (!known || hidden.length === 0) throw new Error('the demo data has no indicator for the partner or nothing hidden from it');

  await check('console page: served with the security headers, assets cached immutable', async () => {
    const c = await browser.createBrowserContext();
    const page = await newPage(c, srv, 'headers');
    const assets = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/cairn/console/assets/')) assets.push(r);
    });
    const res = await page.goto(`${srv.origin}/cairn/console/`, { waitUntil: 'networkidle0' });
    expect(res.status() === 200, `GET /cairn/console/: ${res.status()}`);
    const h = res.headers();
    expect(h['content-security-policy'] === "default-src 'self'", `Content-Security-Policy is ${JSON.stringify(h['content-security-policy'])}, not "default-src 'self'"`);
    expect(h['x-content-type-options'] === 'nosniff', `X-Content-Type-Options: ${h['x-content-type-options']}`);
    expect(h['x-frame-options'] === 'DENY', `X-Frame-Options: ${h['x-frame-options']}`);
    expect(h['referrer-policy'] === 'no-referrer', `Referrer-Policy: ${h['referrer-policy']}`);
    expect(/^text\/html/.test(h['content-type'] ?? ''), `Content-Type: ${h['content-type']}`);
    expect(assets.length >= 2, `the page loaded ${assets.length} assets from /cairn/console/assets/ (a script and a style sheet expected)`);
    for (const a of assets) {
      const ah = a.headers();
      expect(a.status() === 200 || a.status() === 304, `${a.url()}: ${a.status()}`);
      if (a.status() === 200) {
        expect(/immutable/.test(ah['cache-control'] ?? ''), `${a.url()}: Cache-Control ${ah['cache-control']} is not immutable`);
        expect(ah['content-security-policy'] === "default-src 'self'", `${a.url()}: no CSP`);
      }
    }
    await c.close();
  });

  await check('sign-in: a wrong password shows #signin-error and sets no cookie', async () => {
    const c = await browser.createBrowserContext();
    const page = await newPage(c, srv, 'wrong-password');
    allowError('POST', '/cairn/console/session', 401);
    await page.goto(`${srv.origin}/cairn/console/`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('form#signin input[name=account]', { visible: true });
    await page.type('form#signin input[name=account]', 'partner');
    await page.type('form#signin input[name=password]', 'not-the-password');
    await page.click('form#signin button[type=submit]');
    await page.waitForFunction(() => {
      const e = document.querySelector('#signin-error');
      return e && e.textContent.trim().length > 0 && e.getClientRects().length > 0;
    }).catch(() => {
      throw new CheckError('after a wrong password, #signin-error is missing, empty or hidden');
    });
    const cookies = await page.cookies();
    expect(!cookies.some((k) => k.name === COOKIE), 'a failed sign-in set the session cookie');
    expect(!(await page.$('#whoami')) || !(await page.$eval('#whoami', (e) => e.textContent.trim())), 'a failed sign-in shows an account in #whoami');
    await c.close();
  });

  for (const role of ['publisher', 'partner', 'auditor']) {
    await check(`sign-in: ${role} signs in with the form and sees its name in #whoami`, async () => {
      ctx[role] = await browser.createBrowserContext();
      pages[role] = await newPage(ctx[role], srv, role);
      await signIn(pages[role], srv, role);
    });
  }

  await check('session cookie: __Host-cairn-session, Secure, HttpOnly, SameSite=Strict, Path=/, at most 12 h', async () => {
    const page = pages.partner;
    expect(page, 'the partner did not sign in');
    const cookies = await page.cookies(srv.origin + '/');
    const k = cookies.find((x) => x.name === COOKIE);
    expect(k, `no ${COOKIE} cookie after sign-in; cookies: ${cookies.map((x) => x.name).join(', ') || 'none'}`);
    expect(k.secure === true, 'the session cookie is not Secure');
    expect(k.httpOnly === true, 'the session cookie is not HttpOnly');
    expect(k.sameSite === 'Strict', `the session cookie has SameSite=${k.sameSite}`);
    expect(k.path === '/', `the session cookie has Path=${k.path}`);
    expect(k.expires > 0 && !k.session, 'the session cookie has no Max-Age/Expires (it would live as long as the browser)');
    const left = k.expires - Date.now() / 1000;
    expect(left <= 12 * 3600 + 5, `the session cookie lives ${Math.round(left)} s, more than 12 h`);
    expect(left > 11 * 3600, `the session cookie lives only ${Math.round(left)} s`);
    const seen = await page.evaluate(() => document.cookie);
    expect(!seen.includes(COOKIE), 'document.cookie shows the session cookie to scripts');
  });

  await check('CSRF: a state-changing fetch without X-CSRF-Token is refused with 403, with it succeeds', async () => {
    const page = pages.publisher;
    expect(page, 'the publisher did not sign in');
    const token = await csrfToken(page);
    const url = '/sharing/collections/intel/objects/';
    const headers = { 'Content-Type': TAXII, Accept: TAXII };
    allowError('POST', url, 403);
    allowError('DELETE', '/cairn/console/session', 403);
    const without = await pageFetch(page, 'POST', url, { headers, body: bundleOf([indicator('csrf without', '198.51.100.201')]) });
    expect(without.status === 403, `POST objects without X-CSRF-Token: ${without.status}, not 403 (${without.text.slice(0, 200)})`);
    const desc = JSON.parse(without.text).description ?? '';
    expect(/CSRF/i.test(desc), `the 403 does not say what is missing: ${without.text}`);
    const wrong = await pageFetch(page, 'POST', url, { headers: { ...headers, 'X-CSRF-Token': token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA') }, body: bundleOf([indicator('csrf wrong', '198.51.100.202')]) });
    expect(wrong.status === 403, `POST objects with a wrong X-CSRF-Token: ${wrong.status}, not 403`);
    const del = await pageFetch(page, 'DELETE', '/cairn/console/session');
    expect(del.status === 403, `DELETE /cairn/console/session without X-CSRF-Token: ${del.status}, not 403`);
    const still = await pageFetch(page, 'GET', '/cairn/console/session');
    expect(still.status === 200, `the session ended after a refused DELETE: ${still.status}`);
    const withToken = await pageFetch(page, 'POST', url, { headers: { ...headers, 'X-CSRF-Token': token }, body: bundleOf([indicator('csrf with', '198.51.100.203')]) });
    expect(withToken.status === 202, `POST objects with the session's X-CSRF-Token: ${withToken.status}, not 202 (${withToken.text.slice(0, 200)})`);
  });

  await check('roles: each account has its own navigation (partner: no auditor or publisher views)', async () => {
    const nav = {};
    for (const role of ['publisher', 'partner', 'auditor']) {
      expect(pages[role], `${role} did not sign in`);
      nav[role] = await navNames(pages[role]);
      for (const v of ['collections', 'lookup']) expect(nav[role].includes(v), `${role}'s nav has no ${v}: [${nav[role]}]`);
    }
    for (const v of AUDITOR_VIEWS) {
      expect(nav.auditor.includes(v), `the auditor's nav has no ${v}: [${nav.auditor}]`);
      expect(!nav.partner.includes(v), `the partner's nav offers the auditor view ${v}`);
      expect(!nav.publisher.includes(v), `the publisher (not an auditor) is offered ${v}`);
    }
    expect(nav.publisher.includes('publishes'), `the publisher's nav has no publishes: [${nav.publisher}]`);
    expect(!nav.partner.includes('publishes'), 'the partner (it can write nothing) is offered publishes');
  });

  await check('roles: the partner gets 403 from /cairn/v1/audit and no records from the history view', async () => {
    const page = pages.partner;
    allowError('GET', '/cairn/v1/', 403);
    const r = await pageFetch(page, 'GET', '/cairn/v1/audit');
    expect(r.status === 403, `GET /cairn/v1/audit from the partner's page: ${r.status}, not 403`);
    await page.goto(`${srv.origin}/cairn/console/?view=history`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => {
      const m = document.querySelector('main#view');
      return m && (m.dataset.state === 'ready' || m.dataset.state === 'error');
    });
    const rows = await page.$$('tr[data-seq]');
    expect(rows.length === 0, `the partner's page shows ${rows.length} audit rows`);
  });

  await check('roles: the partner\'s objects view lists only objects the partner may read, with TLP badges', async () => {
    const page = pages.partner;
    // Again: the cases above published more.
    const partnerNow = new Set((await pullAll(srv, 'partner', 'intel')).map((o) => o.id));
    await page.goto(`${srv.origin}/cairn/console/${objectsUrl}`, { waitUntil: 'domcontentloaded' });
    await waitView(page, 'objects');
    const rows = await page.$$eval('tr[data-object-id]', (trs) => trs.map((tr) => ({ id: tr.dataset.objectId, tlp: tr.querySelector('.tlp')?.textContent.trim() })));
    expect(rows.length > 0, 'the partner\'s objects view of intel has no rows');
    for (const r of rows) {
      expect(partnerNow.has(r.id), `the partner's objects view lists ${r.id}, which TAXII does not give the partner`);
      expect(['TLP:CLEAR', 'TLP:GREEN'].includes(r.tlp), `row ${r.id} has badge ${JSON.stringify(r.tlp)}; the partner (clearance green) may see only CLEAR and GREEN here`);
    }
    const html = await page.content();
    for (const o of hidden) expect(!html.includes(o.id), `the partner's page contains ${o.id}, which is above its clearance`);
    await shot(page, args.out, 'partner-objects');
  });

  await check('roles: the auditor\'s objects view shows TLP badges up to RED', async () => {
    const page = pages.auditor;
    await page.goto(`${srv.origin}/cairn/console/${objectsUrl}`, { waitUntil: 'domcontentloaded' });
    await waitView(page, 'objects');
    const badges = await page.$$eval('tr[data-object-id] .tlp', (es) => es.map((e) => e.textContent.trim()));
    for (const b of badges) expect(/^(TLP:(CLEAR|GREEN|AMBER|AMBER\+STRICT|RED)|unmarked)$/.test(b), `badge text ${JSON.stringify(b)} is not a TLP level`);
    expect(badges.some((b) => b !== 'TLP:CLEAR' && b !== 'TLP:GREEN'), `the auditor sees no object above GREEN in intel: [${[...new Set(badges)]}]`);
  });

  // The publisher's own publish with one invalid object.
  let failedStatus;
  await check('publishes: the publisher\'s view lists a status it made, with the failure\'s reason', async () => {
    const good = indicator('console publish good', '198.51.100.210');
    const bad = { ...indicator('console publish bad', '198.51.100.211') };
    delete bad.pattern;  // an indicator without its pattern is invalid
    const posted = await request(srv, 'POST', '/sharing/collections/intel/objects/', { user: 'publisher', body: bundleOf([good, bad]) });
    expect(posted.status === 202, `POST a bundle with one invalid object: ${posted.status} ${posted.text.slice(0, 300)}`);
    let status = posted.json;
    for (let i = 0; i < 50 && status.status !== 'complete'; ++i) {
      await sleep(100);
      status = (await requestOk(srv, 'GET', `/sharing/status/${status.id}/`, { user: 'publisher' })).json;
    }
    expect(status.failure_count === 1 && status.failures?.[0]?.message, `the status has no failure with a message: ${JSON.stringify(status)}`);
    failedStatus = status;
    const page = pages.publisher;
    await page.goto(`${srv.origin}/cairn/console/?view=publishes`, { waitUntil: 'domcontentloaded' });
    await waitView(page, 'publishes');
    const row = await page.$(`tr[data-status-id="${status.id}"]`);
    expect(row, `no row tr[data-status-id="${status.id}"] in the publishes view`);
    const message = status.failures[0].message;
    const shows = () => page.$eval('main#view', (m, msg) => m.innerText.includes(msg), message);
    if (!(await shows())) {
      // The failures may open on demand: the row itself or a control in it.
      const control = (await row.$('button, a, summary')) ?? row;
      await control.click();
      await page.waitForFunction((msg) => document.querySelector('main#view').innerText.includes(msg), {}, message).catch(() => {});
    }
    expect(await shows(), `the publishes view does not show the failure's reason "${message}"`);
    await shot(page, args.out, 'publisher-publishes-failure');
  });

  // "Who received X": the partner pulls X, the auditor asks.
  let pulled;
  await check('who received X: the auditor sees the partner\'s account, the exact version and the time of its pull', async () => {
    const r = await requestOk(srv, 'GET', `/sharing/collections/intel/objects/${known.id}/`, { user: 'partner' });
    const version = r.json.objects[0].modified ?? r.json.objects[0].created;
    const audit = await requestOk(srv, 'GET', `/cairn/v1/audit?object=${encodeURIComponent(known.id)}&account=partner&action=pull`, { user: 'auditor' });
    const rec = audit.json.records.at(-1);
    expect(rec && rec.objects.some((o) => o.id === known.id && o.version === version), `the audit API has no pull of ${known.id} ${version} by partner`);
    pulled = { id: known.id, version, rec };
    const page = pages.auditor;
    await page.goto(`${srv.origin}/cairn/console/?object=${encodeURIComponent(known.id)}`, { waitUntil: 'domcontentloaded' });
    await waitView(page, 'received');
    const row = await page.$(`tr[data-seq="${rec.seq}"]`);
    expect(row, `no row tr[data-seq="${rec.seq}"] for the partner's pull (record ${rec.seq})`);
    const cells = await row.evaluate((tr) => ({
      account: tr.querySelector('.account')?.textContent.trim(),
      version: tr.querySelector('.version')?.textContent.trim(),
      time: tr.querySelector('.time')?.textContent.trim(),
    }));
    expect(cells.account === 'partner', `the row's .account is ${JSON.stringify(cells.account)}, not "partner"`);
    expect(cells.version === version, `the row's .version is ${JSON.stringify(cells.version)}, not ${version}`);
    expect(cells.time?.includes(rec.time), `the row's .time is ${JSON.stringify(cells.time)}; it does not show the record's time ${rec.time}`);
    await shot(page, args.out, 'auditor-received-object');
  });

  await check('exposure: the "who received" view\'s exposure table lists the partner with the version it holds', async () => {
    expect(pulled, 'the partner\'s pull was not recorded (case above)');
    const page = pages.auditor;
    const row = await page.$('table#exposure tr[data-account="partner"]');
    expect(row, 'table#exposure has no row tr[data-account="partner"]');
    const text = await row.evaluate((tr) => tr.textContent);
    expect(text.includes(pulled.version), `the partner's exposure row does not show ${pulled.version}: ${text.trim()}`);
    const others = await page.$$eval('table#exposure tr[data-account]', (trs) => trs.map((t) => t.dataset.account));
    const api = await requestOk(srv, 'GET', `/cairn/v1/audit/exposure?object=${encodeURIComponent(pulled.id)}`, { user: 'auditor' });
    const want = api.json.recipients.map((x) => x.account).sort();
    expect(JSON.stringify([...others].sort()) === JSON.stringify(want), `table#exposure lists [${others}], the API [${want}]`);
  });

  let alert;
  await check('alerts: the auth-failure-burst the run caused is listed in the alerts view', async () => {
    for (let i = 0; i < 100 && !alert; ++i) {
      const a = await requestOk(srv, 'GET', '/cairn/v1/alerts?kind=auth-failure-burst', { user: 'auditor' });
      alert = a.json.alerts.find((x) => x.remote === '127.0.0.1');
      if (!alert) await sleep(200);
    }
    expect(alert, 'the alerts API has no auth-failure-burst from 127.0.0.1 after 10 wrong passwords');
    const page = pages.auditor;
    await page.goto(`${srv.origin}/cairn/console/?view=alerts`, { waitUntil: 'domcontentloaded' });
    await waitView(page, 'alerts');
    const row = await page.$(`tr[data-seq="${alert.seq}"]`);
    expect(row, `the alerts view has no row tr[data-seq="${alert.seq}"]`);
    const text = await row.evaluate((tr) => tr.textContent);
    expect(text.includes('auth-failure-burst') && text.includes('127.0.0.1'), `the alert's row does not name its kind and address: ${text.trim()}`);
  });

  await check('chart: svg#deliveries-chart draws marks and names the partner in its legend', async () => {
    const page = pages.auditor;
    await page.goto(`${srv.origin}/cairn/console/?view=chart`, { waitUntil: 'domcontentloaded' });
    await waitView(page, 'chart');
    const svg = await page.$('svg#deliveries-chart');
    expect(svg, 'no <svg id="deliveries-chart"> in the chart view');
    const marks = await svg.evaluate((s) =>
      [...s.querySelectorAll('path, rect')].filter((e) => {
        const b = e.getBBox();
        return (e.tagName === 'path' ? (e.getAttribute('d') ?? '').length > 0 : true) && b.width + b.height > 0 && (e.tagName !== 'rect' || (b.width > 0 && b.height > 0));
      }).length,
    );
    expect(marks > 0, 'the chart has no drawn path or rect');
    const text = await page.$eval('main#view', (m) => m.textContent);
    expect(text.includes('partner'), 'the chart view does not name the partner (legend)');
    const box = await svg.boundingBox();
    expect(box && box.width > 100 && box.height > 50, `the chart is ${box?.width}x${box?.height} px`);
  });

  const stored = (page) =>
    page.evaluate((key) => {
      const v = localStorage.getItem(key);
      return v;
    }, `cairn.checkpoint.${srv.origin}`);
  const treeSize = (v) => {
    try {
      return JSON.parse(v).tree_size;
    } catch {
      return undefined;
    }
  };
  const verdict = (page) => page.$eval('#checkpoint-verdict', (e) => ({ verdict: e.dataset.verdict, text: e.textContent.trim() }));

  let firstSize;
  await check('checkpoint: the first visit verifies the signature (verdict first or verified) and keeps the checkpoint', async () => {
    const page = pages.auditor;
    await page.goto(`${srv.origin}/cairn/console/?view=checkpoint`, { waitUntil: 'domcontentloaded' });
    await waitView(page, 'checkpoint', 30_000);
    await page.waitForSelector('#checkpoint-verdict[data-verdict]');
    const v = await verdict(page);
    expect(v.verdict === 'first' || v.verdict === 'verified', `verdict ${v.verdict}: ${v.text}`);
    expect(v.text.length > 10, `the verdict has no sentence: ${JSON.stringify(v.text)}`);
    firstSize = treeSize(await stored(page));
    expect(firstSize > 0, `localStorage cairn.checkpoint.${srv.origin} holds no tree_size after a verification: ${await stored(page)}`);
  });

  await check('checkpoint: after more activity a second visit is verified by a consistency proof from the stored one', async () => {
    expect(firstSize, 'no first checkpoint (case above)');
    await requestOk(srv, 'GET', `/sharing/collections/intel/objects/${known.id}/`, { user: 'partner' });
    await sleep(1100);  // cairnd signs at most one fresh checkpoint a second
    const page = pages.auditor;
    const proofs = [];
    const onReq = (r) => {
      if (r.url().includes('/cairn/v1/audit/consistency')) proofs.push(r.url());
    };
    page.on('request', onReq);
    await page.goto(`${srv.origin}/cairn/console/?view=checkpoint`, { waitUntil: 'domcontentloaded' });
    await waitView(page, 'checkpoint', 30_000);
    await page.waitForSelector('#checkpoint-verdict[data-verdict]');
    page.off('request', onReq);
    const v = await verdict(page);
    expect(v.verdict === 'verified', `second visit: verdict ${v.verdict}, not verified: ${v.text}`);
    const second = treeSize(await stored(page));
    expect(second > firstSize, `the stored checkpoint did not move on: tree_size ${firstSize} -> ${second}`);
    expect(proofs.some((u) => new URL(u).searchParams.get('from') === String(firstSize) && new URL(u).searchParams.get('to') === String(second)),
      `no consistency proof from ${firstSize} to ${second} was fetched (${proofs.join(', ') || 'none'})`);
    await shot(page, args.out, 'auditor-checkpoint-verified');
  });

  await check('checkpoint: a stored checkpoint the log is not consistent with gives the verdict failed', async () => {
    const page = pages.auditor;
    const before = await stored(page);
    expect(before, 'nothing stored to tamper with');
    // Another root hash for the same tree size: no proof can link it.
    const tampered = before.replace(/[0-9a-f]{64}/, (h) => (h[0] === '0' ? '1' : '0') + h.slice(1));
    expect(tampered !== before, `no hex hash in the stored value: ${before}`);
    await page.evaluate((k, v) => localStorage.setItem(k, v), `cairn.checkpoint.${srv.origin}`, tampered);
    await requestOk(srv, 'GET', `/sharing/collections/intel/objects/${known.id}/`, { user: 'partner' });
    await sleep(1100);
    await page.goto(`${srv.origin}/cairn/console/?view=checkpoint`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#checkpoint-verdict[data-verdict]:not([data-verdict=""])', { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('main#view')?.dataset.state !== 'loading');
    const v = await verdict(page);
    expect(v.verdict === 'failed', `with a tampered stored root hash the verdict is ${v.verdict}: ${v.text}`);
    // Put the honest one back for the views that follow.
    await page.evaluate((k, v2) => localStorage.setItem(k, v2), `cairn.checkpoint.${srv.origin}`, before);
  });

  // Every view of every role renders, reached through its nav link.
  for (const role of ['publisher', 'partner', 'auditor']) {
    await check(`views: every view in the ${role}'s nav renders (ready, no .error) and is screenshotted`, async () => {
      const page = pages[role];
      expect(page, `${role} did not sign in`);
      await page.goto(`${srv.origin}/cairn/console/`, { waitUntil: 'domcontentloaded' });
      await waitView(page, 'collections');
      for (const name of await navNames(page)) {
        await page.click(`nav a[data-nav="${name}"]`);
        await waitView(page, name, name === 'checkpoint' ? 30_000 : VIEW_TIMEOUT_MS);
        await shot(page, args.out, `${role}-${name}`);
      }
    });
  }

  await check('lookup: a value the partner may see finds its indicator', async () => {
    const page = pages.partner;
    const withValue = partnerIntel.find((o) => o.type === 'indicator' && /\[(ipv4-addr|domain-name|url):value\s*=\s*'[^']+'\]/.test(o.pattern ?? ''));
    expect(withValue, 'no partner-visible indicator with a simple value pattern in the demo data');
    const value = /'([^']+)'/.exec(withValue.pattern)[1];
    await page.goto(`${srv.origin}/cairn/console/?view=lookup`, { waitUntil: 'domcontentloaded' });
    await waitView(page, 'lookup');
    await page.type('form#lookup input[name=value]', value);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`tr[data-object-id="${withValue.id}"]`).catch(() => {
      throw new CheckError(`looking up ${value} shows no row for ${withValue.id}`);
    });
    await waitView(page, 'lookup');
    await shot(page, args.out, 'partner-lookup-result');
  });

  await check('sign-out: ends the session; the old cookie replayed gets 401', async () => {
    const page = pages.partner;
    const k = (await page.cookies(srv.origin + '/')).find((x) => x.name === COOKIE);
    expect(k, 'no session cookie before sign-out');
    const cookie = `${COOKIE}=${k.value}`;
    const before = await request(srv, 'GET', '/taxii2/', { cookie });
    expect(before.status === 200, `the cookie replayed before sign-out: ${before.status} (the replay itself does not work)`);
    await page.click('button#signout');
    await page.waitForSelector('form#signin', { visible: true }).catch(() => {
      throw new CheckError('after button#signout the sign-in form is not shown');
    });
    const after = (await page.cookies(srv.origin + '/')).find((x) => x.name === COOKIE);
    expect(!after || !after.value, 'the browser still holds the session cookie after sign-out');
    const replay = await request(srv, 'GET', '/taxii2/', { cookie });
    expect(replay.status === 401, `the old cookie replayed after sign-out: ${replay.status}, not 401`);
    expect(/^Session/.test(replay.headers['www-authenticate'] ?? ''), `401 with WWW-Authenticate ${replay.headers['www-authenticate']}, not Session (a browser would show a password dialog)`);
    const fromPage = await pageFetch(page, 'GET', '/cairn/console/session');
    expect(fromPage.status === 200 && JSON.parse(fromPage.text).signed_in === false,
      `GET /cairn/console/session after sign-out: ${fromPage.status} ${fromPage.text}, not 200 {"signed_in":false}`);
  });

  await check('keyboard: Tab reaches the account and password fields, Enter signs in', async () => {
    const c = await browser.createBrowserContext();
    const page = await newPage(c, srv, 'keyboard');
    await page.goto(`${srv.origin}/cairn/console/`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('form#signin input[name=account]', { visible: true });
    await page.evaluate(() => document.activeElement?.blur());
    const focused = () => page.evaluate(() => {
      const e = document.activeElement;
      return e ? `${e.tagName.toLowerCase()}[name=${e.getAttribute('name')}]` : '';
    });
    let tabs = 0;
    while ((await focused()) !== 'input[name=account]' && tabs < 15) {
      await page.keyboard.press('Tab');
      ++tabs;
    }
    expect((await focused()) === 'input[name=account]', `15 presses of Tab never focused input[name=account] (last: ${await focused()})`);
    await page.keyboard.type('auditor');
    await page.keyboard.press('Tab');
    expect((await focused()) === 'input[name=password]', `Tab after the account field focuses ${await focused()}, not the password`);
    await page.keyboard.type(srv.passwords.auditor);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#whoami')?.textContent.trim() === 'auditor').catch(() => {
      throw new CheckError('Enter in the password field did not sign in');
    });
    await waitView(page, 'collections');
    // The nav links take the focus too.
    let reached = false;
    for (let i = 0; i < 30 && !reached; ++i) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.matches('nav a[data-nav="history"]') ?? false);
    }
    expect(reached, 'Tab never reaches the history link of the nav');
    await page.keyboard.press('Enter');
    await waitView(page, 'history');
    await c.close();
  });

  for (const [w, h] of [[1280, 800], [390, 844]]) {
    await check(`layout: at ${w}x${h} no view overflows the window sideways and every nav link can be reached`, async () => {
      const page = pages.auditor;
      await page.setViewport({ width: w, height: h });
      try {
        const names = await navNames(page);
        for (const name of [...names, 'objects']) {
          const url = name === 'objects' ? objectsUrl : `?view=${name}`;
          await page.goto(`${srv.origin}/cairn/console/${url}`, { waitUntil: 'domcontentloaded' });
          await waitView(page, name, 30_000);
          const o = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, win: window.innerWidth }));
          expect(o.doc <= o.win && o.body <= o.win, `view ${name} at ${w}px: the page is ${Math.max(o.doc, o.body)} px wide (sideways scrolling)`);
          if (w < 600) await shot(page, args.out, `narrow-auditor-${name}`);
        }
        // Every nav link can be made visible and clicked (a menu toggle may come first).
        for (const name of names) {
          await page.goto(`${srv.origin}/cairn/console/`, { waitUntil: 'domcontentloaded' });
          await waitView(page, 'collections');
          const sel = `nav a[data-nav="${name}"]`;
          let visible = await page.$eval(sel, (a) => a.getClientRects().length > 0 && getComputedStyle(a).visibility !== 'hidden');
          if (!visible) {
            const toggle = await page.$('button[aria-controls], button[aria-expanded]');
            expect(toggle, `nav link ${name} is hidden at ${w}px and there is no menu button (aria-expanded)`);
            await toggle.click();
            visible = await page.$eval(sel, (a) => a.getClientRects().length > 0 && getComputedStyle(a).visibility !== 'hidden');
          }
          expect(visible, `nav link ${name} cannot be made visible at ${w}px`);
          await page.$eval(sel, (a) => a.scrollIntoView({ block: 'nearest', inline: 'nearest' }));
          const box = await (await page.$(sel)).boundingBox();
          expect(box && box.x >= 0 && box.x + box.width <= w + 1, `nav link ${name} lies outside the ${w}px window (x ${box?.x}, width ${box?.width})`);
          await page.click(sel);
          await waitView(page, name, 30_000);
        }
      } finally {
        await page.setViewport({ width: 1280, height: 800 });
      }
    });
  }

  await check('sessions: a SIGHUP that changes an account ends its sessions, and only its', async () => {
    const c = await browser.createBrowserContext();
    const page = await newPage(c, srv, 'partner-reload');
    await signIn(page, srv, 'partner');
    const k = (await page.cookies(srv.origin + '/')).find((x) => x.name === COOKIE);
    const cookie = `${COOKIE}=${k.value}`;
    const auditorCookie = (await pages.auditor.cookies(srv.origin + '/')).find((x) => x.name === COOKIE);
    expect(auditorCookie, 'the auditor has no session cookie');
    // The partner's clearance changes in the config file; the auditor's entry does not.
    const file = path.join(srv.dir, 'cairn.json');
    const config = JSON.parse(fs.readFileSync(file, 'utf8'));
    config.accounts.find((a) => a.name === 'partner').clearance = 'clear';
    fs.writeFileSync(file, JSON.stringify(config));
    state.cairnd.kill('SIGHUP');
    let replay;
    for (let i = 0; i < 50; ++i) {
      replay = await request(srv, 'GET', '/taxii2/', { cookie });
      if (replay.status === 401) break;
      await sleep(100);
    }
    expect(replay.status === 401, `the changed partner's cookie still gets ${replay.status} 5 s after the SIGHUP`);
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForSelector('form#signin', { visible: true }).catch(() => {
      throw new CheckError('the changed partner\'s page does not go back to the sign-in form');
    });
    const auditor = await request(srv, 'GET', '/taxii2/', { cookie: `${COOKIE}=${auditorCookie.value}` });
    expect(auditor.status === 200, `the auditor's session (its account unchanged) ended with the SIGHUP: ${auditor.status}`);
    await c.close();
  });

  if (args.readme) {
    await check('README screenshots: the auditor\'s views as small PNGs', async () => {
      const page = pages.auditor;
      await page.setViewport({ width: 1280, height: 800 });
      const views = [
        ['history', '?view=history'],
        ['received', `?object=${encodeURIComponent(known.id)}`],
        ['chart', '?view=chart'],
        ['alerts', '?view=alerts'],
        ['checkpoint', '?view=checkpoint'],
      ];
      fs.mkdirSync(args.readme, { recursive: true });
      for (const [name, q] of views) {
        if (name === 'checkpoint') {
          // A log that grew since this browser's last checkpoint: the picture
          // shows the consistency proof checked.
          await requestOk(srv, 'GET', `/sharing/collections/intel/objects/${known.id}/`, { user: 'partner' });
          await sleep(1100);
        }
        await page.goto(`${srv.origin}/cairn/console/${q}`, { waitUntil: 'domcontentloaded' });
        await waitView(page, name, 30_000);
        await page.evaluate(() => document.activeElement?.blur());
        const file = path.join(args.readme, `${name}.png`);
        await page.screenshot({ path: file });
        console.log(`# ${file}: ${fs.statSync(file).size} bytes`);
      }
    });
  }

  // What every page did over the whole run.
  await check('network: no request went to any host other than the server', async () => {
    expect(observed.requests.length > 0, 'no request was observed at all');
    expect(observed.foreign.length === 0, `requests to other hosts:\n${observed.foreign.join('\n')}`);
  });
  await check('console: no console error and no uncaught page error on any page', async () => {
    const all = [...observed.consoleErrors, ...observed.pageErrors];
    expect(all.length === 0, `errors:\n${all.join('\n')}`);
  });
  await check('console: no unexpected 4xx/5xx answer to any page request', async () => {
    expect(observed.badResponses.length === 0, `unexpected error answers:\n${observed.badResponses.join('\n')}`);
  });

  if (results.some((r) => !r.ok)) {
    console.log(`# cairnd's last log lines:\n${srv.stderrTail().split('\n').slice(-15).join('\n')}`);
  }
}

let status = 1;
try {
  await main();
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  if (failed) console.log(`failed: ${results.filter((r) => !r.ok).map((r) => r.name).join('; ')}`);
  status = failed === 0 && results.length > 0 ? 0 : 1;
} catch (e) {
  console.error(`browser_test: ${e.stack || e}`);
} finally {
  clearTimeout(deadline);
  await cleanup();
}
process.exit(status);
