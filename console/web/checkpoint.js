// The checkpoint check as the console runs it, with this browser's memory in
// localStorage: the operator's key (pinned on first use, or pasted), and the
// last checkpoint that verified (tree_size, root_hash), to ask the server for
// a consistency proof from it. No DOM; `storage` defaults to localStorage.

import { verifyCheckpointSignature, verifyConsistency, samePublicKey, pemToSpki } from './verify.js';

const keyName = (origin) => `cairn.pubkey.${origin}`;
const seenName = (origin) => `cairn.checkpoint.${origin}`;
const store = (s) => s || globalThis.localStorage;

function readJson(storage, name) {
  try {
    const v = JSON.parse(store(storage).getItem(name));
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

// {pem, source: 'first-use'|'pasted', pinned_at} or null.
export const pinnedKey = (origin, storage) => readJson(storage, keyName(origin));

// {tree_size, root_hash, time} of the last checkpoint verified here, or null.
export function lastSeen(origin, storage) {
  const v = readJson(storage, seenName(origin));
  return v && Number.isSafeInteger(v.tree_size) && typeof v.root_hash === 'string' ? v : null;
}

// Pins `pem` as the operator's key; {ok, reason}.
export function pinKey(origin, pem, source, storage) {
  let der;
  try {
    der = pemToSpki(pem);
  } catch (e) {
    return { ok: false, reason: e.message };
  }
  // An Ed25519 SubjectPublicKeyInfo is 44 bytes: 12 of header, 32 of key.
  if (der.length !== 44) return { ok: false, reason: 'this is not an Ed25519 public key (44 bytes of DER expected)' };
  store(storage).setItem(keyName(origin), JSON.stringify({ pem: pem.trim(), source, pinned_at: new Date().toISOString() }));
  return { ok: true };
}

function remember(origin, cp, storage) {
  store(storage).setItem(seenName(origin), JSON.stringify({ tree_size: cp.tree_size, root_hash: cp.root_hash, time: cp.time }));
}

// Fetches the latest checkpoint through `fetchers.checkpoint()` and, when
// needed, a proof through `fetchers.consistency(from, to)`, and judges it.
// Resolves {verdict: verified|failed|unsupported|first, sentence, steps,
// checkpoint, keyChanged}. Fetch errors reject (they say nothing about the log).
export async function checkCheckpoint(origin, fetchers, storage) {
  const steps = [];
  const cp = await fetchers.checkpoint();
  const out = (verdict, sentence, extra = {}) => ({ verdict, sentence, steps, checkpoint: cp, ...extra });
  if (!cp || !Number.isSafeInteger(cp.tree_size) || typeof cp.root_hash !== 'string' || typeof cp.signature !== 'string') {
    return out('failed', 'The server\u2019s checkpoint is malformed (tree_size, root_hash or signature missing).');
  }

  const pinned = pinnedKey(origin, storage);
  let pem = cp.public_key;
  if (pinned) {
    if (!samePublicKey(pinned.pem, cp.public_key)) {
      steps.push({ ok: false, text: 'The checkpoint names a different public key from the one pinned in this browser.' });
      return out(
        'failed',
        'The server now signs with a different key from the one this browser pinned. Unless the operator tells you (by a channel you trust) that the key was replaced, treat the log as untrusted. If they confirm, paste their new key below.',
        { keyChanged: true },
      );
    }
    pem = pinned.pem;
    steps.push({ ok: true, text: pinned.source === 'pasted' ? 'The key is the one pasted into this browser.' : 'The key is the one this browser pinned on first use.' });
  } else if (typeof pem !== 'string') {
    return out('failed', 'The checkpoint carries no public key and none is pinned here; paste the operator\u2019s key below.');
  }

  let good;
  try {
    good = await verifyCheckpointSignature(cp, pem);
  } catch (e) {
    if (e && e.name === 'NotSupportedError') {
      return out('unsupported', 'This browser\u2019s WebCrypto has no Ed25519, so it cannot check the signature. Use a current browser, or `cairnd audit verify` on the server.');
    }
    steps.push({ ok: false, text: `The key or signature could not be read: ${e.message}` });
    return out('failed', 'The checkpoint\u2019s key or signature is malformed, so it cannot be trusted.');
  }
  if (!good) {
    steps.push({ ok: false, text: 'The Ed25519 signature does not match the checkpoint\u2019s fields.' });
    return out('failed', 'The signature does not match the checkpoint: it was altered, or signed with another key.');
  }
  steps.push({ ok: true, text: 'The Ed25519 signature over tree_size, root_hash, chain_hash and time is valid.' });
  let tofu = '';
  if (!pinned) {
    pinKey(origin, pem, 'first-use', storage);
    tofu = ' The key was pinned now, on first use: it is trusted because it is the one the server sent the first time. Compare it once with the operator\u2019s key.';
    steps.push({ ok: true, text: 'No key was pinned in this browser: the checkpoint\u2019s key is pinned now (trust on first use).' });
  }

  const last = lastSeen(origin, storage);
  if (!last) {
    if (cp.tree_size > 0) remember(origin, cp, storage);
    return out('first', `The signature is valid for ${cp.tree_size} records. This is the first checkpoint this browser has seen, so there is nothing yet to check consistency against; the next check will prove that the log only grew.${tofu}`);
  }
  if (cp.tree_size < last.tree_size) {
    steps.push({ ok: false, text: `This browser saw ${last.tree_size} records before; the checkpoint has ${cp.tree_size}.` });
    return out('failed', `The log shrank: this browser saw ${last.tree_size} records, the latest checkpoint has only ${cp.tree_size}. Records were removed or the log was replaced.`);
  }
  let proof = { proof: [] };
  if (cp.tree_size > last.tree_size) proof = await fetchers.consistency(last.tree_size, cp.tree_size);
  if (cp.tree_size > last.tree_size && (proof.from !== last.tree_size || proof.to !== cp.tree_size)) {
    steps.push({ ok: false, text: `Asked for a proof from ${last.tree_size} to ${cp.tree_size}, got one from ${proof.from} to ${proof.to}.` });
    return out('failed', 'The server answered with a consistency proof for other tree sizes.');
  }
  const r = await verifyConsistency({ first: last.tree_size, second: cp.tree_size, firstHash: last.root_hash, secondHash: cp.root_hash, proof: proof.proof });
  if (!r.ok) {
    steps.push({ ok: false, text: `Consistency from ${last.tree_size} to ${cp.tree_size} records: ${r.reason}.` });
    return out('failed', `The log is not consistent with the checkpoint this browser saw before (${last.tree_size} records): ${r.reason}. Earlier records may have been changed.`);
  }
  steps.push({
    ok: true,
    text: cp.tree_size === last.tree_size ? `Same ${cp.tree_size} records and the same root as the last checkpoint seen here.` : `The RFC 9162 proof shows the ${last.tree_size} records seen before are unchanged at the start of the ${cp.tree_size} now.`,
  });
  remember(origin, cp, storage);
  return out('verified', `The signature is valid and the log of ${cp.tree_size} records extends, unchanged, the ${last.tree_size} records this browser saw before.${tofu}`);
}
