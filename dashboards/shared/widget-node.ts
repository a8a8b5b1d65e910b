// Steps every dashboard widget node shares: finding its page, reading numeric options, loading
// its first state from the runtime, and turning msg.payload into items the widget shows.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';

import { toError } from '../../lib/errors';
import type { RuntimeContext } from '../../lib/runtime-context';
import type { AlertEvent, Reading } from '../../lib/types';
import { invalidInputError, parseWidgetInput, type Accepts, type WidgetInput } from '../lib/inputs';
import type { WidgetStore } from '../lib/widget-store';
import type { UiPageNode } from '../ui-page/ui-page';
import { setStatus } from '../../nodes/shared/status';

export interface WidgetNodeConfig extends NodeDef {
    page: string;
}

/**
 * Returns the widget's page node, or reports the missing page once (error and red badge) and
 * returns undefined. `type` is the node type, which is also its message catalogue namespace.
 */
export function resolvePage(RED: NodeAPI, node: Node, config: WidgetNodeConfig, type: string): UiPageNode | undefined {
    const page = RED.nodes.getNode(config.page) as UiPageNode | null;
    if (page && typeof page.addWidget === 'function') return page;
    node.error(RED._(`${type}.errors.missing-page`));
    setStatus(node, 'failed', RED._(`${type}.status.not-configured`));
    return undefined;
}

/** Reads a whole-number option in [min, max]; blank means the default. Returns undefined when invalid. */
export function integerOption(value: unknown, fallback: number, min: number, max: number): number | undefined {
    if (value === undefined || value === null || value === '') return fallback;
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) return undefined;
    return number;
}

/** Reports an invalid option once (error and red badge); the node then handles no input. */
export function reportInvalidOption(RED: NodeAPI, node: Node, type: string, option: string, value: unknown, range: string): void {
    node.error(RED._(`${type}.errors.invalid-option`, { option, value: String(value), range }));
    setStatus(node, 'failed', RED._(`${type}.status.not-configured`));
}

/**
 * Loads the widget's first state from the runtime: the latest reading per asset and metric and the
 * recent alert events. Missing functions are skipped; a failure is logged as a warning.
 */
export function seedFromRuntime(
    node: Node,
    runtime: RuntimeContext,
    handlers: { readings?: (readings: Reading[]) => void; events?: (events: AlertEvent[]) => void },
): void {
    const readingsHandler = handlers.readings;
    if (readingsHandler && runtime.latestReadings) {
        runtime.latestReadings().then(readingsHandler, (err: unknown) => {
            node.warn(`Loading the latest readings for the dashboard failed: ${toError(err).message}; the widget starts empty.`);
        });
    }
    const eventsHandler = handlers.events;
    if (eventsHandler && runtime.recentEvents) {
        runtime.recentEvents().then(eventsHandler, (err: unknown) => {
            node.warn(`Loading the recent alert events for the dashboard failed: ${toError(err).message}; the widget starts empty.`);
        });
    }
}

/**
 * Handles one input message: parses msg.payload, hands the usable items to `apply`, and completes
 * the message. Items that were not usable fail the message with one error that names them.
 */
export function handleWidgetInput(
    RED: NodeAPI,
    node: Node,
    type: string,
    msg: NodeMessageInFlow,
    done: (err?: Error) => void,
    accepts: Accepts,
    apply: (input: WidgetInput) => void,
): void {
    let input: WidgetInput;
    try {
        input = parseWidgetInput(msg.payload, accepts);
    } catch (err) {
        setStatus(node, 'failed', RED._(`${type}.status.invalid-input`));
        done(toError(err));
        return;
    }
    try {
        apply(input);
    } catch (err) {
        setStatus(node, 'failed', RED._(`${type}.status.update-failed`));
        done(toError(err));
        return;
    }
    if (input.invalid.length > 0) {
        setStatus(node, 'failed', RED._(`${type}.status.invalid-input`));
        const total = Array.isArray(msg.payload) ? msg.payload.length : 1;
        done(invalidInputError(input, total));
        return;
    }
    done();
}

/** Registers the store with the page and removes it when the node closes. */
export function attachStore(node: Node, page: UiPageNode, store: WidgetStore, onClose?: () => void): void {
    page.addWidget(store);
    node.on('close', (_removed: boolean, done: () => void) => {
        page.removeWidget(store.config.id);
        onClose?.();
        done();
    });
}

/**
 * Returns a function that updates the badge from `describe` at most once per interval, so that
 * the badge text is computed only when it is shown.
 */
export function deferredStatus(node: Node, describe: () => string, intervalMs = 1_000): () => void {
    let timer: NodeJS.Timeout | undefined;
    node.on('close', () => clearTimeout(timer));
    return () => {
        if (timer) return;
        timer = setTimeout(() => {
            timer = undefined;
            setStatus(node, 'ok', describe());
        }, intervalMs);
    };
}
