// Settings of the bus config node: which transport, and for Kafka the brokers, client and group
// ids, topic layout, TLS and SASL. Secrets come from environment references such as
// `${UL_KAFKA_SASL_PASSWORD}`, never from literal values in the flow file.
import { ConfigError } from '../errors';
import { DEFAULT_SETTLE_TIMEOUT_MS } from './delivery';
import { MAX_WEIGHT } from './weighted-assigner';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaSettings {
    /** host:port of each bootstrap broker. */
    brokers: string[];
    clientId: string;
    /** Prefix of every consumer group of this bus; each subscribing node adds its own name. */
    groupId: string;
    /** Partitions of the topics this bus creates. */
    partitions: number;
    /** Replicas of the topics this bus creates. */
    replicationFactor: number;
    /** Share of the partitions of shared consumer groups this runtime takes, relative to the others (default 1). */
    weight: number;
    /** Present when the connection uses TLS; the files are PEM. */
    tls?: { caFile?: string; certFile?: string; keyFile?: string };
    sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

export type BusSettings =
    | { transport: 'memory'; busName: string; settleTimeoutMs: number }
    | { transport: 'kafka'; kafka: KafkaSettings; settleTimeoutMs: number };

/** Properties of the ul-bus config node as Node-RED passes them (strings from the editor or the flow file). */
export interface RawBusConfig {
    transport?: unknown;
    busName?: unknown;
    settleTimeout?: unknown;
    brokers?: unknown;
    clientId?: unknown;
    groupId?: unknown;
    partitions?: unknown;
    replicationFactor?: unknown;
    weight?: unknown;
    tls?: unknown;
    caFile?: unknown;
    certFile?: unknown;
    keyFile?: unknown;
    saslMechanism?: unknown;
    saslUsername?: unknown;
    saslPassword?: unknown;
}

/**
 * Values of properties missing from a flow file: the same environment references the editor
 * puts into a new bus node, so an older flow file gets the same behaviour as a new one.
 */
export const ENV_DEFAULTS = {
    brokers: '${UL_KAFKA_BROKERS}',
    weight: '${UL_KAFKA_WEIGHT}',
    tls: '${UL_KAFKA_TLS}',
    caFile: '${UL_KAFKA_TLS_CA}',
    certFile: '${UL_KAFKA_TLS_CERT}',
    keyFile: '${UL_KAFKA_TLS_KEY}',
    saslMechanism: '${UL_KAFKA_SASL_MECHANISM}',
    saslUsername: '${UL_KAFKA_SASL_USERNAME}',
    saslPassword: '${UL_KAFKA_SASL_PASSWORD}',
} as const;

export const KAFKA_DEFAULTS = {
    clientId: 'upstream-live',
    groupId: 'upstream-live',
    partitions: 12,
    replicationFactor: 1,
} as const;

const ENV_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const NAME = /^[A-Za-z0-9._-]+$/;
const MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

interface Field {
    /** Trimmed value after resolving a whole-value `${NAME}` reference; '' when empty or unresolved. */
    value: string;
    /** Name of the environment variable the value referenced but that is not set. */
    unset?: string;
    /** Name of the environment variable the value came from. */
    variable?: string;
}

function field(raw: unknown, fallback: string, env: NodeJS.ProcessEnv): Field {
    const text = (raw === undefined || raw === null ? fallback : String(raw)).trim();
    const reference = ENV_REFERENCE.exec(text);
    if (!reference) return { value: text };
    const found = env[reference[1]];
    return found === undefined || found.trim() === '' ? { value: '', unset: reference[1] } : { value: found.trim(), variable: reference[1] };
}

/** Returns the value of a required field, or throws naming the field and, when unset, its variable. */
function required(input: Field, label: string, fix: string): string {
    if (input.value !== '') return input.value;
    if (input.unset) {
        throw new ConfigError(`${label} uses \${${input.unset}}, but the environment variable ${input.unset} is not set; set it before starting Node-RED or enter the value directly.`);
    }
    throw new ConfigError(`${label} is empty; ${fix}`);
}

function wholeNumber(input: Field, label: string, fallback: number, min: number, max: number): number {
    if (input.value === '') return fallback;
    const number = Number(input.value);
    if (!Number.isInteger(number) || number < min || number > max) {
        throw new ConfigError(`${label} '${input.value}' is invalid; enter a whole number from ${min} to ${max}, or leave it empty for ${fallback}.`);
    }
    return number;
}

const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;

function parseWeight(raw: unknown, env: NodeJS.ProcessEnv): number {
    const input = field(raw, ENV_DEFAULTS.weight, env);
    if (input.value === '') return 1;
    const weight = Number(input.value);
    if (!DECIMAL.test(input.value) || weight <= 0 || weight > MAX_WEIGHT) {
        const source = input.variable ? ` (from the environment variable ${input.variable})` : '';
        throw new ConfigError(`Consumer weight '${input.value}'${source} is invalid; enter a decimal number above 0 and up to ${MAX_WEIGHT}, such as 0.5, or leave it empty for 1.`);
    }
    return weight;
}

function parseBrokers(text: string): string[] {
    const brokers = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    for (const broker of brokers) {
        const colon = broker.lastIndexOf(':');
        const port = Number(broker.slice(colon + 1));
        if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65_535 || /\s|\/\//.test(broker)) {
            throw new ConfigError(`Kafka broker '${broker}' is invalid; enter host:port pairs separated by commas, for example 127.0.0.1:9092.`);
        }
    }
    if (brokers.length === 0) throw new ConfigError('Kafka brokers is empty; enter host:port pairs separated by commas, for example 127.0.0.1:9092.');
    return brokers;
}

