// MQTT intake of the cloud: a persistent session (clean session off, QoS 1) whose message handler
// is attached before the client connects, so the messages the broker queued while the runtime was
// down are handled, not acknowledged into the void. Each QoS 1 message is acknowledged (PUBACK)
// only after the flow has settled it (lib/mqtt/deferred-acks.ts), so a crash leaves unhandled
// messages with the broker. On a graceful stop the node stops taking messages first, so those
// still in the broker are delivered to the next start.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { MqttClient } from 'mqtt';

import { attachDelivery, DeliveryTracker } from '../../lib/bus/delivery';
import { installDeliveryTracking, type MessageHooks } from '../../lib/bus/flow-tracking';
import { registerIntake } from '../../lib/drain';
import { toError } from '../../lib/errors';
import {
    DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_UNACKNOWLEDGED, failedMessageRejection, holdPubacks, MAX_MESSAGE_BYTES, MAX_PACKET_IDENTIFIERS,
    oversizedMessageRejection, shouldRedeliver,
    type AckTicket, type HeldPubacks,
} from '../../lib/mqtt/deferred-acks';
import { incrementCounter, registerGauge } from '../../lib/observability/counters';
import { readSubscriptions, staleSubscriptions, subscriptionRecordPath, updateSubscriptions } from '../../lib/mqtt/subscription-record';
import { runtimeContext } from '../../lib/runtime-context';
import { readTlsFiles, type TlsFiles } from '../../lib/tls-files';
import type { Rejection } from '../../lib/types';
import { setStatus } from '../shared/status';

interface MqttIngestConfig extends NodeDef {
    broker: string;
    clientId: string;
    topics: string;
    qos: string | number;
    group: string;
    /** Maximum unacknowledged QoS 1 messages; empty for 1,000. */
    maxUnacked?: string | number;
    /** Largest message in bytes that goes into the flow; larger ones are rejected. Empty for 1 MiB. */
    maxBytes?: string | number;
    /** Broker account; normally `${UL_MQTT_USERNAME}` and `${UL_MQTT_PASSWORD}`, empty for none. */
    username?: string;
    password?: string;
    /** PEM files for TLS (mqtts://), relative to the data folder; empty for none. */
    caFile?: string;
    certFile?: string;
    keyFile?: string;
}

/** Time a graceful stop waits for messages in the flow to settle and be acknowledged, in milliseconds. */
const STOP_SETTLE_MS = 5_000;

/** Splits a comma-separated topic list and, with a group, turns each into a shared subscription. */
export function subscriptionTopics(topics: string, group: string): string[] {
    const list = topics.split(',').map((topic) => topic.trim()).filter(Boolean);
    return group ? list.map((topic) => `$share/${group}/${topic}`) : list;
}

