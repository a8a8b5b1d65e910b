// Sends notifications: by email to the severities that call for it, and to the configured Teams,
// Slack and SMS channels, each with retries. A message that fails after its retries leaves the
// stored alerts in place; a failed channel message also leaves a dead-letter row.
import { ServiceError } from '../errors';
import type { Store } from '../store/types';
import type { Severity } from '../types';
import { deliver, type ChannelOutcome, type ChannelSettings } from './channels';
import type { Mailer } from './mailer';
import { composeNotificationEmail, describeNotification, itemsOfSeverities, type Notification } from './notification';
import { retry, type RetryOptions } from './retry';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:1880';

export interface NotifierOptions {
    mailer: Mailer;
    /** Severities that send an email. */
    emailSeverities: readonly Severity[];
    /** Email and channel attempts and backoff; attempts default to 3. */
    retry?: Partial<Pick<RetryOptions, 'attempts' | 'delayMs' | 'maxDelayMs'>>;
    /** Called before each email retry. */
    onEmailRetry?: (notification: Notification, err: unknown, attempt: number, waitMs: number) => void;
    /** Teams, Slack and SMS channels; none by default. */
    channels?: ChannelSettings[];
    /** Public address of the API, for acknowledge and runbook links. */
    baseUrl?: string;
    /** Called before each channel retry. */
    onChannelRetry?: (channel: ChannelSettings, notification: Notification, err: unknown, attempt: number, waitMs: number) => void;
    /** Returns the store that dead-letter rows go to; called only when a channel message has failed. */
    quarantine: () => Promise<Pick<Store, 'writeQuarantine'>>;
}

export type EmailOutcome =
    | { status: 'sent'; notification: Notification; destination: string; attempts: number }
    | { status: 'skipped'; notification: Notification }
    | { status: 'failed'; notification: Notification; error: ServiceError };

export interface Delivery {
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

export class AlertNotifier {
    private readonly pending = new Set<Promise<unknown>>();
    private readonly stop = new AbortController();
    private readonly retryOptions: Pick<RetryOptions, 'attempts' | 'delayMs' | 'maxDelayMs'>;

    constructor(private readonly options: NotifierOptions) {
        this.retryOptions = { attempts: 3, delayMs: 1_000, maxDelayMs: 30_000, ...options.retry };
    }

    /** Starts the email and channel messages of a notification. */
    send(notification: Notification): Delivery {
        return { email: this.email(notification), channels: this.notifyChannels(notification) };
    }

    /** Emails the alerts of the email severities, with retries; skips a notification with none. Never rejects. */
    email(whole: Notification): Promise<EmailOutcome> {
        const notification = itemsOfSeverities(whole, this.options.emailSeverities);
        if (!notification) return Promise.resolve({ status: 'skipped', notification: whole });
        const message = composeNotificationEmail(notification, this.options.baseUrl ?? DEFAULT_BASE_URL);
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
                onRetry: (err, attempt, waitMs) => this.options.onEmailRetry?.(notification, err, attempt, waitMs),
            },
        ).then(
            (destination): EmailOutcome => ({ status: 'sent', notification, destination, attempts }),
            (err: unknown): EmailOutcome => {
                const reason = err instanceof Error ? err.message : String(err);
                const stored = notification.items.length === 1 ? 'The event is stored' : 'The events are stored';
                const error = new ServiceError(
                    `Email for ${describeNotification(notification)} failed: ${reason}. ${stored}; check the mail settings of the alert router.`,
                    { cause: err, retriable: true, badge: 'email failed', context: { events: notification.items.map((item) => item.event.event_id), attempts } },
                );
                return { status: 'failed', notification, error };
            },
        );
        return this.track(outcome);
    }

    /** Posts the notification to every channel with retries; failures end as dead-letter rows. Never rejects. */
    notifyChannels(notification: Notification): Promise<ChannelOutcome[]> {
        const channels = this.options.channels ?? [];
        if (channels.length === 0) return Promise.resolve([]);
        const outcome = Promise.all(
            channels.map((channel) =>
                deliver(channel, notification, {
                    quarantine: this.options.quarantine,
                    baseUrl: this.options.baseUrl ?? DEFAULT_BASE_URL,
                    retry: this.retryOptions,
                    signal: this.stop.signal,
                    onRetry: this.options.onChannelRetry,
                }),
            ),
        );
        return this.track(outcome);
    }

    private track<T>(outcome: Promise<T>): Promise<T> {
        this.pending.add(outcome);
        void outcome.then(() => this.pending.delete(outcome));
        return outcome;
    }

    /** Emails and channel messages still being sent or waiting for a retry. */
    get pendingMessages(): number {
        return this.pending.size;
    }

    /** Cancels retry waits, waits for messages in flight and closes the mailer. */
    async close(): Promise<void> {
        this.stop.abort();
        await Promise.all([...this.pending]);
        this.options.mailer.close();
    }
}
