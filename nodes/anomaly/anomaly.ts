// Runs an anomaly detector (robust z-score, isolation forest or forecast versus actual) on clean
// readings and emits alert events as anomalies open and clear. In forecast mode it also emits the
// next-24-hour forecast of each modelled series on a third output. Detection lives in lib/anomaly.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { AnomalyEngine } from '../../lib/anomaly/engine';
import { dueForecasts, ForecastSchedule, parseForecastEvery, type ForecastPayload } from '../../lib/anomaly/forecast-payload';
import { checkReadings } from '../../lib/reading-input';
import { parseAnomalyConfig, type RawAnomalyConfig } from '../../lib/anomaly/settings';
import { toError } from '../../lib/errors';
import type { AlertEvent } from '../../lib/types';
import { setStatus, throttledStatus } from '../shared/status';

type AnomalyConfig = NodeDef & RawAnomalyConfig & { forecastEvery?: unknown };

function eventMessages(events: AlertEvent[]): NodeMessage[] {
    return events.map((event) => ({ topic: event.asset_id, payload: event }) as NodeMessage);
}

function forecastMessages(forecasts: ForecastPayload[]): NodeMessage[] {
    return forecasts.map((forecast) => ({ topic: forecast.asset_id, payload: forecast }) as NodeMessage);
}

export default function register(RED: NodeAPI): void {
    function AnomalyNode(this: Node, config: AnomalyConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        let engine: AnomalyEngine;
        // Forecasts are sent only by the forecast detector.
        let schedule: ForecastSchedule | undefined;
        try {
            engine = new AnomalyEngine(parseAnomalyConfig(config));
            if (engine.settings.detector === 'forecast') schedule = new ForecastSchedule(parseForecastEvery(config.forecastEvery));
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
            // Counting open alerts walks every asset, so it waits until the badge is shown.
            status(() => {
                const open = engine.openCount;
                if (learningAssets.size > 0 && open === 0) return { state: 'busy', text: RED._('ul-anomaly.status.learning', { count: learningAssets.size }) };
                return { state: 'ok', text: RED._('ul-anomaly.status.open', { count: open }) };
            });
        }

        node.on('input', (msg, send, done) => {
            try {
                const { readings, rejections } = checkReadings(msg.payload, source, new Date(), 'anomaly');
                const events = engine.process(readings);
                const forecasts = schedule ? dueForecasts(engine, readings, schedule) : [];
                const rejected = rejections.length > 0 ? ({ topic: msg.topic, payload: rejections } as NodeMessage) : null;
                if (events.length > 0 || rejected || forecasts.length > 0) send([eventMessages(events), rejected, forecastMessages(forecasts)]);
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
