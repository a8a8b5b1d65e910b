// MQTT intake of the cloud: a persistent session (clean session off, QoS 1) whose message handler
// is attached before the client connects, so the messages the broker queued while the runtime was
// down are handled, not acknowledged into the void. On a graceful stop it stops taking messages
// first, so those still in the broker are delivered to the next start.
// TODO: acknowledge a message only after the store has committed it; MQTT.js acknowledges on
// receipt, so a crash (SIGKILL) loses messages received but not yet stored.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { MqttClient } from 'mqtt';

import { incrementCounter } from '../../lib/observability/counters';
import { registerIntake } from '../../lib/drain';
import { setStatus } from '../shared/status';

interface MqttIngestConfig extends NodeDef {
    broker: string;
    clientId: string;
    topics: string;
    qos: string | number;
    group: string;
    /** Broker account; normally `${UL_MQTT_USERNAME}` and `${UL_MQTT_PASSWORD}`, empty for none. */
    username?: string;
    password?: string;
}

/** Splits a comma-separated topic list and, with a group, turns each into a shared subscription. */
export function subscriptionTopics(topics: string, group: string): string[] {
    const list = topics.split(',').map((topic) => topic.trim()).filter(Boolean);
    return group ? list.map((topic) => `$share/${group}/${topic}`) : list;
}

export default function register(RED: NodeAPI): void {
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

        const problem = !/^(mqtts?|wss?|tcp|tls):\/\//.test(broker)
            ? RED._('ul-mqtt-ingest.errors.bad-broker', { broker })
            : !clientId
              ? RED._('ul-mqtt-ingest.errors.missing-client-id')
              : topics.length === 0
                ? RED._('ul-mqtt-ingest.errors.missing-topics')
                : ![0, 1, 2].includes(qos)
                  ? RED._('ul-mqtt-ingest.errors.bad-qos', { qos: String(config.qos) })
                  : undefined;
        if (problem) {
            node.error(problem);
            setStatus(node, 'failed', RED._('ul-mqtt-ingest.status.not-configured'));
            return;
        }

        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mqtt = require('mqtt') as typeof import('mqtt');
        let stopped = false;
        setStatus(node, 'connecting', RED._('ul-mqtt-ingest.status.connecting'));
        const username = (config.username || '').trim();
        const client: MqttClient = mqtt.connect(broker, {
            clientId,
            clean: false,
            reconnectPeriod: 1000,
            connectTimeout: 10_000,
            keepalive: 30,
            ...(username ? { username, password: config.password ?? '' } : {}),
        });

        client.on('message', (topic, payload, packet) => {
            if (stopped) return;
            incrementCounter('ul_mqtt_messages_total', 'MQTT messages received by the ingest nodes.', { client_id: clientId });
            node.send({ topic, payload: payload.toString('utf8'), qos: packet.qos, retain: packet.retain });
        });
        let warnedThisOutage = false;
        client.on('connect', (connack) => {
            warnedThisOutage = false;
            setStatus(node, 'connected', RED._('ul-mqtt-ingest.status.connected'));
            node.log(RED._('ul-mqtt-ingest.log.connected', { broker, clientId, session: connack.sessionPresent ? 'resumed' : 'new' }));
            // Subscribing again on a resumed session is harmless and covers a broker that lost it.
            client.subscribe(topics.map((topic) => ({ topic, qos: qos as 0 | 1 | 2 })).reduce((all, t) => ({ ...all, [t.topic]: { qos: t.qos } }), {}), (err) => {
                if (err) node.error(RED._('ul-mqtt-ingest.errors.subscribe-failed', { topics: topics.join(', '), error: err.message }));
            });
        });
        client.on('offline', () => setStatus(node, 'disconnected', RED._('ul-mqtt-ingest.status.disconnected')));
        client.on('error', (err) => {
            // One warning per outage: the client retries every few seconds while the broker is away.
            if (!warnedThisOutage) node.warn(RED._('ul-mqtt-ingest.errors.connection', { broker, error: err.message }));
            else node.debug(RED._('ul-mqtt-ingest.errors.connection', { broker, error: err.message }));
            warnedThisOutage = true;
        });

        const stopIntake = async () => {
            if (stopped) return;
            stopped = true;
            await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
            setStatus(node, 'disabled', RED._('ul-mqtt-ingest.status.stopped'));
        };
        const unregister = registerIntake(stopIntake);

        node.on('close', (_removed: boolean, done: () => void) => {
            unregister();
            void stopIntake().finally(() => done());
        });
    }

    RED.nodes.registerType('ul-mqtt-ingest', MqttIngestNode);
}