export default function register(RED: NodeAPI): void {
    // Node-RED 4 always provides hooks; without them (some test harnesses) messages are acknowledged on receipt.
    const hooks: MessageHooks | undefined = RED.hooks;
    if (hooks) installDeliveryTracking(hooks);

    function MqttIngestNode(this: Node, config: MqttIngestConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const broker = (config.broker || '').trim();
        // Several cloud runtimes may share one flow file: UL_RUNTIME_ID gives each its own client id.
        const instance = (process.env.UL_RUNTIME_ID || '').trim();
        const configuredId = (config.clientId || '').trim();
        const clientId = configuredId && instance ? `${configuredId}-${instance}` : configuredId;
        const qos = Number(config.qos ?? 1);
        const topics = subscriptionTopics(config.topics || '', (config.group || '').trim());
        const limitText = String(config.maxUnacked ?? '').trim();
        const limit = limitText === '' ? DEFAULT_MAX_UNACKNOWLEDGED : Number(limitText);
        const maxBytesText = String(config.maxBytes ?? '').trim();
        const maxBytes = maxBytesText === '' ? DEFAULT_MAX_MESSAGE_BYTES : Number(maxBytesText);

        const problem = !/^(mqtts?|wss?|tcp|tls):\/\//.test(broker)
            ? RED._('ul-mqtt-ingest.errors.bad-broker', { broker })
            : !clientId
              ? RED._('ul-mqtt-ingest.errors.missing-client-id')
              : topics.length === 0
                ? RED._('ul-mqtt-ingest.errors.missing-topics')
                : ![0, 1, 2].includes(qos)
                  ? RED._('ul-mqtt-ingest.errors.bad-qos', { qos: String(config.qos) })
                  : !Number.isInteger(limit) || limit < 1 || limit > MAX_PACKET_IDENTIFIERS
                    ? RED._('ul-mqtt-ingest.errors.bad-max-unacked', { value: limitText, max: MAX_PACKET_IDENTIFIERS })
                    : !Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_MESSAGE_BYTES
                      ? RED._('ul-mqtt-ingest.errors.bad-max-bytes', { value: maxBytesText, max: MAX_MESSAGE_BYTES })
                      : undefined;
        if (problem) {
            node.error(problem);
            setStatus(node, 'failed', RED._('ul-mqtt-ingest.status.not-configured'));
            return;
        }
        if (qos === 2) node.warn(RED._('ul-mqtt-ingest.warnings.qos-2'));
        // Certificates and keys come from files, never from the flow file.
        let tls: TlsFiles;
        try {
            tls = readTlsFiles(config, runtimeContext(RED.settings).dataDir ?? process.cwd());
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-mqtt-ingest.status.not-configured'));
            return;
        }

        // Without a data folder (a plain Node-RED) nothing is recorded and nothing is unsubscribed.
        const dataDir = runtimeContext(RED.settings).dataDir;
        const recordPath = dataDir ? subscriptionRecordPath(dataDir, clientId) : undefined;

        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mqtt = require('mqtt') as typeof import('mqtt');
        const username = (config.username || '').trim();
        const client: MqttClient = mqtt.connect(broker, {
            clientId,
            clean: false,
            reconnectPeriod: 1000,
            connectTimeout: 10_000,
            keepalive: 30,
            ...(username ? { username, password: config.password ?? '' } : {}),
            ...(Object.keys(tls).length > 0 ? { ...tls, rejectUnauthorized: true } : {}),
        });
        let acks: HeldPubacks;
        try {
            acks = holdPubacks(client, { limit });
        } catch (error) {
            client.end(true);
            node.error(toError(error).message);
            setStatus(node, 'failed', RED._('ul-mqtt-ingest.status.not-configured'));
            return;
        }
        setStatus(node, 'connecting', RED._('ul-mqtt-ingest.status.connecting'));

        const labels = { client_id: clientId };
        const removeGauge = registerGauge('ul_mqtt_unacknowledged_messages', 'QoS 1 messages received and not yet acknowledged to the broker.', labels, () => acks.queue.size);
        let overdueWarned = false;
        const tracker = new DeliveryTracker({
            onOverdue: (delivery, ageMs) => {
                if (overdueWarned) return;
                overdueWarned = true;
                node.warn(RED._('ul-mqtt-ingest.warnings.overdue', { topic: delivery.info.topic, seconds: Math.floor(ageMs / 1_000) }));
            },
        });
        let stopped = false;
        /** Number of the connection whose first redelivered failure was logged. */
        let loggedConnection = -1;

        const settled = (ticket: AckTicket): void => {
            overdueWarned = false;
            acks.queue.settle(ticket);
        };

        /** Keeps the message unacknowledged and drops the connection, so the broker delivers it again. */
        const redeliver = (ticket: AckTicket, topic: string, error: Error): void => {
            if (!acks.queue.withhold(ticket)) return;
            if (loggedConnection !== ticket.connection) {
                loggedConnection = ticket.connection;
                setStatus(node, 'failed', RED._('ul-mqtt-ingest.status.handling-failed'));
                node.warn(RED._('ul-mqtt-ingest.warnings.redeliver', { topic, error: error.message }));
            }
            if (!stopped) acks.redeliver();
        };

        /**
         * Sends a rejection on the second output and acknowledges the message once it is handled,
         * because another delivery would fail the same way and hold back every later PUBACK.
         */
        const reject = (ticket: AckTicket, msg: { topic: string; payload: string }, error: Error): void => {
            sendRejection(ticket, msg.topic, failedMessageRejection(msg.topic, msg.payload, error));
        };

        /** Sends a rejection on the second output and acknowledges the message once it is stored. */
        const sendRejection = (ticket: AckTicket, topic: string, rejection: Rejection): void => {
            const delivery = tracker.start({ topic, key: '' });
            node.send([null, attachDelivery({ topic, payload: [rejection] }, delivery)]);
            delivery.release();
            delivery.outcome.then(() => settled(ticket), (thrown: unknown) => redeliver(ticket, topic, toError(thrown)));
        };

        const failed = (ticket: AckTicket, msg: { topic: string; payload: string }, thrown: unknown): void => {
            const error = toError(thrown);
            const retrying = stopped || shouldRedeliver(error);
            incrementCounter('ul_mqtt_failed_messages_total', 'MQTT messages whose handling failed.', { ...labels, outcome: retrying ? 'redelivered' : 'rejected' });
            // A message of a closed connection comes again on the next one and is handled there.
            if (ticket.connection !== acks.queue.connection) return;
            if (retrying) redeliver(ticket, msg.topic, error);
            else reject(ticket, msg, error);
        };

        /** Sends the message with a delivery and acknowledges it once the flow has settled it. */
        const forward = (ticket: AckTicket, msg: NodeMessage & { topic: string; payload: string }): void => {
            const delivery = tracker.start({ topic: msg.topic, key: '' });
            node.send([attachDelivery(msg, delivery), null]);
            // This node's own reference; the wired nodes keep theirs until they call done().
            delivery.release();
            delivery.outcome.then(() => settled(ticket), (thrown: unknown) => failed(ticket, msg, thrown));
        };

        client.on('message', (topic, payload, packet) => {
            const ticket = packet.qos === 1 ? acks.queue.receive(packet.messageId ?? 0) : undefined;
            // Messages of a closed connection, or arriving during a stop, are delivered again later.
            if (stopped || !client.connected) {
                if (ticket) acks.queue.withhold(ticket);
                return;
            }
            incrementCounter('ul_mqtt_messages_total', 'MQTT messages received by the ingest nodes.', labels);
            if (packet.dup) incrementCounter('ul_mqtt_redelivered_messages_total', 'MQTT messages that the broker sent again (DUP flag), because an earlier delivery was not acknowledged.', labels);
            if (payload.length > maxBytes) {
                incrementCounter('ul_mqtt_oversized_messages_total', 'MQTT messages larger than the size limit of the ingest node, rejected.', labels);
                node.warn(RED._('ul-mqtt-ingest.warnings.oversized', { topic, bytes: payload.length, max: maxBytes }));
                const rejection = oversizedMessageRejection(topic, payload, maxBytes);
                if (ticket && hooks) {
                    sendRejection(ticket, topic, rejection);
                    return;
                }
                node.send([null, { topic, payload: [rejection] }]);
                if (ticket) acks.queue.settle(ticket);
                return;
            }
            const msg = { topic, payload: payload.toString('utf8'), qos: packet.qos, retain: packet.retain };
            if (ticket && hooks) {
                forward(ticket, msg);
                return;
            }
            node.send([msg, null]);
            if (ticket) acks.queue.settle(ticket);
        });
        let warnedThisOutage = false;
        client.on('connect', (connack) => {
            warnedThisOutage = false;
            setStatus(node, 'connected', RED._('ul-mqtt-ingest.status.connected'));
            node.log(RED._('ul-mqtt-ingest.log.connected', { broker, clientId, session: connack.sessionPresent ? 'resumed' : 'new' }));
            // Subscribing again on a resumed session is harmless and covers a broker that lost it.
            const subscribe = (): void => {
                client.subscribe(topics.map((topic) => ({ topic, qos: qos as 0 | 1 | 2 })).reduce((all, t) => ({ ...all, [t.topic]: { qos: t.qos } }), {}), (err) => {
                    if (err) {
                        node.error(RED._('ul-mqtt-ingest.errors.subscribe-failed', { topics: topics.join(', '), error: err.message }));
                        return;
                    }
                    if (!recordPath) return;
                    try {
                        // Reconnects with the same topics leave the record as it is.
                        updateSubscriptions(recordPath, topics);
                    } catch (error) {
                        node.warn(RED._('ul-mqtt-ingest.errors.record-failed', { clientId, path: recordPath, error: toError(error).message }));
                    }
                });
            };
            // A resumed session keeps the subscriptions of the previous configuration too.
            const stale = recordPath && connack.sessionPresent ? staleSubscriptions(readSubscriptions(recordPath), topics) : [];
            if (stale.length === 0) {
                subscribe();
                return;
            }
            client.unsubscribe(stale, (err) => {
                if (err) node.warn(RED._('ul-mqtt-ingest.errors.unsubscribe-failed', { clientId, topics: stale.join(', '), error: err.message }));
                else node.log(RED._('ul-mqtt-ingest.log.unsubscribed', { clientId, topics: stale.join(', ') }));
                subscribe();
            });
        });
        client.on('offline', () => setStatus(node, 'disconnected', RED._('ul-mqtt-ingest.status.disconnected')));
        client.on('error', (err) => {
            // One warning per outage: the client retries every few seconds while the broker is away.
            if (!warnedThisOutage) node.warn(RED._('ul-mqtt-ingest.errors.connection', { broker, error: err.message }));
            else node.debug(RED._('ul-mqtt-ingest.errors.connection', { broker, error: err.message }));
            warnedThisOutage = true;
        });

        // A graceful stop takes no new messages, lets the flow settle those it has so that their
        // PUBACKs go out, then disconnects. Unacknowledged messages stay with the broker.
        let stopping: Promise<void> | undefined;
        const stopIntake = (): Promise<void> => {
            stopping ??= (async () => {
                stopped = true;
                await acks.queue.idle(STOP_SETTLE_MS);
                await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
                acks.release();
                tracker.close();
                removeGauge();
                setStatus(node, 'disabled', RED._('ul-mqtt-ingest.status.stopped'));
            })();
            return stopping;
        };
        const unregister = registerIntake(stopIntake);

        node.on('close', (_removed: boolean, done: () => void) => {
            unregister();
            void stopIntake().finally(() => done());
        });
    }

    RED.nodes.registerType('ul-mqtt-ingest', MqttIngestNode);
}
