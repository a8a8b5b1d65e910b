// Dashboard widget with a live line chart of one asset's metric, chosen in the browser. Keeps
// the newest points of every asset and metric in memory.
import type { Node, NodeAPI } from 'node-red';

import { canonicalUnit } from '../../lib/metrics';
import { TrendStore } from '../lib/trend-store';
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
        const showCount = deferredStatus(node, () => RED._(`${TYPE}.status.series`, { count: store.seriesCount }));
        attachStore(node, page, store);
        seedFromRuntime(node, page.runtime, { readings: (readings) => store.addReadings(readings) });

        node.on('input', (msg, _send, done) => {
            handleWidgetInput(RED, node, TYPE, msg, done, { readings: true }, (input) => {
                store.addReadings(input.readings);
                page.noteAssets(input.readings.map((reading) => reading.asset_id));
                showCount();
            });
        });
    }

    RED.nodes.registerType(TYPE, UiTrendNode);
}
