// Dashboard widget with the live alert feed: open alerts first, with Acknowledge and Resolve
// buttons that call the REST API as the signed-in user.
import type { Node, NodeAPI } from 'node-red';

import { AlertsStore } from '../lib/alerts-store';
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

const TYPE = 'ul-ui-alerts';

interface UiAlertsConfig extends WidgetNodeConfig {
    maxEvents: string | number;
}

export default function register(RED: NodeAPI): void {
    function UiAlertsNode(this: Node, config: UiAlertsConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        const maxEvents = integerOption(config.maxEvents, 200, 10, 10_000);
        if (maxEvents === undefined) {
            reportInvalidOption(RED, node, TYPE, 'maxEvents', config.maxEvents, '10 to 10000');
            return;
        }
        const page = resolvePage(RED, node, config, TYPE);
        if (!page) return;

        const store = new AlertsStore(node.id, config.name || '', { maxEvents });
        const showCount = deferredStatus(node, () => RED._(`${TYPE}.status.open`, { count: store.openCount }));
        attachStore(node, page, store);
        seedFromRuntime(node, page.runtime, {
            events: (events) => {
                store.addEvents(events);
                showCount();
            },
        });

        node.on('input', (msg, _send, done) => {
            handleWidgetInput(RED, node, TYPE, msg, done, { events: true }, (input) => {
                store.addEvents(input.events);
                page.noteAssets(input.events.map((event) => event.asset_id));
                showCount();
            });
        });
    }

    RED.nodes.registerType(TYPE, UiAlertsNode);
}
