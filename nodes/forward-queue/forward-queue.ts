// Store and forward at the edge: queues each message on disk and publishes it to the MQTT broker
// itself (QoS 1, persistent session), releasing the next message only after the broker's PUBACK.
import { isAbsolute, join, resolve } from 'node:path';

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { toError } from '../../lib/errors';
import type { AlertEvent } from '../../lib/types';
import { MqttForwarder, type ForwarderState } from '../../lib/forward-queue/forwarder';
import { OverflowReport } from '../../lib/forward-queue/overflow-report';
import { OverflowAlert, assetOfTopic } from '../../lib/forward-queue/overflow-alert';
import { registerGauge } from '../../lib/observability/counters';
import { ForwardQueue, QueueFullError, type WhenFull } from '../../lib/forward-queue/queue';
import { runtimeContext } from '../../lib/runtime-context';
import { readTlsFiles, type TlsFiles } from '../../lib/tls-files';
import { setStatus, type StatusState } from '../shared/status';

interface ForwardQueueConfig extends NodeDef {
    broker: string;
    clientId: string;
    /** Broker account; normally `${UL_MQTT_USERNAME}` and `${UL_MQTT_PASSWORD}`, empty for none. */
    username?: string;
    password?: string;
    /** PEM files for TLS, relative to the data folder: trusted CA, client certificate and key. */
    caFile?: string;
    certFile?: string;
    keyFile?: string;
    folder: string;
    maxMb: string | number;
    whenFull: string;
    fsyncInterval: string | number;
}

/** How often the badge refreshes the age of the oldest record, in milliseconds. */
const STATUS_INTERVAL_MS = 1000;

function formatAge(ms: number): string {
    const seconds = Math.max(0, Math.round(ms / 1000));
    if (seconds < 120) return `${seconds} s`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
    return `${Math.round(seconds / 3600)} h`;
}

