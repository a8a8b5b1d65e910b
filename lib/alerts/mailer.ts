// Delivers alert emails: over SMTP when a mail server is configured, otherwise into an outbox
// folder as .eml files that a mail program can open (the demo outbox).
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { createTransport } from 'nodemailer';

import type { AlertEmail } from './email';

export interface SmtpSettings {
    host: string;
    port: number;
    /** True for implicit TLS (usually port 465); false lets the server upgrade with STARTTLS. */
    secure: boolean;
    user?: string;
    password?: string;
}

export interface MailSettings {
    /** Recipients; required for SMTP, optional for the outbox. */
    to: string[];
    from: string;
    /** SMTP server; the outbox folder is used when absent. */
    smtp?: SmtpSettings;
    /** Absolute folder for .eml files. */
    outboxDir: string;
}

export interface Mailer {
    readonly mode: 'smtp' | 'outbox';
    /** Sends one email; resolves to the SMTP message id or the path of the .eml file. */
    send(email: AlertEmail): Promise<string>;
    close(): void;
}

/** Timeouts for one SMTP conversation, in milliseconds; nodemailer's defaults run to minutes. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

function envelope(settings: MailSettings, email: AlertEmail): Record<string, unknown> {
    return {
        from: settings.from,
        ...(settings.to.length > 0 ? { to: settings.to.join(', ') } : {}),
        subject: email.subject,
        text: email.text,
        html: email.html,
        headers: email.headers,
    };
}

/** Creates the mailer for `settings`: SMTP when `smtp` is set, else the outbox folder. */
export function createMailer(settings: MailSettings): Mailer {
    if (settings.smtp) {
        const { host, port, secure, user, password } = settings.smtp;
        const transport = createTransport({
            host,
            port,
            secure,
            ...(user ? { auth: { user, pass: password ?? '' } } : {}),
            ...SMTP_TIMEOUTS,
        });
        return {
            mode: 'smtp',
            async send(email) {
                const info = await transport.sendMail(envelope(settings, email));
                return info.messageId;
            },
            close: () => transport.close(),
        };
    }

    const transport = createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    return {
        mode: 'outbox',
        async send(email) {
            const info = await transport.sendMail(envelope(settings, email));
            await mkdir(settings.outboxDir, { recursive: true });
            const path = join(settings.outboxDir, email.fileName);
            // Written under a temporary name first, so a reader never sees half an email.
            const partial = `${path}.partial`;
            await writeFile(partial, info.message as Buffer);
            await rename(partial, path);
            return path;
        },
        close: () => transport.close(),
    };
}
