// Creates the transport that the bus settings select.
import { ConfigError } from '../errors';
import { createKafkaBus, type KafkaBusTuning } from './kafka';
import type { BusLogger } from './kafka-client';
import { sharedMemoryBus } from './memory';
import type { BusSettings } from './settings';
import type { BusTransport } from './transport';

export type { BusLogger } from './kafka-client';

/**
 * Returns the process-wide memory bus of the settings' bus name, or a new Kafka bus that connects
 * in the background. Throws ConfigError when a TLS file cannot be read.
 */
export function createBusTransport(settings: BusSettings, logger: BusLogger, tuning?: KafkaBusTuning): BusTransport {
    if (settings.transport === 'memory') return sharedMemoryBus(settings.busName);
    return createKafkaBus(settings.kafka, logger, tuning);
}

/**
 * Returns a transport for a bus whose settings are invalid. Every publish fails with the
 * configuration error and every subscription reports the failed state, so the nodes show it.
 */
export function failedBus(error: ConfigError): BusTransport {
    return {
        durable: false,
        publish: async () => {
            throw error;
        },
        subscribe: (_topic, _handler, options) => {
            options?.onState?.('failed', error.badge === 'ConfigError' ? 'invalid bus settings' : error.badge);
            return async () => undefined;
        },
        close: async () => undefined,
    };
}
