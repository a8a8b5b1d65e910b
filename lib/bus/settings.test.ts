import { describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { parseBusSettings, type BusSettings, type KafkaSettings } from './settings';

const kafkaEnv = { UL_KAFKA_BROKERS: '127.0.0.1:19092' };

function kafkaOf(settings: BusSettings): KafkaSettings {
    if (settings.transport !== 'kafka') throw new Error(`expected the kafka transport, got ${settings.transport}`);
    return settings.kafka;
}

describe('parseBusSettings', () => {
    it('should default to the memory transport', () => {
        expect(parseBusSettings({}, {})).toEqual({ transport: 'memory', busName: 'default', settleTimeoutMs: 60_000 });
        expect(parseBusSettings({ transport: ' Memory ', busName: 'tests', settleTimeout: '5' }, {})).toEqual({ transport: 'memory', busName: 'tests', settleTimeoutMs: 5_000 });
    });

    it('should resolve the transport from the environment', () => {
        const settings = parseBusSettings({ transport: '${UL_BUS_TRANSPORT}' }, { UL_BUS_TRANSPORT: 'kafka', ...kafkaEnv });

        expect(settings.transport).toBe('kafka');
    });

    it('should name an unset transport variable', () => {
        expect(() => parseBusSettings({ transport: '${UL_BUS_TRANSPORT}' }, {})).toThrow(
            'Bus transport uses ${UL_BUS_TRANSPORT}, but the environment variable UL_BUS_TRANSPORT is not set; set it to memory or kafka before starting Node-RED.',
        );
    });

    it('should reject an unknown transport with the fix', () => {
        expect(() => parseBusSettings({ transport: 'kafak' }, {})).toThrow(ConfigError);
        expect(() => parseBusSettings({ transport: 'kafak' }, {})).toThrow("Bus transport 'kafak' is unknown; set it (or the environment variable UL_BUS_TRANSPORT) to memory or kafka.");
    });

    it('should fill Kafka defaults for a flow file without Kafka properties', () => {
        const settings = parseBusSettings({ transport: 'kafka' }, kafkaEnv);

        expect(settings).toEqual({
            transport: 'kafka',
            settleTimeoutMs: 60_000,
            kafka: { brokers: ['127.0.0.1:19092'], clientId: 'upstream-live', groupId: 'upstream-live', partitions: 12, replicationFactor: 1, weight: 1 },
        });
    });

    it('should read every Kafka property', () => {
        const settings = parseBusSettings(
            {
                transport: 'kafka',
                brokers: 'kafka-1:9093, kafka-2:9093',
                clientId: 'cloud-a',
                groupId: 'regulator',
                partitions: '24',
                replicationFactor: '3',
                weight: '0.7',
                tls: 'true',
                caFile: '/etc/kafka/ca.pem',
                certFile: '/etc/kafka/client.pem',
                keyFile: '/etc/kafka/client.key',
                saslMechanism: 'SCRAM-SHA-512',
                saslUsername: 'cloud',
                saslPassword: '${UL_KAFKA_SASL_PASSWORD}',
            },
            { UL_KAFKA_SASL_PASSWORD: 's3cret' },
        );

        expect(settings).toEqual({
            transport: 'kafka',
            settleTimeoutMs: 60_000,
            kafka: {
                brokers: ['kafka-1:9093', 'kafka-2:9093'],
                clientId: 'cloud-a',
                groupId: 'regulator',
                partitions: 24,
                replicationFactor: 3,
                weight: 0.7,
                tls: { caFile: '/etc/kafka/ca.pem', certFile: '/etc/kafka/client.pem', keyFile: '/etc/kafka/client.key' },
                sasl: { mechanism: 'scram-sha-512', username: 'cloud', password: 's3cret' },
            },
        });
    });

    it('should read the weight from UL_KAFKA_WEIGHT', () => {
        expect(kafkaOf(parseBusSettings({ transport: 'kafka' }, { ...kafkaEnv, UL_KAFKA_WEIGHT: '0.5' })).weight).toBe(0.5);
    });

    it('should name UL_KAFKA_WEIGHT in a weight error', () => {
        expect(() => parseBusSettings({ transport: 'kafka' }, { ...kafkaEnv, UL_KAFKA_WEIGHT: 'abc' })).toThrow(
            "Consumer weight 'abc' (from the environment variable UL_KAFKA_WEIGHT) is invalid; enter a decimal number above 0 and up to 100, such as 0.5, or leave it empty for 1.",
        );
    });

    it('should accept a weight with surrounding spaces', () => {
        expect(kafkaOf(parseBusSettings({ transport: 'kafka', weight: ' .5 ' }, kafkaEnv)).weight).toBe(0.5);
    });

    it('should treat unset optional references as empty', () => {
        const settings = parseBusSettings(
            { transport: 'kafka', brokers: '${UL_KAFKA_BROKERS}', tls: '${UL_KAFKA_TLS}', caFile: '${UL_KAFKA_TLS_CA}', saslMechanism: '${UL_KAFKA_SASL_MECHANISM}', saslPassword: '${UL_KAFKA_SASL_PASSWORD}' },
            kafkaEnv,
        );

        expect(kafkaOf(settings).tls).toBeUndefined();
        expect(kafkaOf(settings).sasl).toBeUndefined();
    });

    it('should turn TLS on for a CA file alone', () => {
        const settings = parseBusSettings({ transport: 'kafka', caFile: '/etc/kafka/ca.pem' }, kafkaEnv);

        expect(kafkaOf(settings).tls).toEqual({ caFile: '/etc/kafka/ca.pem' });
    });

    it('should name an unset broker variable', () => {
        expect(() => parseBusSettings({ transport: 'kafka' }, {})).toThrow(
            'Kafka brokers uses ${UL_KAFKA_BROKERS}, but the environment variable UL_KAFKA_BROKERS is not set; set it before starting Node-RED or enter the value directly.',
        );
    });

    it('should reject an empty broker list', () => {
        expect(() => parseBusSettings({ transport: 'kafka', brokers: ' ' }, {})).toThrow('Kafka brokers is empty; enter host:port pairs');
    });

    it.each(['kafka-1', 'kafka-1:0', 'kafka-1:99999', ':9092', 'kafka://kafka-1:9092', 'kafka 1:9092'])('should reject broker %s', (broker) => {
        expect(() => parseBusSettings({ transport: 'kafka', brokers: broker }, {})).toThrow(`Kafka broker '${broker}' is invalid`);
    });

    it.each([
        ['partitions', '0', "Partitions '0' is invalid; enter a whole number from 1 to 10000"],
        ['partitions', '2.5', "Partitions '2.5' is invalid"],
        ['replicationFactor', 'three', "Replication factor 'three' is invalid"],
        ['weight', '0', "Consumer weight '0' is invalid; enter a decimal number above 0 and up to 100"],
        ['weight', '0x2', "Consumer weight '0x2' is invalid"],
        ['weight', '1e-3', "Consumer weight '1e-3' is invalid"],
        ['weight', 'half', "Consumer weight 'half' is invalid"],
        ['weight', '101', "Consumer weight '101' is invalid"],
        ['settleTimeout', '0', "Settle timeout '0' is invalid"],
        ['clientId', 'cloud a', "Client id 'cloud a' is invalid"],
        ['groupId', 'group/1', "Group id 'group/1' is invalid"],
        ['tls', 'yes', "TLS 'yes' is invalid"],
        ['certFile', '/etc/kafka/client.pem', "TLS client certificate '/etc/kafka/client.pem' and key '' must be set together"],
        ['saslMechanism', 'gssapi', "SASL mechanism 'gssapi' is not supported"],
    ])('should reject %s %s', (property, value, message) => {
        expect(() => parseBusSettings({ transport: 'kafka', [property]: value }, kafkaEnv)).toThrow(message);
    });

    it('should require the SASL account when a mechanism is set', () => {
        expect(() => parseBusSettings({ transport: 'kafka', saslMechanism: 'plain', saslUsername: '' }, kafkaEnv)).toThrow('SASL username is empty');
        expect(() => parseBusSettings({ transport: 'kafka', saslMechanism: 'plain', saslUsername: 'cloud' }, kafkaEnv)).toThrow(
            'SASL password uses ${UL_KAFKA_SASL_PASSWORD}, but the environment variable UL_KAFKA_SASL_PASSWORD is not set',
        );
    });

    it('should keep the password out of error messages', () => {
        let message = '';
        try {
            parseBusSettings({ transport: 'kafka', brokers: 'bad', saslMechanism: 'plain', saslUsername: 'cloud', saslPassword: '${PASSWORD}' }, { PASSWORD: 'hunter2' });
        } catch (error) {
            message = (error as Error).message;
        }

        expect(message).toContain("Kafka broker 'bad' is invalid");
        expect(message).not.toContain('hunter2');
    });
});
