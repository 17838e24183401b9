// Checkpoint verification, with no DOM: RFC 8785 canonical JSON, Ed25519
// through WebCrypto, and the RFC 9162 (section 2.1.4.2) consistency proof
// check with WebCrypto's SHA-256. Works in the browser and in Node 20
// (globalThis.crypto), where the unit tests import it.

const subtle = () => globalThis.crypto.subtle;

// RFC 8785 (JCS): object keys sorted by UTF-16 code units, no white space,
// strings and numbers as ECMAScript's JSON.stringify writes them.
export function canonicalJson(value) {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
}

// The bytes an audit checkpoint's signature covers.
export function checkpointSignedBytes(cp) {
  const body = {
    chain_hash: cp.chain_hash,
    root_hash: cp.root_hash,
    time: cp.time,
    tree_size: cp.tree_size,
  };
  return new TextEncoder().encode(canonicalJson(body));
}

export function hexToBytes(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError('not a hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function base64ToBytes(b64) {
  const bin = atob(b64.replace(/\s+/g, ''));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// The DER bytes of a "PUBLIC KEY" PEM block; throws on anything else.
export function pemToSpki(pem) {
  const m = /-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/.exec(pem || '');
  if (!m) throw new TypeError('not a PEM public key (-----BEGIN PUBLIC KEY-----)');
  return base64ToBytes(m[1]);
}

// Two PEMs name the same key when their DER bytes are equal (line breaks and
// surrounding text do not matter).
export function samePublicKey(a, b) {
  try {
    return bytesToHex(pemToSpki(a)) === bytesToHex(pemToSpki(b));
  } catch {
    return false;
  }
}

// Whether this WebCrypto knows Ed25519 at all (an old browser may not).
export async function ed25519Supported() {
  try {
    await subtle().generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    return true;
  } catch {
    return false;
  }
}

// Verifies the checkpoint's Ed25519 signature with the key in `pem`.
// Resolves true/false; rejects with a NotSupportedError when the browser has
// no Ed25519, and with a TypeError when the PEM or signature is malformed.
export async function verifyCheckpointSignature(cp, pem) {
  const key = await subtle().importKey('spki', pemToSpki(pem), { name: 'Ed25519' }, false, [
    'verify',
  ]);
  return subtle().verify({ name: 'Ed25519' }, key, base64ToBytes(cp.signature), checkpointSignedBytes(cp));
}

async function nodeHash(left, right) {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 1;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return new Uint8Array(await subtle().digest('SHA-256', buf));
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

const isOdd = (n) => n % 2 === 1;
const half = (n) => Math.floor(n / 2);

function isPowerOfTwo(n) {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

// RFC 9162 section 2.1.4.2: does `proof` (hex strings) show that the tree of
// `first` leaves with root `firstHash` is a prefix of the tree of `second`
// leaves with root `secondHash`? Resolves {ok, reason}; `reason` says why not.
// Equal sizes need equal roots and an empty proof; size 0 has no root to
// prove anything from and is refused, as is a shrinking log.
export async function verifyConsistency({ first, second, firstHash, secondHash, proof }) {
  const fail = (reason) => ({ ok: false, reason });
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second)) {
    return fail('tree sizes must be whole numbers');
  }
  if (first <= 0) return fail('a consistency proof needs an earlier tree of at least one record');
  if (first > second) return fail(`the log shrank from ${first} to ${second} records`);
  if (!Array.isArray(proof)) return fail('the proof is not a list of hashes');
  let fh, sh, path;
  try {
    fh = hexToBytes(firstHash);
    sh = hexToBytes(secondHash);
    path = proof.map(hexToBytes);
  } catch {
    return fail('a hash in the proof or checkpoint is not hex');
  }
  if (fh.length !== 32 || sh.length !== 32 || path.some((p) => p.length !== 32)) {
    return fail('a hash is not 32 bytes long');
  }
  if (first === second) {
    if (path.length !== 0) return fail('a proof between equal sizes must be empty');
    return equalBytes(fh, sh)
      ? { ok: true, reason: 'same tree' }
      : fail('two different roots for the same tree size');
  }
  // Steps 1-7 of the RFC, verbatim.
  if (path.length === 0) return fail('the proof is empty');
  if (isPowerOfTwo(first)) path = [fh, ...path];
  let fn = first - 1;
  let sn = second - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return fail('the proof is longer than the trees allow');
    if (isOdd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return fail('the proof is shorter than the trees need');
  if (!equalBytes(fr, fh)) return fail('the proof does not lead to the earlier root');
  if (!equalBytes(sr, sh)) return fail('the proof does not lead to the new root');
  return { ok: true, reason: 'consistent' };
}
