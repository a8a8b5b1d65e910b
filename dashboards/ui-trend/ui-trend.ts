// Dashboard widget with a live line chart of one asset's metric, chosen in the browser. Keeps
// the newest points of every asset and metric in memory, and draws the latest forecast of the
// series after its live points.
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';

import { looksLikeForecast } from '../../lib/anomaly/forecast-payload';
import { toError } from '../../lib/errors';
import { canonicalUnit } from '../../lib/metrics';
import { setStatus } from '../../nodes/shared/status';
import { invalidForecastError, parseForecastInput, TrendStore } from '../lib/trend-store';
import {
    attachStore,
    deferredStatus,
    handleWidgetInput,
    integerOption,
    reportInvalidOption,
    resolvePage,
    seedFromRuntime,
    type WidgetNodeConfig,
} from '../shared/widget-node';

const TYPE = 'ul-ui-trend';

interface UiTrendConfig extends WidgetNodeConfig {
    points: string | number;
    metric: string;
}

/** True when msg.payload carries forecasts: a forecast payload, or an array that starts with one. */
function isForecastMessage(payload: unknown): boolean {
    return looksLikeForecast(Array.isArray(payload) ? payload[0] : payload);
}

export default function register(RED: NodeAPI): void {
    function UiTrendNode(this: Node, config: UiTrendConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        const points = integerOption(config.points, 900, 10, 100_000);
        if (points === undefined) {
            reportInvalidOption(RED, node, TYPE, 'points', config.points, '10 to 100000');
            return;
        }
        const metric = (config.metric || '').trim() || 'oil_rate';
        if (!canonicalUnit(metric)) node.warn(RED._(`${TYPE}.warnings.unknown-metric`, { metric }));
        const page = resolvePage(RED, node, config, TYPE);
        if (!page) return;

        const store = new TrendStore(node.id, config.name || '', { points, metric });
        const showCount = deferredStatus(node, () =>
            store.forecastCount > 0
                ? RED._(`${TYPE}.status.series-forecasts`, { count: store.seriesCount, forecasts: store.forecastCount })
                : RED._(`${TYPE}.status.series`, { count: store.seriesCount }),
        );
        attachStore(node, page, store);
        seedFromRuntime(node, page.runtime, { readings: (readings) => store.addReadings(readings) });

        /** Stores the forecasts of one message; items that are not forecasts fail the message. */
        function handleForecasts(msg: NodeMessageInFlow, done: (err?: Error) => void): void {
            try {
                const input = parseForecastInput(msg.payload);
                store.setForecasts(input.forecasts);
                showCount();
                if (input.invalid.length > 0) {
                    setStatus(node, 'failed', RED._(`${TYPE}.status.invalid-input`));
                    done(invalidForecastError(input, Array.isArray(msg.payload) ? msg.payload.length : 1));
                    return;
                }
                done();
            } catch (err) {
                setStatus(node, 'failed', RED._(`${TYPE}.status.invalid-input`));
                done(toError(err));
            }
        }

        node.on('input', (msg, _send, done) => {
            if (isForecastMessage(msg.payload)) {
                handleForecasts(msg, done);
                return;
            }
            handleWidgetInput(RED, node, TYPE, msg, done, { readings: true }, (input) => {
                store.addReadings(input.readings);
                page.noteAssets(input.readings.map((reading) => reading.asset_id));
                showCount();
            });
        });
    }

    RED.nodes.registerType(TYPE, UiTrendNode);
}
