// Stores readings in batches across messages. A message is passed on, and its done() called,
// only after the transaction holding its readings has committed.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';

import { carryDelivery } from '../../lib/bus/delivery';
import { incrementCounter, registerGauge } from '../../lib/observability/counters';
import { registerPending } from '../../lib/drain';
import { toError } from '../../lib/errors';
import { BATCH_DEFAULTS, BatchWriter } from '../../lib/store/batch-writer';
import { checkReadings } from '../../lib/store/reading-check';
import type { StoreConfigNode } from '../store/store';
import { setStatus, throttledStatus } from '../shared/status';

interface StoreWriteConfig extends NodeDef {
    store: string;
    batchSize: string | number;
    maxWaitMs: string | number;
    maxBuffered: string | number;
    /** `all` (default) passes on every reading; `new` only readings stored for the first time. */
    passOn?: string;
}

/** How long closing waits for buffered readings to be written. */
const CLOSE_FLUSH_MS = 10_000;

/** Reads a whole-number setting; blank means the default. Returns undefined when invalid. */
function intSetting(value: string | number | undefined, fallback: number, min: number, max: number): number | undefined {
    if (value === undefined || value === '') return fallback;
    const number = Number(value);
    return Number.isInteger(number) && number >= min && number <= max ? number : undefined;
}

export default function register(RED: NodeAPI): void {
    function StoreWriteNode(this: Node, config: StoreWriteConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const storeNode = RED.nodes.getNode(config.store) as StoreConfigNode | null;
        const batchSize = intSetting(config.batchSize, BATCH_DEFAULTS.batchSize, 1, 100_000);
        const maxWaitMs = intSetting(config.maxWaitMs, BATCH_DEFAULTS.maxWaitMs, 0, 60_000);
        const maxBuffered = intSetting(config.maxBuffered, BATCH_DEFAULTS.maxBuffered, 1, 10_000_000);

        if (!storeNode) {
            node.error(RED._('ul-store-write.errors.missing-store'));
            setStatus(node, 'failed', RED._('ul-store-write.status.not-configured'));
            return;
        }
        if (batchSize === undefined || maxWaitMs === undefined || maxBuffered === undefined || maxBuffered < batchSize) {
            node.error(RED._('ul-store-write.errors.invalid-settings', { batchSize: config.batchSize, maxWaitMs: config.maxWaitMs, maxBuffered: config.maxBuffered }));
            setStatus(node, 'failed', RED._('ul-store-write.status.not-configured'));
            return;
        }
        const passOn = config.passOn === undefined || config.passOn === '' ? 'all' : config.passOn;
        if (passOn !== 'all' && passOn !== 'new') {
            node.error(RED._('ul-store-write.errors.invalid-pass-on', { value: passOn }));
            setStatus(node, 'failed', RED._('ul-store-write.status.not-configured'));
            return;
        }

        storeNode.register(node);
        // Opening early lets a fresh embedded database initialise before the first message.
        storeNode.getStore().catch(() => undefined);

        const status = throttledStatus(node, 1_000);
        let stored = 0;
        let rateWindow = { started: Date.now(), readings: 0, perSecond: 0 };

        const writer = new BatchWriter({
            batchSize,
            maxWaitMs,
            maxBuffered,
            write: async (readings) => (await storeNode.getStore()).writeReadings(readings),
            listener: {
                written: ({ inserted, readings, durationMs }) => {
                    stored += inserted;
                    incrementCounter('ul_store_batches_total', 'Batches of readings committed by the store writers.', {});
                    incrementCounter('ul_store_batch_seconds_total', 'Time from the start of each committed batch write to its commit, added up.', {}, durationMs / 1_000);
                    incrementCounter('ul_readings_stored_total', 'Readings stored for the first time.', {}, inserted);
                    incrementCounter('ul_readings_duplicate_total', 'Readings already stored; they changed nothing.', {}, readings - inserted);
                    const now = Date.now();
                    rateWindow.readings += readings;
                    const elapsed = now - rateWindow.started;
                    if (elapsed >= 1_000) {
                        rateWindow = { started: now, readings: 0, perSecond: Math.round((rateWindow.readings * 1_000) / elapsed) };
                    }
                    status('ok', () => RED._('ul-store-write.status.stored', { count: stored, rate: rateWindow.perSecond }));
                },
                // NOTE: Node-RED cannot slow down the node that sends to this one, so held messages
                // still occupy memory. A sender that outpaces the database for long exhausts it.
                waiting: (waiting) => {
                    if (waiting) setStatus(node, 'busy', RED._('ul-store-write.status.waiting'));
                },
                retrying: (error, attempt, delayMs) => {
                    node.warn(RED._('ul-store-write.errors.retrying', { attempt, delay: delayMs, error: error.message }));
                    status('connecting', RED._('ul-store-write.status.retrying', { attempt }));
                },
                failed: () => status('failed', RED._('ul-store-write.status.write-failed')),
            },
        });

        node.on('input', (msg: NodeMessageInFlow, send, done) => {
            const items: unknown[] = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
            const { readings, rejections } = checkReadings(items);
            if (rejections.length > 0) send([null, carryDelivery(msg, { topic: msg.topic, payload: rejections })]);

            writer.submit(readings).then(
                ({ storedFlags, ...result }) => {
                    if (passOn === 'new' && storedFlags) {
                        // Readings stored before (a report imported again) are not passed on as new.
                        const fresh = readings.filter((_reading, index) => storedFlags[index]);
                        if (fresh.length > 0) send([Object.assign(msg, { payload: fresh, stored: result }), null]);
                        done();
                        return;
                    }
                    send([Object.assign(msg, { stored: result }), null]);
                    done();
                },
                (error: unknown) => {
                    setStatus(node, 'failed', RED._('ul-store-write.status.write-failed'));
                    done(toError(error));
                },
            );
        });

        // A graceful runtime stop waits until this writer has committed everything it buffered.
        const unregisterPending = registerPending(() => writer.pendingReadings);
        const unregisterGauge = registerGauge('ul_store_write_pending_readings', 'Readings buffered by a store writer and not yet committed.', { node: node.id }, () => writer.pendingReadings);

        node.on('close', (_removed: boolean, done: () => void) => {
            unregisterPending();
            unregisterGauge();
            void writer.close(CLOSE_FLUSH_MS).finally(() => {
                storeNode.deregister(node);
                done();
            });
        });
    }

    RED.nodes.registerType('ul-store-write', StoreWriteNode);
}
