import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { FLOWS_DIR } from '../paths';
import { capabilityProblems, checkFlowCapabilities } from './capabilities';
import type { FlowNode } from './model';

function flowFile(name: string): FlowNode[] {
    return JSON.parse(readFileSync(join(FLOWS_DIR, name), 'utf8')) as FlowNode[];
}

describe('capabilityProblems', () => {
    it('should accept the shipped flows on their own profiles', () => {
        expect(capabilityProblems(flowFile('edge.json'), 'edge', {})).toEqual([]);
        expect(capabilityProblems(flowFile('cloud.json'), 'cloud', { UL_BUS_TRANSPORT: 'memory' })).toEqual([]);
    });

    it('should name a cloud node in an edge flow and the fix', () => {
        const nodes: FlowNode[] = [{ id: 'w1', type: 'ul-store-write', name: 'store readings', z: 't1' }];

        expect(capabilityProblems(nodes, 'edge', {})).toEqual([
            'Node store readings (ul-store-write, w1) needs the database, which the edge profile does not have; '
                + 'move the node to the cloud flow, or start this flow with --profile cloud.',
        ]);
    });

    it('should refuse the cloud flow on the edge profile', () => {
        const problems = capabilityProblems(flowFile('cloud.json'), 'edge', {});

        expect(problems.some((problem) => problem.includes('(ul-mqtt-ingest,'))).toBe(true);
        expect(problems.some((problem) => problem.includes('(ul-ui-page,'))).toBe(true);
    });

    it('should require brokers for a Kafka bus', () => {
        const bus: FlowNode = { id: 'b1', type: 'ul-bus', name: 'cloud bus', transport: '${UL_BUS_TRANSPORT}' };

        expect(capabilityProblems([bus], 'cloud', { UL_BUS_TRANSPORT: 'kafka' })).toEqual([
            'Node cloud bus (ul-bus, b1) uses the Kafka transport, but no Kafka brokers are configured; set UL_KAFKA_BROKERS '
                + '(host:port pairs separated by commas), or set UL_BUS_TRANSPORT=memory.',
        ]);
        expect(capabilityProblems([bus], 'cloud', { UL_BUS_TRANSPORT: 'kafka', UL_KAFKA_BROKERS: '127.0.0.1:9092' })).toEqual([]);
        expect(capabilityProblems([{ ...bus, brokers: 'kafka-1:9092' }], 'cloud', { UL_BUS_TRANSPORT: 'kafka' })).toEqual([]);
    });
});

describe('checkFlowCapabilities', () => {
    it('should throw one ConfigError listing every problem', () => {
        const nodes: FlowNode[] = [
            { id: 'w1', type: 'ul-store-write', z: 't1' },
            { id: 'p1', type: 'ul-ui-page', z: 't1' },
        ];

        expect(() => checkFlowCapabilities(nodes, 'edge', 'flows/edge.json', {})).toThrow(ConfigError);
        expect(() => checkFlowCapabilities(nodes, 'edge', 'flows/edge.json', {})).toThrow(
            /flows\/edge.json cannot run on the edge profile:\n {2}- Node <unnamed> \(ul-store-write, w1\).*\n {2}- Node <unnamed> \(ul-ui-page, p1\)/,
        );
    });
});
