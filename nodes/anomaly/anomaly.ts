// Runs an anomaly detector (robust z-score, isolation forest or forecast versus actual) on clean
// readings and emits alert events as anomalies open and clear. Detection lives in lib/anomaly.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { AnomalyEngine } from '../../lib/anomaly/engine';
import { checkReadings } from '../../lib/reading-input';
import { parseAnomalyConfig, type RawAnomalyConfig } from '../../lib/anomaly/settings';
import { toError } from '../../lib/errors';
import type { AlertEvent } from '../../lib/types';
import { setStatus, throttledStatus } from '../shared/status';

type AnomalyConfig = NodeDef & RawAnomalyConfig;

function eventMessages(events: AlertEvent[]): NodeMessage[] {
    return events.map((event) => ({ topic: event.asset_id, payload: event }) as NodeMessage);
}

export default function register(RED: NodeAPI): void {
    function AnomalyNode(this: Node, config: AnomalyConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        let engine: AnomalyEngine;
        try {
            engine = new AnomalyEngine(parseAnomalyConfig(config));
        } catch (err) {
            node.error(`${RED._('ul-anomaly.errors.bad-config')} ${toError(err).message}`);
            setStatus(node, 'failed', RED._('ul-anomaly.status.not-configured'));
            return;
        }
        const source = `anomaly:${node.name || node.id}`;
        const status = throttledStatus(node);
        let learningAssets = new Set<string>();
        setStatus(node, 'ok', RED._('ul-anomaly.status.waiting'));

        function showStatus(assets: Iterable<string>): void {
            for (const assetId of assets) {
                if (engine.learning(assetId)) learningAssets.add(assetId);
                else learningAssets.delete(assetId);
            }
            const open = engine.openCount;
            if (learningAssets.size > 0 && open === 0) status('busy', RED._('ul-anomaly.status.learning', { count: learningAssets.size }));
            else status('ok', RED._('ul-anomaly.status.open', { count: open }));
        }

        node.on('input', (msg, send, done) => {
            try {
                const { readings, rejections } = checkReadings(msg.payload, source, new Date(), 'anomaly');
                const events = engine.process(readings);
                const rejected = rejections.length > 0 ? ({ topic: msg.topic, payload: rejections } as NodeMessage) : null;
                if (events.length > 0 || rejected) send([eventMessages(events), rejected]);
                showStatus(new Set(readings.map((reading) => reading.asset_id)));
                done();
            } catch (err) {
                status('failed', RED._('ul-anomaly.status.failed'));
                done(toError(err));
            }
        });

        node.on('close', (_removed: boolean, done: () => void) => {
            learningAssets = new Set();
            done();
        });
    }

    RED.nodes.registerType('ul-anomaly', AnomalyNode);
}
