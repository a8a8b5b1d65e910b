import { describe, expect, it } from 'vitest';

import { OverflowAlert, assetOfTopic } from './overflow-alert';

const T0 = Date.parse('2026-12-04T10:00:00.000Z');

describe('assetOfTopic', () => {
    it('should take the asset from an ops topic', () => {
        expect(assetOfTopic('ops/petrobras/3w-well-00004/readings')).toBe('3w-well-00004');
        expect(assetOfTopic('ops/petrobras/alerts')).toBeUndefined();
        expect(assetOfTopic(7)).toBeUndefined();
    });
});

describe('OverflowAlert', () => {
    const summary = { dropped: 12, blocked: 0, newlyDropped: 12, newlyBlocked: 0 };

    it('should open P1 once and resolve when drained', () => {
        let now = T0;
        const alert = new OverflowAlert('store and forward', () => now);

        const opened = alert.overflowed(summary, 'well-7', '/data/q');
        const again = alert.overflowed({ ...summary, dropped: 20, newlyDropped: 8 }, 'well-7', '/data/q');
        now += 60_000;
        const notYet = alert.drained(3);
        const resolved = alert.drained(0);

        expect(opened).toMatchObject({ severity: 'P1', state: 'open', asset_id: 'well-7', opened_at: '2026-12-04T10:00:00.000Z', evidence: { newly_dropped: 12, folder: '/data/q' } });
        expect(again).toBeUndefined();
        expect(notYet).toBeUndefined();
        expect(resolved).toMatchObject({ event_id: opened?.event_id, state: 'resolved', resolved_at: '2026-12-04T10:01:00.000Z' });
        expect(alert.drained(0)).toBeUndefined();
    });

    it('should open as P2 for refused records and not for an empty report', () => {
        const alert = new OverflowAlert('q', () => T0);

        expect(alert.overflowed({ dropped: 0, blocked: 0, newlyDropped: 0, newlyBlocked: 0 }, 'well-7', '/q')).toBeUndefined();
        expect(alert.overflowed({ dropped: 0, blocked: 5, newlyDropped: 0, newlyBlocked: 5 }, 'well-7', '/q')).toMatchObject({ severity: 'P2', message: 'well-7: the forward queue q is full and refused 5 records; raise its disk budget or restore the link.' });
    });
});
