// Emits every message published to a bus topic, with msg.topic set to the bus topic, msg.key to
// the partition key and, on Kafka, msg.bus to the partition and its assignment epoch. In shared
// mode each message carries a delivery (lib/bus/delivery.ts) that settles once every node it
// reaches has called done(), and the Kafka transport commits only settled messages, so a crash or
// restart delivers unfinished messages again.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { attachDelivery, attachOrigin, describeDelivery, DeliveryTracker } from '../../lib/bus/delivery';
import { installDeliveryTracking, markShared, type MessageHooks } from '../../lib/bus/flow-tracking';
import { parseActive } from '../../lib/bus/active';
import { MessageCombiner, parseCombine, type CombinedMessage } from '../../lib/bus/combine';
import type { SubscriptionMode } from '../../lib/bus/transport';
import { registerIntake } from '../../lib/drain';
import { incrementCounter } from '../../lib/observability/counters';
import type { BusNode } from '../bus/bus';
import { setStatus } from '../shared/status';

interface BusInConfig extends NodeDef {
    bus: string;
    topic: string;
    /** `shared` (default) or `broadcast`. */
    mode?: string;
    /** Subscribes unless this is false, no, off or 0; usually an environment variable such as `${UL_DASHBOARD_FEED}`. */
    active?: string;
    /** Up to this many bus messages of one partition that arrive together become one message; default 1. */
    combine?: string;
    /** When true, every wire receives the same message object instead of a copy; default false. */
    shareMessage?: boolean | string;
}

const MODES: readonly SubscriptionMode[] = ['shared', 'broadcast'];

export default function register(RED: NodeAPI): void {
    // Node-RED 4 always provides hooks; without them (some test harnesses) deliveries are not tracked.
    const hooks: MessageHooks | undefined = RED.hooks;
    if (hooks) installDeliveryTracking(hooks);

    function BusInNode(this: Node, config: BusInConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const bus = RED.nodes.getNode(config.bus) as BusNode | null;
        const topic = (config.topic || '').trim();
        const mode = (config.mode || 'shared').trim() as SubscriptionMode;
        const active = parseActive(config.active);
        const combine = parseCombine(config.combine);

        const problem = !bus
            ? RED._('ul-bus-in.errors.missing-bus')
            : !topic
              ? RED._('ul-bus-in.errors.missing-topic')
              : !MODES.includes(mode)
                ? RED._('ul-bus-in.errors.bad-mode', { mode })
                : active === undefined
                  ? RED._('ul-bus-in.errors.bad-active', { value: String(config.active) })
                  : combine === undefined
                    ? RED._('ul-bus-in.errors.bad-combine', { value: String(config.combine) })
                    : undefined;
        if (problem || !bus) {
            node.error(problem);
            setStatus(node, 'failed', RED._('ul-bus-in.status.not-configured'));
            return;
        }

        if (!active) {
            // Switched off on this runtime: no subscription, so no share of the topic either.
            setStatus(node, 'disabled', RED._('ul-bus-in.status.inactive', { topic }));
            return;
        }

        // Broadcast deliveries are tracked too: they commit nothing, but a view that falls behind
        // pauses its partitions instead of piling messages up in memory.
        const tracked = hooks !== undefined;
        const live = mode === 'broadcast';
        const shareMessage = config.shareMessage === true || config.shareMessage === 'true';
        const tracker = new DeliveryTracker({
            timeoutMs: bus.settleTimeoutMs,
            onOverdue: (delivery, ageMs) => {
                incrementCounter('ul_bus_overdue_deliveries_total', 'Bus messages not settled within the settle timeout.', { topic });
                node.warn(RED._(live ? 'ul-bus-in.warnings.overdue-live' : 'ul-bus-in.warnings.overdue', { delivery: describeDelivery(delivery.info), seconds: Math.floor(ageMs / 1_000) }));
            },
            onFailed: (delivery, error) => {
                incrementCounter('ul_bus_failed_deliveries_total', 'Bus messages whose handling failed; they stay uncommitted.', { topic });
                node.warn(RED._(live ? 'ul-bus-in.warnings.failed-live' : 'ul-bus-in.warnings.failed', { delivery: describeDelivery(delivery.info), error: error.message }));
            },
        });

        /** Sends one message; returns its settling when tracked. */
        const deliver = (msg: NodeMessage & { key: string }, info: { topic: string; key: string; partition?: number; offset?: string; count?: number }): Promise<void> | undefined => {
            if (shareMessage) markShared(msg);
            if (!tracked) {
                node.send(msg);
                return undefined;
            }
            const delivery = tracker.start(info);
            node.send(attachDelivery(msg, delivery));
            // This node's own reference; the wired nodes keep theirs until they call done().
            delivery.release();
            return delivery.outcome;
        };
        const combineLimit = combine ?? 1;
        const combiner = combineLimit > 1
            ? new MessageCombiner(combineLimit, (combined: CombinedMessage) => {
                  const msg = attachOrigin({ topic: combined.topic, key: combined.key, payload: combined.value }, combined.partition, combined.epoch);
                  return deliver(msg, { topic: combined.topic, key: combined.key, partition: combined.partition, offset: combined.offset, count: combined.count });
              })
            : undefined;

        const unsubscribe = bus.transport.subscribe(
            topic,
            (message) => {
                if (combiner) return combiner.add(message);
                const msg: NodeMessage & { key: string } = attachOrigin({ topic: message.topic, key: message.key, payload: message.value }, message.partition, message.epoch);
                return deliver(msg, { topic: message.topic, key: message.key, partition: message.partition, offset: message.offset });
            },
            {
                group: node.id,
                mode,
                onState: (state, detail) => setStatus(node, state, detail ? `${topic}: ${detail}` : topic),
            },
        );

        // On a durable bus a graceful stop stops taking messages first, so the flow can finish the
        // messages it already has while the rest stays in Kafka.
        const unregisterIntake = bus.transport.durable ? registerIntake(() => unsubscribe()) : () => undefined;

        node.on('close', (_removed: boolean, done: () => void) => {
            unregisterIntake();
            void unsubscribe().finally(() => {
                tracker.close();
                done();
            });
        });
    }

    RED.nodes.registerType('ul-bus-in', BusInNode);
}
