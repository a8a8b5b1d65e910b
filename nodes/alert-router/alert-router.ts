// Stores alert events with their lifecycle and notifies them by email (over SMTP when a mail
// server is set, otherwise as .eml files in an outbox folder), Teams, Slack and an SMS gateway.
// The message is done once the event is stored. Grouping, reminders, escalation and silences run
// on sweeps over stored state; emails and channel messages retry in the background.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import type { ChannelOutcome } from '../../lib/alerts/channels';
import { formatPolicy } from '../../lib/alerts/escalation';
import { createMailer } from '../../lib/alerts/mailer';
import { describeNotification } from '../../lib/alerts/notification';
import { AlertRouter, type EmailOutcome, type RouteResult, type SentNotification, type SweepReport } from '../../lib/alerts/router';
import { watchRulePolicies, type RulePolicySource } from '../../lib/alerts/rule-policies';
import { parseRouterSettings, type RawRouterConfig } from '../../lib/alerts/settings';
import { alertEventProblem } from '../../lib/alerts/validate';
import { carryDelivery } from '../../lib/bus/delivery';
import { toError } from '../../lib/errors';
import { incrementCounter } from '../../lib/observability/counters';
import { resolveRulesPath } from '../../lib/rules/load';
import { runtimeContext } from '../../lib/runtime-context';
import type { Store } from '../../lib/store/types';
import type { AlertEvent, Rejection } from '../../lib/types';
import { setStatus } from '../shared/status';

type AlertRouterConfig = NodeDef & RawRouterConfig & { store: string };

interface Credentials {
    user?: string;
    password?: string;
}

/** Methods the router uses on a ul-store config node. */
interface StoreConfigNode extends Node {
    getStore(): Promise<Store>;
    register?(user: Node): void;
    deregister?(user: Node): void;
}

/** How long closing waits for emails in flight, in milliseconds; Node-RED allows 15 s per node. */
const CLOSE_WAIT_MS = 10_000;

