// POST /v1/ingest: signed JSON lines, each verified and normalized on its own. Accepted readings
// are stored before the response is sent, then published on the bus so rules and live views see
// them exactly like readings that arrived over MQTT.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';

import type { Principal } from '../lib/auth/types';
import type { BusTransport } from '../lib/bus/memory';
import { groupByAsset, normalize } from '../lib/normalize/normalize';
import { RecentKeys } from '../lib/normalize/recent-keys';
import { verifyIngestLine } from '../lib/signing/ingest';
import { DeviceRegistry } from '../lib/signing/registry';
import { SequenceState } from '../lib/signing/sequence';
import type { Store } from '../lib/store/types';
import type { Asset, Reading, Rejection } from '../lib/types';
import type { IngestHandler, IngestLineResult } from './api/routes';

export interface IngestDependencies {
    store: Store;
    bus: BusTransport;
    registryFile: string;
    assets: () => Promise<Asset[]>;
}

const SOURCE = 'api:ingest';

export function createIngestHandler(deps: IngestDependencies): IngestHandler {
    let registry: DeviceRegistry | undefined;
    // NOTE: the API keeps its own anti-replay state, separate from the MQTT verifier node's, so an
    // envelope sent by both paths is accepted twice (its readings are stored once).
    const sequences = new SequenceState();
    const seen = new RecentKeys(100_000);

    return async (lines: string[], principal: Principal) => {
        const batch = randomUUID();
        const now = new Date();
        const assets = new Map((await deps.assets()).map((asset) => [asset.asset_id, asset]));
        if (!registry && existsSync(deps.registryFile)) registry = new DeviceRegistry(deps.registryFile);

        const results: IngestLineResult[] = [];
        const accepted: Reading[] = [];
        const rejections: Rejection[] = [];

        lines.forEach((text, index) => {
            const line = index + 1;
            const ref = `${batch}#${line}`;
            const reject = (rejection: Rejection) => {
                rejections.push({ ...rejection, ref });
                results.push({ line, status: 'rejected', code: rejection.code, reason: rejection.reason });
            };
            if (!registry) {
                reject({ source: SOURCE, code: 'unknown_device', reason: `No device registry at ${deps.registryFile}; register devices before sending readings.`, payload: text, received_at: now.toISOString() });
                return;
            }
            const verified = verifyIngestLine(text, registry, sequences, SOURCE, { now });
            if (!verified.ok) {
                reject(verified.rejection);
                return;
            }
            const { envelope } = verified;
            if (principal.roles.includes('operator') && !principal.roles.includes('regulator-admin') && envelope.operator !== principal.operator) {
                reject({
                    source: SOURCE,
                    code: 'operator_mismatch',
                    field: 'operator',
                    value: envelope.operator,
                    reason: `Envelope operator "${envelope.operator}" differs from the token's operator "${principal.operator}"; send readings of your own operator only.`,
                    payload: envelope,
                    received_at: now.toISOString(),
                });
                return;
            }
            const result = normalize(envelope.readings, {
                source: SOURCE,
                ref,
                now: now.getTime(),
                assets,
                device: { device_id: envelope.device_id, operator: envelope.operator, assets: registry.get(envelope.device_id)?.assets },
                seen,
            });
            accepted.push(...result.clean);
            rejections.push(...result.rejected);
            const problems = result.rejected.map((rejection) => ({ code: rejection.code, field: rejection.field, reason: rejection.reason }));
            if (result.clean.length === 0 && problems.length > 0) {
                results.push({ line, status: 'rejected', code: problems[0].code, reason: problems[0].reason, rejected_readings: problems.length, problems });
                return;
            }
            // Readings outside their plausible range are stored but flagged BAD; the caller hears why.
            const flagged = result.flagged.map((note) => ({ code: note.code, field: `${note.asset_id}/${note.metric}`, reason: note.reason }));
            results.push({
                line,
                status: 'accepted',
                readings: result.clean.length,
                rejected_readings: problems.length,
                flagged_readings: flagged.length,
                // Readings already received (the same asset, metric and time) are not stored again.
                duplicate_readings: result.duplicates,
                ...(problems.length ? { problems } : {}),
                ...(flagged.length ? { flagged } : {}),
            });
        });

        // Durable first: the caller's 200 means the readings are stored.
        if (accepted.length) await deps.store.writeReadings(accepted);
        if (rejections.length) await deps.store.writeQuarantine(rejections);
        for (const [assetId, readings] of groupByAsset(accepted)) await deps.bus.publish('telemetry.clean', assetId, readings);
        return results;
    };
}
