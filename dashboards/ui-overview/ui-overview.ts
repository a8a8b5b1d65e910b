// Dashboard widget with the headline figures: total oil and gas, active wells, open P1 alerts
// and the time of the last update.
import type { Node, NodeAPI } from 'node-red';

import { OverviewStore } from '../lib/overview-store';
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

const TYPE = 'ul-ui-overview';

interface UiOverviewConfig extends WidgetNodeConfig {
    activeWindowMinutes: string | number;
}

export default function register(RED: NodeAPI): void {
    function UiOverviewNode(this: Node, config: UiOverviewConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        const activeWindowMinutes = integerOption(config.activeWindowMinutes, 10, 1, 10_080);
        if (activeWindowMinutes === undefined) {
            reportInvalidOption(RED, node, TYPE, 'activeWindowMinutes', config.activeWindowMinutes, '1 to 10080 minutes');
            return;
        }
        const page = resolvePage(RED, node, config, TYPE);
        if (!page) return;

        const store = new OverviewStore(node.id, config.name || '', { activeWindowMinutes });
        const showTotals = deferredStatus(node, () => {
            const summary = store.summarize({ kind: 'all' }, page.registry);
            return RED._(`${TYPE}.status.totals`, { oil: Math.round(summary.total_oil_bopd), wells: summary.active_wells });
        });
        attachStore(node, page, store);
        seedFromRuntime(node, page.runtime, {
            readings: (readings) => store.addReadings(readings, null),
            events: (events) => store.addEvents(events, null),
        });

        node.on('input', (msg, _send, done) => {
            handleWidgetInput(RED, node, TYPE, msg, done, { readings: true, events: true }, (input) => {
                const wrongUnit = store.addReadings(input.readings);
                store.addEvents(input.events);
                page.noteAssets(input.readings.map((reading) => reading.asset_id));
                const items: unknown[] = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
                for (const reading of wrongUnit) {
                    input.invalid.push({
                        index: items.indexOf(reading),
                        reason: `${reading.metric} of ${reading.asset_id} is in ${reading.unit}, not the canonical unit, so it is left out of the totals`,
                    });
                }
                showTotals();
            });
        });
    }

    RED.nodes.registerType(TYPE, UiOverviewNode);
}
