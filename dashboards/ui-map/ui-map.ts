// Dashboard widget with the asset map: wells and pipelines from the asset registry, coloured by
// open alerts and recent data. Selecting a well on the map selects it in the trend widgets.
import type { Node, NodeAPI } from 'node-red';

import { MapStore } from '../lib/map-store';
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

const TYPE = 'ul-ui-map';

interface UiMapConfig extends WidgetNodeConfig {
    activeWindowMinutes: string | number;
}

export default function register(RED: NodeAPI): void {
    function UiMapNode(this: Node, config: UiMapConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        const activeWindowMinutes = integerOption(config.activeWindowMinutes, 10, 1, 10_080);
        if (activeWindowMinutes === undefined) {
            reportInvalidOption(RED, node, TYPE, 'activeWindowMinutes', config.activeWindowMinutes, '1 to 10080 minutes');
            return;
        }
        const page = resolvePage(RED, node, config, TYPE);
        if (!page) return;

        const store = new MapStore(node.id, config.name || '', { activeWindowMinutes });
        const showCount = deferredStatus(node, () => RED._(`${TYPE}.status.assets`, { count: page.registry.list({ kind: 'all' }).length }));
        const unsubscribe = page.registry.onChange(() => {
            store.registryChanged();
            showCount();
        });
        attachStore(node, page, store, unsubscribe);
        seedFromRuntime(node, page.runtime, {
            readings: (readings) => store.addReadings(readings),
            events: (events) => store.addEvents(events),
        });
        showCount();

        node.on('input', (msg, _send, done) => {
            handleWidgetInput(RED, node, TYPE, msg, done, { readings: true, events: true, assets: true }, (input) => {
                if (input.assets.length > 0) page.registry.upsert(input.assets);
                if (input.readings.length > 0) {
                    store.addReadings(input.readings);
                    page.noteAssets(input.readings.map((reading) => reading.asset_id));
                }
                if (input.events.length > 0) store.addEvents(input.events);
                showCount();
            });
        });
    }

    RED.nodes.registerType(TYPE, UiMapNode);
}
