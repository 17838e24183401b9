// The console's pure formatting: relative time hints and TLP from markings.
import test from 'node:test';
import assert from 'node:assert/strict';
import { relativeTime, utcText, tlpOfObject, tlpLabel, tlpClass } from '../../../console/web/format.js';

const now = Date.parse('2026-12-03T12:00:00Z');

test('relative times in the past and the future, with singular and plural units', () => {
  assert.equal(relativeTime('2026-12-03T12:00:00Z', now), 'just now');
  assert.equal(relativeTime('2026-12-03T11:59:55Z', now), 'just now');
  assert.equal(relativeTime('2026-12-03T11:59:30Z', now), '30 s ago');
  assert.equal(relativeTime('2026-12-03T11:57:00Z', now), '3 min ago');
  assert.equal(relativeTime('2026-12-03T09:30:00.123456Z', now), '2 h ago');
  assert.equal(relativeTime('2026-12-02T12:00:00Z', now), '1 day ago');
  assert.equal(relativeTime('2026-11-28T11:00:00Z', now), '5 days ago');
  assert.equal(relativeTime('2026-09-01T00:00:00Z', now), '3 months ago');
  assert.equal(relativeTime('2024-12-01T00:00:00Z', now), '2 years ago');
  assert.equal(relativeTime('2026-12-03T12:10:00Z', now), 'in 10 min');
  assert.equal(relativeTime('2026-12-03T12:00:00Z', new Date(now + 86400e3)), '1 day ago');
});

test('relative time of text that is not a time is empty', () => {
  assert.equal(relativeTime('yesterday', now), '');
  assert.equal(relativeTime('', now), '');
});

test('utcText writes RFC 3339 UTC, without a zero fraction', () => {
  assert.equal(utcText(new Date(now)), '2026-12-03T12:00:00Z');
  assert.equal(utcText(new Date(now + 250)), '2026-12-03T12:00:00.250Z');
});

test('TLP 2.0 and TLP 1.0 marking-definition ids give their level', () => {
  const of = (ref) => tlpOfObject({ object_marking_refs: [ref] });
  assert.equal(of('marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487'), 'clear');
  assert.equal(of('marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb'), 'green');
  assert.equal(of('marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421'), 'amber');
  assert.equal(of('marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003'), 'amber+strict');
  assert.equal(of('marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1'), 'red');
  assert.equal(of('marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9'), 'clear');
  assert.equal(of('marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da'), 'green');
  assert.equal(of('marking-definition--f88d31f6-486f-44da-b317-01333bde0b82'), 'amber');
  assert.equal(of('marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed'), 'red');
});

test('objects without a TLP marking are unmarked, other markings are ignored', () => {
  assert.equal(tlpOfObject({}), null);
  assert.equal(tlpOfObject({ object_marking_refs: [] }), null);
  assert.equal(tlpOfObject({ object_marking_refs: ['marking-definition--00000000-0000-4000-8000-000000000000'] }), null);
  assert.equal(tlpLabel(tlpOfObject({})), 'unmarked');
});

test('several TLP markings: the most restrictive wins', () => {
  const o = {
    object_marking_refs: [
      'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
      'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
      'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
    ],
  };
  assert.equal(tlpOfObject(o), 'amber+strict');
});

test('badge labels and classes from the level names the server writes', () => {
  assert.equal(tlpLabel('amber+strict'), 'TLP:AMBER+STRICT');
  assert.equal(tlpLabel('white'), 'TLP:CLEAR');
  assert.equal(tlpLabel('TLP:Green'), 'TLP:GREEN');
  assert.equal(tlpLabel('red'), 'TLP:RED');
  assert.equal(tlpLabel(null), 'unmarked');
  assert.equal(tlpLabel('purple'), 'unmarked');
  assert.equal(tlpClass('TLP:AMBER+STRICT'), 'amber-strict');
  assert.equal(tlpClass('unmarked'), 'unmarked');
});
