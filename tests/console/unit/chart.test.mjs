// The chart's model: buckets evenly spaced in UTC with missing ones as zero,
// series ordered by total, and a round top for the y axis.
import test from 'node:test';
import assert from 'node:assert/strict';
import { chartModel, niceCeil } from '../../../console/web/chart.js';

const stats = {
  bucket: 'day',
  series: [
    { account: 'partner', points: [{ time: '2026-12-01T00:00:00Z', records: 2, objects: 30 }, { time: '2026-12-03T00:00:00Z', records: 1, objects: 15 }] },
    { account: 'acme', points: [{ time: '2026-12-02T00:00:00Z', records: 4, objects: 40 }] },
    { account: 'idle', points: [] },
  ],
};

test('day buckets from since to until, zeros where the server has no point', () => {
  const m = chartModel(stats, { since: new Date('2026-11-30T13:00:00Z'), until: new Date('2026-12-03T09:00:00Z'), bucket: 'day' });
  assert.deepEqual(m.times.map((t) => new Date(t).toISOString().slice(0, 10)), ['2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03']);
  assert.deepEqual(m.series.map((s) => s.account), ['partner', 'acme']);
  assert.deepEqual(m.series[0].values, [0, 30, 0, 15]);
  assert.deepEqual(m.series[1].values, [0, 0, 40, 0]);
  assert.equal(m.series[0].total, 45);
  assert.equal(m.series[1].peakTime, '2026-12-02T00:00:00Z');
  assert.equal(m.max, 40);
});

test('the records metric and hour buckets', () => {
  const m = chartModel(
    { series: [{ account: 'a', points: [{ time: '2026-12-03T10:00:00Z', records: 3, objects: 9 }] }] },
    { since: new Date('2026-12-03T08:30:00Z'), until: new Date('2026-12-03T11:10:00Z'), bucket: 'hour', metric: 'records' },
  );
  assert.equal(m.times.length, 4);
  assert.deepEqual(m.series[0].values, [0, 0, 3, 0]);
});

test('colours cycle with a dash pattern after the palette', () => {
  const many = { series: Array.from({ length: 10 }, (_, i) => ({ account: `p${i}`, points: [{ time: '2026-12-03T00:00:00Z', records: 1, objects: 10 - i }] })) };
  const m = chartModel(many, { since: new Date('2026-12-03T00:00:00Z'), until: new Date('2026-12-03T01:00:00Z'), bucket: 'day' });
  assert.deepEqual(m.series.map((s) => [s.color, s.dash]).slice(7), [[7, 0], [0, 1], [1, 1]]);
});

test('niceCeil rounds up to 1, 2 or 5 times a power of ten', () => {
  assert.deepEqual([0, 1, 3, 7, 10, 11, 40, 99, 120, 4000].map(niceCeil), [1, 1, 5, 10, 10, 20, 50, 100, 200, 5000]);
});
