// Routes alert events: stores them first, then emails the severities that call for it and posts
// them to the configured Teams, Slack and SMS channels. A message that fails after its retries
// leaves the stored event in place; a failed channel message also leaves a dead-letter row.
import { ServiceError } from '../errors';
import type { Store } from '../store/types';
import type { AlertEvent, Severity } from '../types';
import { deliver, type ChannelOutcome, type ChannelSettings } from './channels';
import { composeAlertEmail } from './email';
import type { Mailer } from './mailer';
import { retry, type RetryOptions } from './retry';

export type EventStore = Pick<Store, 'insertEvent' | 'updateEventState'> & Partial<Pick<Store, 'writeQuarantine'>>;

export interface AlertRouterOptions {
    /** Returns the store; called for every event, so a store that opens later is picked up. */
    store: () => Promise<EventStore>;
    mailer: Mailer;
    /** Severities that send an email. */
    emailSeverities: readonly Severity[];
    /** Email attempts and backoff; attempts default to 3. */
    retry?: Partial<Pick<RetryOptions, 'attempts' | 'delayMs' | 'maxDelayMs'>>;
    /** Called before each email retry. */
    onEmailRetry?: (event: AlertEvent, err: unknown, attempt: number, waitMs: number) => void;
    /** Teams, Slack and SMS channels; none by default. */
    channels?: ChannelSettings[];
    /** Public address of the API, for acknowledge and runbook links. */
    baseUrl?: string;
    /** Called before each channel retry. */
    onChannelRetry?: (channel: ChannelSettings, event: AlertEvent, err: unknown, attempt: number, waitMs: number) => void;
}

export const DEFAULT_BASE_URL = 'http://127.0.0.1:1880';

export type EmailOutcome =
    | { status: 'sent'; event: AlertEvent; destination: string; attempts: number }
    | { status: 'skipped'; event: AlertEvent }
    | { status: 'failed'; event: AlertEvent; error: ServiceError };

export interface RouteResult {
    /** The event as stored. */
    stored: AlertEvent;
    /** Settles when the email is sent, skipped or has failed; never rejects. */
    email: Promise<EmailOutcome>;
    /** One outcome per configured channel, in configuration order; never rejects. */
    channels: Promise<ChannelOutcome[]>;
}

/** SMTP replies and nodemailer codes that the same message will get again on a retry. */
function retriable(err: unknown): boolean {
    const { code, responseCode } = err as { code?: string; responseCode?: number };
    if (typeof responseCode === 'number' && responseCode >= 500) return false;
    return !['EENVELOPE', 'EAUTH', 'EMESSAGE', 'ECONFIG', 'EACCES', 'EROFS'].includes(code ?? '');
}

export class AlertRouter {
    private readonly pending = new Set<Promise<unknown>>();
    private readonly stop = new AbortController();
    private readonly retryOptions: Pick<RetryOptions, 'attempts' | 'delayMs' | 'maxDelayMs'>;

    constructor(private readonly options: AlertRouterOptions) {
        this.retryOptions = { attempts: 3, delayMs: 1_000, maxDelayMs: 30_000, ...options.retry };
    }

    /**
     * Stores an event: open events are inserted, resolved and acknowledged ones update the stored
     * event. A change of state for an event the store does not hold inserts the event as received.
     */
    async store(event: AlertEvent): Promise<AlertEvent> {
        return (await this.storeEvent(event)).stored;
    }

    private async storeEvent(event: AlertEvent): Promise<{ stored: AlertEvent; repeated: boolean }> {
        const store = await this.options.store();
        if (event.state === 'open') {
            // Alert ids derive from the incident, so false means this incident was already
            // stored (a redelivered reading, a replay after a restart) and notified.
            const inserted = await store.insertEvent(event);
            return { stored: event, repeated: inserted === false };
        }
        const updated =
            event.state === 'resolved'
                ? await store.updateEventState(event.event_id, 'resolved', event.resolved_by ?? 'rule', event.resolved_at ?? undefined)
                : await store.updateEventState(event.event_id, 'acknowledged', event.acknowledged_by ?? 'unknown', event.acknowledged_at ?? undefined);
        if (updated) return { stored: updated, repeated: false };
        await store.insertEvent(event);
        return { stored: event, repeated: false };
    }

    /** Returns true for open and resolved events of the severities that send email. */
    wantsEmail(event: AlertEvent): boolean {
        return event.state !== 'acknowledged' && this.options.emailSeverities.includes(event.severity);
    }

    /** Sends the email of an event with retries; the promise never rejects. */
    email(event: AlertEvent): Promise<EmailOutcome> {
        if (!this.wantsEmail(event)) return Promise.resolve({ status: 'skipped', event });
        const message = composeAlertEmail(event);
        let attempts = 0;
        const outcome = retry(
            (attempt) => {
                attempts = attempt;
                return this.options.mailer.send(message);
            },
            {
                ...this.retryOptions,
                retriable,
                signal: this.stop.signal,
                onRetry: (err, attempt, waitMs) => this.options.onEmailRetry?.(event, err, attempt, waitMs),
            },
        ).then(
            (destination): EmailOutcome => ({ status: 'sent', event, destination, attempts }),
            (err: unknown): EmailOutcome => {
                const reason = err instanceof Error ? err.message : String(err);
                const error = new ServiceError(
                    `Email for alert ${event.event_id} (${event.rule_id} on ${event.asset_id}) failed: ${reason}. The event is stored; check the mail settings of the alert router.`,
                    { cause: err, retriable: true, badge: 'email failed', context: { event_id: event.event_id, attempts } },
                );
                return { status: 'failed', event, error };
            },
        );
        this.pending.add(outcome);
        void outcome.then(() => this.pending.delete(outcome));
        return outcome;
    }

    /** Posts the event to every channel with retries; failures end as dead-letter rows. Never rejects. */
    notifyChannels(event: AlertEvent): Promise<ChannelOutcome[]> {
        const channels = this.options.channels ?? [];
        if (channels.length === 0) return Promise.resolve([]);
        const outcome = Promise.all(
            channels.map((channel) =>
                deliver(channel, event, {
                    quarantine: async () => {
                        const store = await this.options.store();
                        if (!store.writeQuarantine) throw new Error('the store has no quarantine');
                        return { writeQuarantine: store.writeQuarantine.bind(store) };
                    },
                    baseUrl: this.options.baseUrl ?? DEFAULT_BASE_URL,
                    retry: this.retryOptions,
                    signal: this.stop.signal,
                    onRetry: this.options.onChannelRetry,
                }),
            ),
        );
        this.pending.add(outcome);
        void outcome.then(() => this.pending.delete(outcome));
        return outcome;
    }

    /** Stores the event, then starts its email and channel messages; resolves once the event is stored. */
    async route(event: AlertEvent): Promise<RouteResult> {
        const { stored, repeated } = await this.storeEvent(event);
        const email: Promise<EmailOutcome> = repeated ? Promise.resolve({ status: 'skipped', event }) : this.email(event);
        const channels = repeated ? Promise.resolve([]) : this.notifyChannels(stored);
        return { stored, email, channels };
    }

    /** Emails and channel messages still being sent or waiting for a retry. */
    get pendingEmails(): number {
        return this.pending.size;
    }

    /** Cancels retry waits and waits for emails in flight; closes the mailer. */
    async close(): Promise<void> {
        this.stop.abort();
        await Promise.all([...this.pending]);
        this.options.mailer.close();
    }
}
