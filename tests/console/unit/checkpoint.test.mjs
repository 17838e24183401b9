// The console's checkpoint check with this browser's memory: trust on first
// use, the pinned key, and the consistency proof from the last checkpoint
// seen, on checkpoints and a proof fetched from a real cairnd.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { checkCheckpoint, pinnedKey, lastSeen, pinKey } from '../../../console/web/checkpoint.js';

const fixture = JSON.parse(readFileSync(new URL('./fixture-cairnd.json', import.meta.url)));
const origin = 'https://127.0.0.1:8443';

class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
}

// Fetchers that answer with `cp` and `proof`, counting the proof requests.
function server(cp, proof = fixture.consistency) {
  const calls = [];
  return {
    calls,
    checkpoint: async () => cp,
    consistency: async (from, to) => {
      calls.push([from, to]);
      return proof;
    },
  };
}

test('first visit: signature checked, key pinned on first use, checkpoint kept', async () => {
  const st = new MemoryStorage();
  const r = await checkCheckpoint(origin, server(fixture.old_checkpoint), st);
  assert.equal(r.verdict, 'first');
  assert.match(r.sentence, /first checkpoint/);
  assert.match(r.sentence, /first use/);
  assert.equal(pinnedKey(origin, st).source, 'first-use');
  assert.deepEqual(lastSeen(origin, st).tree_size, fixture.old_checkpoint.tree_size);
  assert.ok(st.getItem(`cairn.checkpoint.${origin}`));
});

test('next visit: the consistency proof from the kept checkpoint verifies and the new one is kept', async () => {
  const st = new MemoryStorage();
  await checkCheckpoint(origin, server(fixture.old_checkpoint), st);
  const srv = server(fixture.checkpoint);
  const r = await checkCheckpoint(origin, srv, st);
  assert.equal(r.verdict, 'verified', r.sentence);
  assert.deepEqual(srv.calls, [[fixture.old_checkpoint.tree_size, fixture.checkpoint.tree_size]]);
  assert.equal(lastSeen(origin, st).tree_size, fixture.checkpoint.tree_size);
  assert.equal(lastSeen(origin, st).root_hash, fixture.checkpoint.root_hash);
  // Unchanged log: same size, same root, no proof needed.
  const again = server(fixture.checkpoint);
  assert.equal((await checkCheckpoint(origin, again, st)).verdict, 'verified');
  assert.deepEqual(again.calls, []);
});

test('a tampered proof fails and the kept checkpoint stays the old one', async () => {
  const st = new MemoryStorage();
  await checkCheckpoint(origin, server(fixture.old_checkpoint), st);
  const bad = { ...fixture.consistency, proof: fixture.consistency.proof.map((p, i) => (i === 0 ? `${p.slice(0, -1)}${p.endsWith('0') ? '1' : '0'}` : p)) };
  const r = await checkCheckpoint(origin, server(fixture.checkpoint, bad), st);
  assert.equal(r.verdict, 'failed');
  assert.match(r.sentence, /not consistent/);
  assert.equal(lastSeen(origin, st).tree_size, fixture.old_checkpoint.tree_size);
});

test('a proof for other sizes than asked fails', async () => {
  const st = new MemoryStorage();
  await checkCheckpoint(origin, server(fixture.old_checkpoint), st);
  const r = await checkCheckpoint(origin, server(fixture.checkpoint, { ...fixture.consistency, from: 1 }), st);
  assert.equal(r.verdict, 'failed');
});

test('a log that shrank fails', async () => {
  const st = new MemoryStorage();
  await checkCheckpoint(origin, server(fixture.checkpoint), st);
  const r = await checkCheckpoint(origin, server(fixture.old_checkpoint), st);
  assert.equal(r.verdict, 'failed');
  assert.match(r.sentence, /shrank/);
});

test('a changed signed field fails and nothing is pinned or kept', async () => {
  const st = new MemoryStorage();
  const r = await checkCheckpoint(origin, server({ ...fixture.checkpoint, tree_size: fixture.checkpoint.tree_size + 1 }), st);
  assert.equal(r.verdict, 'failed');
  assert.match(r.sentence, /signature does not match/);
  assert.equal(pinnedKey(origin, st), null);
  assert.equal(lastSeen(origin, st), null);
});

test('a key other than the pinned one fails with a clear sentence, and pasting a key pins it', async () => {
  const st = new MemoryStorage();
  const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
  assert.equal(pinKey(origin, other, 'pasted', st).ok, true);
  const r = await checkCheckpoint(origin, server(fixture.checkpoint), st);
  assert.equal(r.verdict, 'failed');
  assert.equal(r.keyChanged, true);
  assert.match(r.sentence, /different key/);
  assert.equal(pinKey(origin, fixture.checkpoint.public_key, 'pasted', st).ok, true);
  const ok = await checkCheckpoint(origin, server(fixture.checkpoint), st);
  assert.equal(ok.verdict, 'first');
  assert.equal(pinnedKey(origin, st).source, 'pasted');
});

test('pasting something that is not an Ed25519 public key is refused', () => {
  const st = new MemoryStorage();
  assert.equal(pinKey(origin, 'hello', 'pasted', st).ok, false);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' });
  assert.equal(pinKey(origin, rsa, 'pasted', st).ok, false);
  assert.equal(pinnedKey(origin, st), null);
});

test('a WebCrypto without Ed25519 gives the unsupported verdict', async () => {
  const subtle = globalThis.crypto.subtle;
  const original = subtle.importKey;
  subtle.importKey = async () => {
    throw new DOMException('Unrecognized name.', 'NotSupportedError');
  };
  try {
    const r = await checkCheckpoint(origin, server(fixture.checkpoint), new MemoryStorage());
    assert.equal(r.verdict, 'unsupported');
  } finally {
    subtle.importKey = original;
  }
});
