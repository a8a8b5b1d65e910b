// The stored form of an MQTT message in the forward queue, and its bytes on the wire.
import { ValidationError } from '../errors';

/** An MQTT message as a flow hands it over: msg.topic and msg.payload. */
export interface OutgoingMessage {
    topic: string;
    payload: unknown;
}

/** The queue record payload: the topic and the payload in a JSON-safe form. */
export interface StoredMessage {
    topic: string;
    /** `json`: `data` is the payload, sent as JSON text; `text`: sent as is; `base64`: bytes. */
    format: 'json' | 'text' | 'base64';
    data: unknown;
}

const RESERVED_IN_PUBLISH = /[+#\u0000]/;

/** Checks a message and returns its stored form; throws a ValidationError for a topic MQTT cannot publish to. */
export function toStoredMessage(message: { topic?: unknown; payload?: unknown }): StoredMessage {
    const topic = message.topic;
    if (typeof topic !== 'string' || topic === '') {
        throw new ValidationError('missing_topic', 'The message has no msg.topic; set the MQTT topic, for example ops/acme/well-1/readings, before the forward queue.', {
            field: 'topic',
            value: topic,
        });
    }
    if (RESERVED_IN_PUBLISH.test(topic)) {
        throw new ValidationError('invalid_topic', `The topic "${topic}" contains + or #, which MQTT allows only in subscriptions; publish to a topic without wildcards.`, {
            field: 'topic',
            value: topic,
        });
    }
    const payload = message.payload;
    if (Buffer.isBuffer(payload)) return { topic, format: 'base64', data: payload.toString('base64') };
    if (typeof payload === 'string') return { topic, format: 'text', data: payload };
    if (payload === undefined) throw new ValidationError('missing_payload', 'The message has no msg.payload; there is nothing to publish.', { field: 'payload' });
    return { topic, format: 'json', data: payload };
}

/** Returns the bytes to publish for a stored message. */
export function wirePayload(stored: StoredMessage): Buffer {
    if (stored.format === 'base64') return Buffer.from(stored.data as string, 'base64');
    if (stored.format === 'text') return Buffer.from(stored.data as string, 'utf8');
    return Buffer.from(JSON.stringify(stored.data), 'utf8');
}

/** Returns the payload as the flow handed it over. */
export function originalPayload(stored: StoredMessage): unknown {
    return stored.format === 'base64' ? Buffer.from(stored.data as string, 'base64') : stored.data;
}
