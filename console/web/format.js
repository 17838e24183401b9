// Pure formatting helpers (no DOM): times in UTC with relative hints, and the
// TLP level of a STIX object from its object_marking_refs. Node's unit tests
// import this module directly.

const units = [
  ['year', 365 * 24 * 3600, true],
  ['month', 30 * 24 * 3600, true],
  ['day', 24 * 3600, true],
  ['h', 3600, false],
  ['min', 60, false],
  ['s', 1, false],
];

// "3 min ago", "in 2 h", "just now". `now` is a Date or milliseconds.
export function relativeTime(iso, now = Date.now()) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '';
  const nowMs = now instanceof Date ? now.getTime() : now;
  const diff = Math.round((nowMs - then) / 1000);
  const abs = Math.abs(diff);
  if (abs < 10) return 'just now';
  for (const [name, secs, plural] of units) {
    if (abs >= secs) {
      const n = Math.floor(abs / secs);
      const word = plural && n !== 1 ? `${name}s` : name;
      return diff >= 0 ? `${n} ${word} ago` : `in ${n} ${word}`;
    }
  }
  return 'just now';
}

// A Date as RFC 3339 UTC text (whole seconds when there is no fraction).
export function utcText(date) {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

// The STIX 2.1 marking-definition ids of TLP 1.0 and TLP 2.0 (as in
// formats/tlp.cpp on the server).
export const tlpMarkings = new Map([
  ['marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9', 'clear'], // 1.0 white
  ['marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da', 'green'],
  ['marking-definition--f88d31f6-486f-44da-b317-01333bde0b82', 'amber'],
  ['marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed', 'red'],
  ['marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487', 'clear'], // 2.0
  ['marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb', 'green'],
  ['marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421', 'amber'],
  ['marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003', 'amber+strict'],
  ['marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1', 'red'],
]);

const tlpOrder = ['clear', 'green', 'amber', 'amber+strict', 'red'];

// The object's TLP level ('clear' ... 'red'), or null when no TLP marking is
// among its object_marking_refs. Several TLP markings: the most restrictive,
// as the server's policy reads them.
export function tlpOfObject(object) {
  const refs = object && Array.isArray(object.object_marking_refs) ? object.object_marking_refs : [];
  let best = -1;
  for (const ref of refs) {
    const level = tlpMarkings.get(ref);
    if (level !== undefined) best = Math.max(best, tlpOrder.indexOf(level));
  }
  return best < 0 ? null : tlpOrder[best];
}

// Badge text for a level name as the server writes it ('amber+strict',
// 'white', 'TLP:AMBER', ...); null or unknown -> 'unmarked'.
export function tlpLabel(level) {
  if (typeof level !== 'string' || level === '') return 'unmarked';
  let l = level.trim().toLowerCase();
  if (l.startsWith('tlp:')) l = l.slice(4);
  if (l === 'white') l = 'clear';
  if (!tlpOrder.includes(l)) return 'unmarked';
  return `TLP:${l.toUpperCase()}`;
}

// CSS class suffix for a badge label: 'TLP:AMBER+STRICT' -> 'amber-strict'.
export function tlpClass(label) {
  return label === 'unmarked' ? 'unmarked' : label.slice(4).toLowerCase().replace('+', '-');
}
