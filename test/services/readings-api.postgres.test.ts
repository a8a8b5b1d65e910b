// GET /v1/readings on a real PostgreSQL store: automatic resolution, units and quality, and the
// next cursor of raw pages.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Principal } from '../../lib/auth/types';
import { closeAllStores, openStore, type StoreHandle } from '../../lib/store/index';
import type { Reading } from '../../lib/types';
import { createApiRouter } from '../../runtime/api/routes';
import { postgresTarget } from './store-target';

const ASSET = 'api-well';
const START = Date.parse('2017-05-01T00:00:00.000Z');
const at = (seconds: number): string => new Date(START + seconds * 1_000).toISOString();

interface ReadingsBody {
    asset_id: string;
    metric: string | null;
    resolution: string;
    count: number;
    readings: (Reading & { bucket?: string; avg?: number; count?: number })[];
    next: string | null;
}

describe('GET /v1/readings on PostgreSQL', () => {
    const target = postgresTarget();
    let store: StoreHandle;
    let server: Server;
    let baseUrl: string;

    beforeAll(async () => {
        store = await openStore(await target.createSpec());
        // The API answers 404 for assets outside the registry, so the test asset is registered.
        await store.upsertAssets([
            { asset_id: ASSET, name: ASSET, type: 'well', operator: 'acme', field: 'TEST', license: 'L1', geometry: { type: 'Point', coordinates: [1, 58] } },
        ]);
        // Two hours of one-second readings of two metrics; one minute is flagged SUSPECT.
        const readings: Reading[] = [];
        for (const metric of ['pressure_tpt', 'temp_tpt']) {
            for (let second = 0; second < 7_200; second += 1) {
                readings.push({
                    asset_id: ASSET,
                    metric,
                    ts: at(second),
                    value: second,
                    unit: metric === 'temp_tpt' ? 'degC' : 'kPa',
                    quality_flag: second >= 600 && second < 660 ? 'SUSPECT' : 'GOOD',
                });
            }
        }
        await store.writeReadings(readings);

        const admin: Principal = { sub: 'test-admin', roles: ['regulator-admin'] };
        const app = express();
        app.use('/v1', createApiRouter({ store, verifyToken: async () => admin, ingest: async () => [] }));
        server = app.listen(0, '127.0.0.1');
        await new Promise<void>((resolve) => server.once('listening', () => resolve()));
        baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
        await new Promise((resolve) => server?.close(resolve));
        await closeAllStores();
        await target.cleanup();
    });

    async function get(query: Record<string, string>): Promise<{ status: number; body: ReadingsBody & { error?: { message: string } } }> {
        const response = await fetch(`${baseUrl}/v1/readings?${new URLSearchParams({ asset_id: ASSET, ...query }).toString()}`, {
            headers: { authorization: 'Bearer test' },
        });
        return { status: response.status, body: (await response.json()) as ReadingsBody & { error?: { message: string } } };
    }

    it('should choose rollups for a range with more readings than max_points', async () => {
        const { status, body } = await get({ metric: 'pressure_tpt', from: at(0), to: at(7_200) });

        // 7,200 readings exceed the default 2,000 points; 120 one-minute rollups fit.
        expect(status).toBe(200);
        expect(body.resolution).toBe('1m');
        expect(body.count).toBe(120);
        expect(body.next).toBeNull();
        expect(body.readings[10]).toMatchObject({ bucket: at(600), ts: at(600), count: 60, avg: 629.5, value: 629.5, unit: 'kPa', quality_flag: 'SUSPECT' });
    });

    it('should honour max_points and an explicit resolution', async () => {
        const quarters = await get({ metric: 'temp_tpt', max_points: '100' });
        const raw = await get({ metric: 'temp_tpt', resolution: 'raw', from: at(0), to: at(10) });

        expect(quarters.body.resolution).toBe('15m');
        expect(quarters.body.count).toBe(8);
        expect(quarters.body.readings[0]).toMatchObject({ unit: 'degC', quality_flag: 'SUSPECT' });
        expect(raw.body.resolution).toBe('raw');
        expect(raw.body.readings[0]).toEqual({ asset_id: ASSET, metric: 'temp_tpt', ts: at(0), value: 0, unit: 'degC', quality_flag: 'GOOD' });
    });

    it('should return every raw reading when the limit allows', async () => {
        const { body } = await get({ metric: 'pressure_tpt', limit: '100000' });

        expect(body.resolution).toBe('raw');
        expect(body.count).toBe(7_200);
        expect(body.next).toBeNull();
    });

    it('should page raw readings with the next cursor', async () => {
        const times: string[] = [];
        let after: string | null = null;
        let pages = 0;
        do {
            const query: Record<string, string> = { metric: 'pressure_tpt', resolution: 'raw', limit: '5000' };
            if (after) query.after = after;
            const { body } = await get(query);
            pages += 1;
            times.push(...body.readings.map((row) => row.ts));
            after = body.next;
        } while (after !== null && pages < 5);

        expect(pages).toBe(2);
        expect(times).toHaveLength(7_200);
        expect(new Set(times).size).toBe(7_200);
    });

    it('should reject an unknown resolution and a bad max_points', async () => {
        const resolution = await get({ resolution: '5m' });
        const maxPoints = await get({ max_points: '0' });
        const after = await get({ after: 'yesterday' });

        expect(resolution.status).toBe(400);
        expect(resolution.body.error?.message).toMatch(/raw, 1m, 15m or 1h/);
        expect(maxPoints.status).toBe(400);
        expect(maxPoints.body.error?.message).toMatch(/max_points="0"/);
        expect(after.status).toBe(400);
    });

    it('should reject an unknown metric with the list of metrics', async () => {
        const { status, body } = await get({ metric: 'pressur_tpt' });

        expect(status).toBe(400);
        expect(body.error?.message).toMatch(/metric=pressur_tpt is not a known metric; use one of .*pressure_tpt/);
    });
});
