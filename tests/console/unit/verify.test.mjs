// The checkpoint verifier: RFC 8785 serialisation, Ed25519 signatures and the
// RFC 9162 consistency proof check, against a checkpoint and proofs fetched
// from a real cairnd (fixture-cairnd.json) and against trees built here by the
// RFC's own definitions (MTH and SUBPROOF, sections 2.1.1 and 2.1.4.1).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import {
  canonicalJson,
  checkpointSignedBytes,
  verifyCheckpointSignature,
  verifyConsistency,
  samePublicKey,
  hexToBytes,
  bytesToHex,
} from '../../../console/web/verify.js';

const fixture = JSON.parse(readFileSync(new URL('./fixture-cairnd.json', import.meta.url)));

// --- RFC 8785 ---------------------------------------------------------------

test('canonical JSON sorts keys by UTF-16 code units and has no white space', () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 0, y: -0 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":0,"z":0}}');
  // RFC 8785 section 3.2.3: sorting by UTF-16 code units, not code points.
  assert.equal(canonicalJson({ '\u{1F600}': 1, '\uFB33': 2, '\r': 3, 1: 4 }), '{"\\r":3,"1":4,"\u{1F600}":1,"\uFB33":2}');
  assert.equal(canonicalJson('line\nquote"\u0001é'), '"line\\nquote\\"\\u0001é"');
  assert.equal(canonicalJson(1e21), '1e+21');
  assert.equal(canonicalJson(0.1), '0.1');
  assert.throws(() => canonicalJson(NaN), TypeError);
});

test('the signed bytes of a checkpoint are its four fields in key order', () => {
  const cp = { tree_size: 7, time: '2026-12-03T10:00:00Z', signature: 'x', public_key: 'y', root_hash: 'ab', chain_hash: 'cd' };
  assert.equal(
    new TextDecoder().decode(checkpointSignedBytes(cp)),
    '{"chain_hash":"cd","root_hash":"ab","time":"2026-12-03T10:00:00Z","tree_size":7}',
  );
});

// --- Ed25519 ----------------------------------------------------------------

test('the signature of a real cairnd checkpoint verifies with its key', async () => {
  for (const cp of [fixture.old_checkpoint, fixture.checkpoint]) {
    assert.equal(await verifyCheckpointSignature(cp, cp.public_key), true);
  }
});

test('a checkpoint with any signed field changed fails', async () => {
  const cp = fixture.checkpoint;
  const flip = (hex) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
  const variants = [
    { ...cp, tree_size: cp.tree_size + 1 },
    { ...cp, root_hash: flip(cp.root_hash) },
    { ...cp, chain_hash: flip(cp.chain_hash) },
    { ...cp, time: cp.time.replace(/\d(?=\D*$)/, (d) => String((Number(d) + 1) % 10)) },
  ];
  for (const v of variants) assert.equal(await verifyCheckpointSignature(v, cp.public_key), false);
});

test('a checkpoint signed by another key fails, and PEM formatting does not matter', async () => {
  const cp = fixture.checkpoint;
  const other = generateKeyPairSync('ed25519');
  const otherPem = other.publicKey.export({ type: 'spki', format: 'pem' });
  assert.equal(await verifyCheckpointSignature(cp, otherPem), false);
  // Re-signed with the other key, it verifies with that key only.
  const resigned = { ...cp, signature: sign(null, Buffer.from(checkpointSignedBytes(cp)), other.privateKey).toString('base64') };
  assert.equal(await verifyCheckpointSignature(resigned, otherPem), true);
  assert.equal(await verifyCheckpointSignature(resigned, cp.public_key), false);
  assert.equal(samePublicKey(cp.public_key, `  ${cp.public_key.replace(/\n/g, '\r\n')}\n\n`), true);
  assert.equal(samePublicKey(cp.public_key, otherPem), false);
  await assert.rejects(verifyCheckpointSignature(cp, 'not a key'), TypeError);
});

// --- RFC 9162 consistency -----------------------------------------------------