export default function register(RED: NodeAPI): void {
    function AlertRouterNode(this: Node<Credentials>, config: AlertRouterConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        const storeNode = RED.nodes.getNode(config.store) as StoreConfigNode | null;
        let router: AlertRouter;
        let rulePolicySource: RulePolicySource | undefined;
        try {
            if (!storeNode || typeof storeNode.getStore !== 'function') throw new Error(RED._('ul-alert-router.errors.missing-store'));
            const dataDir = runtimeContext(RED.settings).dataDir ?? process.cwd();
            const settings = parseRouterSettings(config, node.credentials ?? {}, dataDir);
            const { lifecycle } = settings;
            router = new AlertRouter({
                store: () => storeNode.getStore(),
                mailer: createMailer(settings.mail),
                emailSeverities: settings.emailSeverities,
                retry: { delayMs: settings.retryDelayMs },
                onEmailRetry: (notification, err, attempt, waitMs) =>
                    node.debug(RED._('ul-alert-router.log.retry', { event: describeNotification(notification), attempt, wait: waitMs, message: toError(err).message })),
                channels: settings.channels,
                baseUrl: settings.baseUrl,
                onChannelRetry: (channel, notification, err, attempt, waitMs) =>
                    node.debug(RED._('ul-alert-router.log.channel-retry', { channel: channel.name, event: describeNotification(notification), attempt, wait: waitMs, message: toError(err).message })),
                groupWindowMs: lifecycle.groupWindowMs,
                reminders: lifecycle.reminders,
                defaultEscalation: lifecycle.defaultEscalation,
                ruleEscalations: () => rulePolicySource?.policies() ?? new Map(),
                sweepIntervalMs: lifecycle.sweepIntervalMs,
                onSent: reportSent,
                onSweep: reportSweep,
                onSweepError: reportSweepError,
            });
            if (lifecycle.rulesFile) {
                rulePolicySource = watchRulePolicies(resolveRulesPath(lifecycle.rulesFile), (message) =>
                    node.warn(RED._('ul-alert-router.warnings.rules-file', { message })),
                );
            }
            if (settings.channels.length > 0) {
                node.log(RED._('ul-alert-router.log.channels', { channels: settings.channels.map((channel) => channel.name).join(', ') }));
            }
            if (lifecycle.defaultEscalation.length > 0) node.log(RED._('ul-alert-router.log.default-escalation', { policy: formatPolicy(lifecycle.defaultEscalation) }));
            node.log(RED._(settings.mail.smtp ? 'ul-alert-router.log.smtp' : 'ul-alert-router.log.outbox', {
                host: settings.mail.smtp?.host ?? '',
                folder: settings.mail.outboxDir,
            }));
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-alert-router.status.not-configured'));
            return;
        }
        // Registered users keep the store open until they have closed; the store also shows its
        // connection state on their badge until the first event arrives.
        storeNode.register?.(node);
        storeNode.getStore().catch(() => undefined);

        let stored = 0;
        let emailFailures = 0;
        let deadLetters = 0;
        let sweepFailing = false;
        let queue: Promise<void> = Promise.resolve();

        function showStatus(): void {
            if (emailFailures > 0) setStatus(node, 'degraded', RED._('ul-alert-router.status.email-failed', { count: emailFailures }));
            else if (deadLetters > 0) setStatus(node, 'degraded', RED._('ul-alert-router.status.channel-failed', { count: deadLetters }));
            else setStatus(node, 'ok', RED._('ul-alert-router.status.stored', { count: stored }));
        }

        async function storeEvent(event: AlertEvent, input: NodeMessage, send: (msg: (NodeMessage | null)[]) => void, done: (err?: Error) => void): Promise<void> {
            let result: RouteResult;
            try {
                result = await router.route(event);
            } catch (err) {
                setStatus(node, 'failed', RED._('ul-alert-router.status.store-failed'));
                done(toError(err));
                return;
            }
            stored++;
            incrementCounter('ul_alert_events_total', 'Alert events stored, by severity and state.', { severity: result.stored.severity, state: result.stored.state });
            const lifecycle = result.alert
                ? { outcome: result.outcome, repeat_count: result.alert.repeat_count, silenced: result.alert.silenced, silence_id: result.alert.silence_id }
                : { outcome: result.outcome };
            send([carryDelivery(input, { topic: result.stored.asset_id, payload: result.stored, alert: lifecycle } as NodeMessage), null]);
            showStatus();
            done();
        }

        function reportSent(sent: SentNotification): void {
            // Messages are not awaited, so retries do not hold back the next event or sweep.
            void sent.email.then(reportEmail);
            void sent.channels.then(reportChannels);
        }

        function reportSweep(report: SweepReport): void {
            sweepFailing = false;
            for (const alert of report.escalated) {
                node.log(RED._('ul-alert-router.log.escalated', { event: alert.event_id, rule: alert.rule_id, asset: alert.asset_id, severity: alert.severity }));
            }
        }

        function reportSweepError(err: unknown): void {
            // A store that stays down fails every sweep; the warning is logged once until a sweep succeeds.
            if (!sweepFailing) node.warn(RED._('ul-alert-router.warnings.sweep-failed', { message: toError(err).message }));
            sweepFailing = true;
        }

        function reportChannels(outcomes: ChannelOutcome[]): void {
            for (const outcome of outcomes) {
                if (outcome.status === 'dead_letter') {
                    deadLetters++;
                    node.warn(outcome.quarantined ? outcome.reason : RED._('ul-alert-router.log.dead-letter-lost', { reason: outcome.reason }));
                } else if (outcome.status === 'sent') {
                    deadLetters = 0;
                    node.debug(RED._('ul-alert-router.log.channel-sent', { channel: outcome.channel, event: describeNotification(outcome.notification) }));
                }
            }
            if (outcomes.length > 0) showStatus();
        }

        function reportEmail(outcome: EmailOutcome): void {
            if (outcome.status === 'failed') {
                emailFailures++;
                node.warn(outcome.error.message);
            } else if (outcome.status === 'sent') {
                emailFailures = 0;
                node.debug(RED._('ul-alert-router.log.sent', { event: describeNotification(outcome.notification), destination: outcome.destination }));
            }
            showStatus();
        }

        node.on('input', (msg, send, done) => {
            const problem = alertEventProblem(msg.payload);
            if (problem) {
                const rejection: Rejection = {
                    source: `alert-router:${node.name || node.id}`,
                    code: 'invalid_alert_event',
                    reason: problem.reason,
                    ...(problem.field ? { field: problem.field, value: (msg.payload as Record<string, unknown>)[problem.field] } : {}),
                    payload: msg.payload,
                    received_at: new Date().toISOString(),
                };
                send([null, carryDelivery(msg, { topic: msg.topic, payload: [rejection] } as NodeMessage)]);
                done();
                return;
            }

            // Events are stored one after another, so a resolution never overtakes its opening.
            const event = msg.payload as AlertEvent;
            queue = queue.then(() => storeEvent(event, msg, send, done));
        });

        router.start();

        node.on('close', (_removed: boolean, done: () => void) => {
            rulePolicySource?.stop();
            const timeout = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref());
            Promise.race([router.close(), timeout])
                .catch((err: unknown) => node.warn(toError(err).message))
                .finally(() => {
                    storeNode.deregister?.(node);
                    done();
                });
        });
    }

    RED.nodes.registerType<Node<Credentials>, AlertRouterConfig, Record<string, never>, Credentials>('ul-alert-router', AlertRouterNode, {
        credentials: {
            user: { type: 'text' },
            password: { type: 'password' },
        },
    });
}