function parseTls(config: RawBusConfig, env: NodeJS.ProcessEnv): KafkaSettings['tls'] {
    const enabled = field(config.tls, ENV_DEFAULTS.tls, env).value.toLowerCase();
    if (!['', 'true', 'false'].includes(enabled)) {
        throw new ConfigError(`TLS '${enabled}' is invalid; enter true, false, or leave it empty.`);
    }
    const caFile = field(config.caFile, ENV_DEFAULTS.caFile, env).value;
    const certFile = field(config.certFile, ENV_DEFAULTS.certFile, env).value;
    const keyFile = field(config.keyFile, ENV_DEFAULTS.keyFile, env).value;
    if ((certFile === '') !== (keyFile === '')) {
        throw new ConfigError(`TLS client certificate '${certFile}' and key '${keyFile}' must be set together; enter both files or neither.`);
    }
    if (enabled !== 'true' && caFile === '' && certFile === '') return undefined;
    return {
        ...(caFile ? { caFile } : {}),
        ...(certFile ? { certFile, keyFile } : {}),
    };
}

function parseSasl(config: RawBusConfig, env: NodeJS.ProcessEnv): KafkaSettings['sasl'] {
    const mechanism = field(config.saslMechanism, ENV_DEFAULTS.saslMechanism, env).value.toLowerCase();
    if (mechanism === '') return undefined;
    if (!MECHANISMS.includes(mechanism as SaslMechanism)) {
        throw new ConfigError(`SASL mechanism '${mechanism}' is not supported; enter one of ${MECHANISMS.join(', ')}, or leave it empty for none.`);
    }
    const username = required(field(config.saslUsername, ENV_DEFAULTS.saslUsername, env), 'SASL username', 'enter the account name or ${NAME} of an environment variable.');
    const password = required(
        field(config.saslPassword, ENV_DEFAULTS.saslPassword, env),
        'SASL password',
        'enter ${NAME} of an environment variable holding the password, such as ${UL_KAFKA_SASL_PASSWORD}.',
    );
    return { mechanism: mechanism as SaslMechanism, username, password };
}

function parseKafka(config: RawBusConfig, env: NodeJS.ProcessEnv): KafkaSettings {
    const brokers = parseBrokers(required(field(config.brokers, ENV_DEFAULTS.brokers, env), 'Kafka brokers', 'enter host:port pairs separated by commas, for example 127.0.0.1:9092.'));
    const clientId = field(config.clientId, '', env).value || KAFKA_DEFAULTS.clientId;
    const groupId = field(config.groupId, '', env).value || KAFKA_DEFAULTS.groupId;
    for (const [label, value] of [['Client id', clientId], ['Group id', groupId]] as const) {
        if (!NAME.test(value)) throw new ConfigError(`${label} '${value}' is invalid; use letters, digits, '.', '_' and '-' only.`);
    }
    const tls = parseTls(config, env);
    const sasl = parseSasl(config, env);
    return {
        brokers,
        clientId,
        groupId,
        partitions: wholeNumber(field(config.partitions, '', env), 'Partitions', KAFKA_DEFAULTS.partitions, 1, 10_000),
        replicationFactor: wholeNumber(field(config.replicationFactor, '', env), 'Replication factor', KAFKA_DEFAULTS.replicationFactor, 1, 32),
        weight: parseWeight(config.weight, env),
        ...(tls ? { tls } : {}),
        ...(sasl ? { sasl } : {}),
    };
}

/** Parses and checks the config node's properties; throws ConfigError naming the value and the fix. */
export function parseBusSettings(config: RawBusConfig, env: NodeJS.ProcessEnv = process.env): BusSettings {
    const transportField = field(config.transport, '', env);
    if (transportField.unset) {
        throw new ConfigError(`Bus transport uses \${${transportField.unset}}, but the environment variable ${transportField.unset} is not set; set it to memory or kafka before starting Node-RED.`);
    }
    const transport = transportField.value.toLowerCase() || 'memory';
    const seconds = wholeNumber(field(config.settleTimeout, '', env), 'Settle timeout', DEFAULT_SETTLE_TIMEOUT_MS / 1_000, 1, 86_400);
    const settleTimeoutMs = seconds * 1_000;

    if (transport === 'memory') {
        return { transport, busName: field(config.busName, '', env).value || 'default', settleTimeoutMs };
    }
    if (transport === 'kafka') {
        return { transport, kafka: parseKafka(config, env), settleTimeoutMs };
    }
    throw new ConfigError(`Bus transport '${transport}' is unknown; set it (or the environment variable UL_BUS_TRANSPORT) to memory or kafka.`);
}
