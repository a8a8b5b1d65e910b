// Routes alert events: stores them with their lifecycle, then notifies from stored state on
// sweeps. A sweep applies silences, escalations, reminders and announced resolutions, and sends
// each site's waiting notifications as one message once its group window has passed. Sweeps run
// on a timer set for the next due time and on a periodic timer. Every due time derives from
// stored state, so it survives a restart. The clock is injectable for tests.
import type { OpenAlertResult, StoredAlert } from '../store/alert-lifecycle';
import { alertEventOf } from '../store/alert-lifecycle';
import type { Store } from '../store/types';
import type { AlertEvent } from '../types';
import type { EscalationPolicy } from './escalation';
import { DEFAULT_GROUP_WINDOW_MS, groupKeyOf } from './grouping';
import { notificationKind, planSweep, type LifecyclePolicy } from './lifecycle';
import { sortItems, type Notification, type NotificationItem } from './notification';
import { AlertNotifier, type Delivery, type NotifierOptions } from './notifier';
import { DEFAULT_REMINDERS, type ReminderIntervals } from './reminders';
import { findSilence, type SiteFacts, type SiteLookup } from './silences';

export { DEFAULT_BASE_URL, type EmailOutcome } from './notifier';

export type RouterStore = Pick<
    Store,
    | 'openAlert'
    | 'updateEventState'
    | 'listStoredAlerts'
    | 'escalateAlert'
    | 'setAlertSilence'
    | 'requestAlertNotification'
    | 'claimAlertNotifications'
    | 'listSilences'
    | 'listAssets'
    | 'writeQuarantine'
>;

export interface AlertRouterOptions extends Omit<NotifierOptions, 'quarantine'> {
    /** Returns the store; called for every event and sweep, so a store that opens later is picked up. */
    store: () => Promise<RouterStore>;
    /** Group window in milliseconds; default 30 s. 0 sends each notification on the next sweep, alone. */
    groupWindowMs?: number;
    /** Reminder interval per severity; default P1 every 30 minutes and P2 every 2 hours. */
    reminders?: ReminderIntervals;
    /** Escalation policy of rules without one of their own; none by default. */
    defaultEscalation?: EscalationPolicy;
    /** Returns the escalation policies of rules by rule id; read on every sweep, so a reloaded rules file applies at once. */
    ruleEscalations?: () => ReadonlyMap<string, EscalationPolicy>;
    /** Clock in epoch milliseconds; default Date.now. */
    now?: () => number;
    /**
     * Interval of the periodic sweep in milliseconds; default 10 s. With 0 the router sets no
     * timers at all and the caller runs sweep().
     */
    sweepIntervalMs?: number;
    /** How long the asset registry is kept before it is read again, in milliseconds; default 60 s. */
    siteCacheMs?: number;
    /** Called for each notification sent by a sweep. */
    onSent?: (sent: SentNotification) => void;
    /** Called after each sweep that completed, with its report. */
    onSweep?: (report: SweepReport) => void;
    /** Called when a timer-started sweep fails; the next sweep tries again. */
    onSweepError?: (err: unknown) => void;
}

export interface RouteResult {
    /** The alert event as stored: for a repeat, the unresolved alert whose repeat count went up. */
    stored: AlertEvent;
    /**
     * `inserted`, `repeated` or `duplicate` for an open event (see OpenAlertResult); `updated` for
     * an acknowledgement or resolution of a stored alert.
     */
    outcome: OpenAlertResult['outcome'] | 'updated';
    /** The stored alert with its lifecycle, for open events and events stored as received. */
    alert?: StoredAlert;
}

export interface SentNotification extends Delivery {
    notification: Notification;
}

export interface SweepReport {
    /** Alerts whose severity was raised, as stored afterwards. */
    escalated: StoredAlert[];
    /** Alerts a silence now holds back, and alerts whose silence ended. */
    silenced: StoredAlert[];
    unsilenced: StoredAlert[];
    /** Alerts whose reminder now waits to be sent. */
    reminded: StoredAlert[];
    sent: SentNotification[];
    /** Time of the next due sweep (epoch ms), or undefined when nothing waits. */
    nextDueMs: number | undefined;
}