export default function register(RED: NodeAPI): void {
    function ForwardQueueNode(this: Node, config: ForwardQueueConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const broker = (config.broker || '').trim();
        const clientId = (config.clientId || '').trim();
        const maxMb = Number(config.maxMb);
        const fsyncInterval = Number(config.fsyncInterval || 0);
        const whenFull = config.whenFull as WhenFull;

        const problem = !/^(mqtts?|wss?|tcp|tls):\/\//.test(broker)
            ? RED._('ul-forward-queue.errors.bad-broker', { broker })
            : !clientId
              ? RED._('ul-forward-queue.errors.missing-client-id')
              : !(maxMb > 0)
                ? RED._('ul-forward-queue.errors.bad-budget', { value: String(config.maxMb) })
                : whenFull !== 'block' && whenFull !== 'drop-oldest'
                  ? RED._('ul-forward-queue.errors.bad-when-full', { value: String(config.whenFull) })
                  : !(fsyncInterval >= 0)
                    ? RED._('ul-forward-queue.errors.bad-fsync', { value: String(config.fsyncInterval) })
                    : undefined;
        if (problem) {
            node.error(problem);
            setStatus(node, 'failed', RED._('ul-forward-queue.status.not-configured'));
            return;
        }

        const base = runtimeContext(RED.settings).dataDir ?? process.cwd();
        // Certificates and keys come from files, never from the flow file.
        let tls: TlsFiles;
        try {
            tls = readTlsFiles(config, base);
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-forward-queue.status.not-configured'));
            return;
        }
        const configured = (config.folder || '').trim();
        const folder = configured === '' ? join(base, 'forward-queue', node.id) : isAbsolute(configured) ? configured : resolve(base, configured);
        let queue: ForwardQueue;
        try {
            queue = ForwardQueue.open({ folder, maxBytes: Math.floor(maxMb * 1024 * 1024), whenFull, fsyncIntervalMs: fsyncInterval });
        } catch (err) {
            node.error(RED._('ul-forward-queue.errors.open-failed', { folder, error: toError(err).message }));
            setStatus(node, 'failed', RED._('ul-forward-queue.status.not-configured'));
            return;
        }
        const truncated = queue.stats().truncatedBytes;
        if (truncated > 0) node.warn(RED._('ul-forward-queue.warnings.truncated', { bytes: truncated, folder }));

        /** Whether the latest append was blocked, and no acknowledgement has made room since. */
        let full = false;
        let appends = 0;
        const overflow = new OverflowReport();
        const overflowAlert = new OverflowAlert(node.name || clientId);
        /** Asset of the latest record the queue took, for the overflow alert. */
        let lastAsset = clientId;
        const sendAlert = (event: AlertEvent | undefined) => {
            if (event) node.send([null, { topic: event.asset_id, payload: event } as NodeMessage]);
        };
        const showStatus = () => {
            if (forwarder.state === 'stopped') return;
            const stats = queue.stats();
            const age = stats.oldestEnqueuedAt === undefined ? '' : RED._('ul-forward-queue.status.oldest', { age: formatAge(Date.now() - stats.oldestEnqueuedAt) });
            const depth = RED._('ul-forward-queue.status.depth', { depth: stats.depth }) + age;
            const byState: Record<ForwarderState, [StatusState, string]> = {
                connecting: ['connecting', RED._('ul-forward-queue.status.connecting', { depth })],
                connected: [stats.depth > 0 ? 'busy' : 'connected', depth],
                disconnected: ['disconnected', RED._('ul-forward-queue.status.disconnected', { depth })],
                stopped: ['disabled', ''],
            };
            let [state, text] = byState[forwarder.state];
            if (full) [state, text] = ['failed', RED._('ul-forward-queue.status.full', { depth, blocked: stats.blocked })];
            else if (stats.dropped > 0) [state, text] = ['degraded', RED._('ul-forward-queue.status.dropped', { depth, dropped: stats.dropped })];
            setStatus(node, state, text);
        };
        const reportOverflow = () => {
            const summary = overflow.check(queue.stats());
            if (!summary) return;
            node.warn(RED._('ul-forward-queue.warnings.overflow', { ...summary, folder }));
            sendAlert(overflowAlert.overflowed(summary, lastAsset, folder));
        };

        let lastState: ForwarderState | undefined;
        const forwarder = new MqttForwarder({
            queue,
            brokerUrl: broker,
            clientId,
            username: (config.username || '').trim(),
            password: config.password ?? '',
            ...(Object.keys(tls).length > 0 ? { tls } : {}),
            onDelivered: (record, message) => {
                full = false;
                node.send([{ topic: message.topic, payload: message.payload, seq: record.seq, enqueued_at: new Date(record.enqueuedAt).toISOString() } as NodeMessage, null]);
                sendAlert(overflowAlert.drained(queue.stats().depth));
            },
            onStateChange: (state) => {
                if (state === 'connected') node.log(RED._('ul-forward-queue.log.connected', { broker, clientId, depth: queue.stats().depth }));
                // Logged when the link is lost, not again on each failed reconnect attempt.
                if (state === 'disconnected' && lastState === 'connected') node.log(RED._('ul-forward-queue.log.disconnected', { broker, depth: queue.stats().depth }));
                if (state === 'connected' || state === 'disconnected') lastState = state;
                showStatus();
            },
            onError: (err) => node.debug(RED._('ul-forward-queue.log.connection-error', { broker, error: err.message })),
        });
        forwarder.start();
        // Exported at the runtime's /metrics, labelled by node id.
        const labels = { node: node.id };
        const unregister = [
            registerGauge('ul_forward_queue_depth', 'Records in the edge forward queue not yet acknowledged by the broker.', labels, () => queue.stats().depth),
            registerGauge('ul_forward_queue_bytes', 'Disk space used by the edge forward queue, in bytes.', labels, () => queue.stats().bytes),
            registerGauge('ul_forward_queue_oldest_age_seconds', 'Age of the oldest record waiting in the edge forward queue; 0 when empty.', labels, () => {
                const oldest = queue.stats().oldestEnqueuedAt;
                return oldest === undefined ? 0 : (Date.now() - oldest) / 1000;
            }),
            registerGauge('ul_forward_queue_dropped', 'Records the full queue dropped unacknowledged (drop-oldest) since it opened.', labels, () => queue.stats().dropped),
            registerGauge('ul_forward_queue_blocked', 'Records the full queue refused (block) since it opened.', labels, () => queue.stats().blocked),
        ];
        const statusTimer = setInterval(() => {
            showStatus();
            reportOverflow();
        }, STATUS_INTERVAL_MS);

        node.on('input', (msg, _send, done) => {
            lastAsset = assetOfTopic(msg.topic) ?? lastAsset;
            const droppedBefore = queue.stats().dropped;
            const attempt = ++appends;
            forwarder.enqueue([msg]).then(
                () => {
                    // A blocked append fails at once and an accepted one after its fsync, so only
                    // the latest attempt decides whether the queue still counts as full.
                    if (attempt === appends) full = false;
                    if (queue.stats().dropped > droppedBefore) reportOverflow();
                    showStatus();
                    done();
                },
                (err: unknown) => {
                    if (err instanceof QueueFullError) {
                        full = true;
                        reportOverflow();
                    }
                    showStatus();
                    done(toError(err));
                },
            );
        });

        node.on('close', (_removed: boolean, done: () => void) => {
            clearInterval(statusTimer);
            for (const remove of unregister) remove();
            forwarder
                .stop()
                .then(() => queue.close())
                .catch((err: unknown) => node.warn(RED._('ul-forward-queue.warnings.close-failed', { folder, error: toError(err).message })))
                .finally(() => {
                    setStatus(node, 'disabled', RED._('ul-forward-queue.status.stopped'));
                    done();
                });
        });
    }

    RED.nodes.registerType('ul-forward-queue', ForwardQueueNode);
}