const sha = (...parts) => createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest();
const leaf = (i) => sha([0], Buffer.from(`leaf ${i}`));
const largestPow2Below = (n) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function mth(leaves) {
  if (leaves.length === 1) return leaves[0];
  const k = largestPow2Below(leaves.length);
  return sha([1], mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function subproof(m, leaves, b) {
  const n = leaves.length;
  if (m === n) return b ? [] : [mth(leaves)];
  const k = largestPow2Below(n);
  if (m <= k) return [...subproof(m, leaves.slice(0, k), b), mth(leaves.slice(k))];
  return [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}
const tree = Array.from({ length: 48 }, (_, i) => leaf(i));
const root = (n) => bytesToHex(mth(tree.slice(0, n)));
const proofOf = (m, n) => subproof(m, tree.slice(0, n), true).map(bytesToHex);

test('every consistency proof of trees up to 40 leaves verifies', async () => {
  for (let n = 2; n <= 40; n++) {
    for (let m = 1; m < n; m++) {
      const r = await verifyConsistency({ first: m, second: n, firstHash: root(m), secondHash: root(n), proof: proofOf(m, n) });
      assert.equal(r.ok, true, `${m} -> ${n}: ${r.reason}`);
    }
  }
});

test('any changed hash, root, size or length of a proof fails', async () => {
  const flip = (hex) => (hex[0] === 'f' ? '0' : 'f') + hex.slice(1);
  for (const [m, n] of [[1, 2], [3, 7], [4, 8], [5, 21], [16, 17], [13, 40]]) {
    const proof = proofOf(m, n);
    const base = { first: m, second: n, firstHash: root(m), secondHash: root(n), proof };
    for (let i = 0; i < proof.length; i++) {
      const bad = proof.slice();
      bad[i] = flip(bad[i]);
      assert.equal((await verifyConsistency({ ...base, proof: bad })).ok, false, `${m}->${n} element ${i}`);
    }
    assert.equal((await verifyConsistency({ ...base, firstHash: flip(root(m)) })).ok, false);
    assert.equal((await verifyConsistency({ ...base, secondHash: flip(root(n)) })).ok, false);
    assert.equal((await verifyConsistency({ ...base, proof: proof.slice(0, -1) })).ok, false);
    assert.equal((await verifyConsistency({ ...base, proof: [...proof, proof[0]] })).ok, false);
    assert.equal((await verifyConsistency({ ...base, second: n + 1, secondHash: root(n + 1) })).ok, false);
    if (m > 1) assert.equal((await verifyConsistency({ ...base, first: m - 1, firstHash: root(m - 1) })).ok, false);
  }
});

test('RFC 9162 edge cases: equal sizes, size 0, a shrinking log, malformed hashes', async () => {
  const same = await verifyConsistency({ first: 5, second: 5, firstHash: root(5), secondHash: root(5), proof: [] });
  assert.equal(same.ok, true);
  assert.equal((await verifyConsistency({ first: 5, second: 5, firstHash: root(5), secondHash: root(6), proof: [] })).ok, false);
  assert.equal((await verifyConsistency({ first: 5, second: 5, firstHash: root(5), secondHash: root(5), proof: [root(5)] })).ok, false);
  const zero = await verifyConsistency({ first: 0, second: 5, firstHash: root(1), secondHash: root(5), proof: proofOf(1, 5) });
  assert.equal(zero.ok, false);
  assert.match(zero.reason, /at least one record/);
  const shrink = await verifyConsistency({ first: 6, second: 5, firstHash: root(6), secondHash: root(5), proof: [] });
  assert.equal(shrink.ok, false);
  assert.match(shrink.reason, /shrank/);
  assert.equal((await verifyConsistency({ first: 3, second: 7, firstHash: root(3), secondHash: root(7), proof: [] })).ok, false);
  assert.equal((await verifyConsistency({ first: 3, second: 7, firstHash: 'zz', secondHash: root(7), proof: proofOf(3, 7) })).ok, false);
  assert.equal((await verifyConsistency({ first: 3, second: 7, firstHash: root(3), secondHash: root(7), proof: proofOf(3, 7).map((p) => p.slice(2)) })).ok, false);
  assert.equal((await verifyConsistency({ first: 1.5, second: 7, firstHash: root(3), secondHash: root(7), proof: [] })).ok, false);
  assert.equal((await verifyConsistency({ first: 3, second: 7, firstHash: root(3), secondHash: root(7), proof: null })).ok, false);
});

test('the consistency proof fetched from cairnd verifies between its two checkpoints', async () => {
  const { old_checkpoint: a, checkpoint: b, consistency: c } = fixture;
  assert.equal(c.from, a.tree_size);
  assert.equal(c.to, b.tree_size);
  const r = await verifyConsistency({ first: a.tree_size, second: b.tree_size, firstHash: a.root_hash, secondHash: b.root_hash, proof: c.proof });
  assert.equal(r.ok, true, r.reason);
});

test('a tampered cairnd proof, or an old root that was never signed, fails', async () => {
  const { old_checkpoint: a, checkpoint: b, consistency: c } = fixture;
  for (let i = 0; i < c.proof.length; i++) {
    const bad = c.proof.slice();
    const bytes = hexToBytes(bad[i]);
    bytes[31] ^= 1;
    bad[i] = bytesToHex(bytes);
    const r = await verifyConsistency({ first: a.tree_size, second: b.tree_size, firstHash: a.root_hash, secondHash: b.root_hash, proof: bad });
    assert.equal(r.ok, false, `element ${i}`);
  }
  const other = bytesToHex(sha('not the old root'));
  assert.equal((await verifyConsistency({ first: a.tree_size, second: b.tree_size, firstHash: other, secondHash: b.root_hash, proof: c.proof })).ok, false);
  // The same proof does not prove other sizes.
  assert.equal((await verifyConsistency({ first: a.tree_size + 1, second: b.tree_size, firstHash: a.root_hash, secondHash: b.root_hash, proof: c.proof })).ok, false);
});