const DEFAULT_SWEEP_INTERVAL_MS = 10_000;
const DEFAULT_SITE_CACHE_MS = 60_000;
/** Maximum delay that setTimeout accepts, in milliseconds. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class AlertRouter {
    private readonly notifier: AlertNotifier;
    private readonly now: () => number;
    private readonly groupWindowMs: number;
    private readonly sweepIntervalMs: number;
    private sites: { lookup: SiteLookup; readAtMs: number } | undefined;
    private chain: Promise<unknown> = Promise.resolve();
    private queued: Promise<SweepReport> | undefined;
    private timer: NodeJS.Timeout | undefined;
    private timerDueMs = Infinity;
    private interval: NodeJS.Timeout | undefined;
    private closed = false;

    constructor(private readonly options: AlertRouterOptions) {
        this.notifier = new AlertNotifier({
            ...options,
            quarantine: async () => {
                const store = await options.store();
                return { writeQuarantine: store.writeQuarantine.bind(store) };
            },
        });
        this.now = options.now ?? Date.now;
        this.groupWindowMs = options.groupWindowMs ?? DEFAULT_GROUP_WINDOW_MS;
        this.sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    }

    /** Starts the periodic sweep and runs a first sweep at once, which picks up timers from before a restart. */
    start(): void {
        if (this.sweepIntervalMs <= 0 || this.closed || this.interval) return;
        this.interval = setInterval(() => void this.sweepInBackground(), this.sweepIntervalMs);
        this.interval.unref();
        void this.sweepInBackground();
    }

    /**
     * Stores an event. An open event becomes a new alert (silenced when a silence matches it), a
     * repeat of the unresolved alert of its rule, asset and metric, or a duplicate. An
     * acknowledgement or resolution updates the stored alert. A resolution of an unknown event id
     * resolves the unresolved alert of its rule, asset and metric, because its opening was counted
     * as a repeat of that alert. Any other event the store does not hold is stored as received.
     * Notifications follow on sweeps.
     */
    async route(event: AlertEvent): Promise<RouteResult> {
        const store = await this.options.store();
        const result = event.state === 'open' ? await this.open(store, event) : await this.changeState(store, event);
        // A P1 opening may be due at once; the sweep decides.
        this.schedule(event.state === 'open' && event.severity === 'P1' ? this.now() : this.now() + this.groupWindowMs);
        return result;
    }

    private async open(store: RouterStore, event: AlertEvent): Promise<RouteResult> {
        const nowMs = this.now();
        const at = new Date(nowMs).toISOString();
        const [sites, silences] = await Promise.all([this.siteLookup(store), store.listSilences({ active_at: at })]);
        const site = sites(event.asset_id);
        const silence = findSilence(silences, event, site, nowMs);
        const { outcome, alert } = await store.openAlert(event, { at, group_key: groupKeyOf(event.asset_id, site), silence_id: silence?.silence_id ?? null });
        return { stored: alertEventOf(alert), outcome, alert };
    }

    private async changeState(store: RouterStore, event: AlertEvent): Promise<RouteResult> {
        const update = (eventId: string): Promise<AlertEvent | undefined> =>
            event.state === 'resolved'
                ? store.updateEventState(eventId, 'resolved', event.resolved_by ?? 'rule', event.resolved_at ?? undefined)
                : store.updateEventState(eventId, 'acknowledged', event.acknowledged_by ?? 'unknown', event.acknowledged_at ?? undefined);
        const updated = await update(event.event_id);
        if (updated) return { stored: updated, outcome: 'updated' };

        if (event.state === 'resolved') {
            // The opening of this event was counted as a repeat of an unresolved alert of the same
            // condition, so the condition clearing resolves that alert.
            const condition = { rule_id: event.rule_id, asset_id: event.asset_id, metric: event.metric };
            const [repeated] = await store.listStoredAlerts({ condition, unresolved: true, limit: 1 });
            const resolved = repeated ? await update(repeated.event_id) : undefined;
            if (resolved) return { stored: resolved, outcome: 'updated' };
        }
        return this.open(store, event);
    }

    /** Runs one sweep now, after any sweep in progress; see SweepReport. */
    sweep(): Promise<SweepReport> {
        if (this.queued) return this.queued;
        const next = this.chain.then(() => {
            this.queued = undefined;
            return this.sweepOnce();
        });
        this.queued = next;
        this.chain = next.catch(() => undefined);
        return next;
    }

    private async sweepInBackground(): Promise<void> {
        if (this.closed) return;
        try {
            await this.sweep();
        } catch (err) {
            this.options.onSweepError?.(err);
        }
    }

    private policy(): LifecyclePolicy {
        const rules = this.options.ruleEscalations?.();
        const fallback = this.options.defaultEscalation;
        return {
            groupWindowMs: this.groupWindowMs,
            reminders: this.options.reminders ?? DEFAULT_REMINDERS,
            escalationFor: (ruleId) => rules?.get(ruleId) ?? fallback,
        };
    }

    private async sweepOnce(): Promise<SweepReport> {
        // A sweep requested before close() is skipped; the next start picks up its work from the store.
        if (this.closed) return { escalated: [], silenced: [], unsilenced: [], reminded: [], sent: [], nextDueMs: undefined };
        const store = await this.options.store();
        const nowMs = this.now();
        const at = new Date(nowMs).toISOString();
        const [alerts, silences, sites] = await Promise.all([store.listStoredAlerts({ active: true }), store.listSilences({ active_at: at }), this.siteLookup(store)]);
        const plan = planSweep(alerts, silences, sites, this.policy(), nowMs);
        const report: SweepReport = { escalated: [], silenced: [], unsilenced: [], reminded: [], sent: [], nextDueMs: plan.nextDueMs };

        for (const { alert, silenceId } of plan.silences) {
            const changed = await store.setAlertSilence(alert.event_id, silenceId, at);
            if (changed) (silenceId === null ? report.unsilenced : report.silenced).push(changed);
        }
        // An escalation that another runtime applied first is left out of this sweep's messages.
        const stale = new Set<string>();
        for (const { alert, change } of plan.escalations) {
            const escalated = await store.escalateAlert(alert.event_id, change);
            if (escalated) report.escalated.push(escalated);
            else stale.add(alert.event_id);
        }
        for (const { alert, reason } of plan.requests) {
            if ((await store.requestAlertNotification(alert.event_id, at)) && reason === 'reminder') report.reminded.push(alert);
        }
        for (const group of plan.flushes) {
            // NOTE: a notification counts as sent once it is claimed, before the email and channel
            // messages go out, so a crash between the two loses it rather than sending it twice.
            const candidates = group.alerts.filter((alert) => !stale.has(alert.event_id));
            const claimed = new Set(await store.claimAlertNotifications(candidates.map((alert) => alert.event_id), at));
            const items = candidates.filter((alert) => claimed.has(alert.event_id)).flatMap((alert) => notificationItem(alert));
            if (items.length === 0) continue;
            const notification: Notification = { group: group.key, items: sortItems(items), at };
            const sent: SentNotification = { notification, ...this.notifier.send(notification) };
            report.sent.push(sent);
            this.options.onSent?.(sent);
        }
        this.schedule(plan.nextDueMs);
        this.options.onSweep?.(report);
        return report;
    }

    /** Returns the registry facts of assets, read from the store again once siteCacheMs has passed. */
    private async siteLookup(store: RouterStore): Promise<SiteLookup> {
        const nowMs = this.now();
        if (this.sites && nowMs - this.sites.readAtMs < (this.options.siteCacheMs ?? DEFAULT_SITE_CACHE_MS)) return this.sites.lookup;
        const assets = await store.listAssets();
        const facts = new Map<string, SiteFacts>(assets.map((asset) => [asset.asset_id, { field: asset.field, operator: asset.operator }]));
        const lookup: SiteLookup = (assetId) => facts.get(assetId);
        this.sites = { lookup, readAtMs: nowMs };
        return lookup;
    }

    /** Sets the sweep timer for `dueMs` unless it is already set for that time or earlier. */
    private schedule(dueMs: number | undefined): void {
        if (dueMs === undefined || this.closed || this.sweepIntervalMs <= 0 || this.timerDueMs <= dueMs) return;
        if (this.timer) clearTimeout(this.timer);
        this.timerDueMs = dueMs;
        this.timer = setTimeout(() => {
            this.timer = undefined;
            this.timerDueMs = Infinity;
            void this.sweepInBackground();
        }, Math.min(MAX_TIMER_MS, Math.max(0, dueMs - this.now())));
        this.timer.unref();
    }

    /** Emails and channel messages still being sent or waiting for a retry. */
    get pendingMessages(): number {
        return this.notifier.pendingMessages;
    }

    /** Stops the timers, waits for a sweep in progress and for messages in flight (retry waits end at once), and closes the mailer. */
    async close(): Promise<void> {
        this.closed = true;
        if (this.timer) clearTimeout(this.timer);
        if (this.interval) clearInterval(this.interval);
        await this.chain;
        await this.notifier.close();
    }
}

/** Returns the notification item of a claimed alert, or nothing for an alert that needs none (acknowledged). */
function notificationItem(alert: StoredAlert): NotificationItem[] {
    const kind = notificationKind(alert);
    if (!kind) return [];
    return [{
        event: alertEventOf(alert),
        kind,
        ...(kind === 'escalated' && alert.notified_severity ? { previousSeverity: alert.notified_severity } : {}),
        repeatCount: alert.repeat_count,
    }];
}
