import { createRequire } from 'node:module';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { sharedMemoryBus } from '../../lib/bus/memory';
import busNode from './bus';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

beforeAll(() => {
    helper.init(require.resolve('node-red'));
});

afterEach(async () => {
    await helper.unload();
});

function errors(): string[] {
    return helper
        .log()
        .args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20)
        .map((call: { msg: unknown }[]) => String(call[0].msg));
}

describe('ul-bus', () => {
    it('should use the process-wide memory bus of its name', async () => {
        await helper.load([busNode], [{ id: 'bus-1', type: 'ul-bus', transport: 'memory', busName: 'bus-config-test', settleTimeout: '15' }]);
        const node = helper.getNode('bus-1');

        expect(node.transport).toBe(sharedMemoryBus('bus-config-test'));
        expect(node.settleTimeoutMs).toBe(15_000);
        expect(errors()).toEqual([]);
    });

    it('should report an invalid broker with the fix', async () => {
        await helper.load([busNode], [{ id: 'bus-1', type: 'ul-bus', transport: 'kafka', brokers: 'kafka-1' }]);

        expect(errors()).toEqual(["Kafka broker 'kafka-1' is invalid; enter host:port pairs separated by commas, for example 127.0.0.1:9092."]);
        await expect(helper.getNode('bus-1').transport.publish('telemetry.clean', 'well-7', [])).rejects.toThrow("Kafka broker 'kafka-1' is invalid");
    });

    it('should report an unreadable TLS file', async () => {
        await helper.load([busNode], [{ id: 'bus-1', type: 'ul-bus', transport: 'kafka', brokers: '127.0.0.1:19092', caFile: '/nonexistent/ca.pem' }]);

        expect(errors()).toHaveLength(1);
        expect(errors()[0]).toMatch(/^TLS CA certificate file '\/nonexistent\/ca\.pem' cannot be read \(ENOENT.*\); check the path in the bus settings\.$/);
    });
});
