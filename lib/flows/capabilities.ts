// Capabilities of the runtime profiles. The edge sits beside a site's sensors without a database or a
// bus. The cloud runs the store, the bus, the API and the dashboard. A flow file with a node that
// needs something its profile lacks is refused at start-up, naming the node and the fix.
import { ConfigError } from '../errors';
import { describeNode, envReferenceName, type FlowNode } from './model';

export type RuntimeRole = 'edge' | 'cloud';

/** Something a node needs from the runtime it runs in. */
export type Capability = 'store' | 'bus' | 'dashboard' | 'mqtt-intake' | 'kafka';

const CAPABILITY_TEXT: Record<Capability, string> = {
    store: 'the database',
    bus: 'the cloud bus',
    dashboard: 'the dashboard',
    'mqtt-intake': 'the cloud MQTT intake',
    kafka: 'Kafka brokers',
};

/** Capabilities of each profile; Kafka is added when UL_KAFKA_BROKERS is set. */
const PROFILE_CAPABILITIES: Record<RuntimeRole, readonly Capability[]> = {
    edge: [],
    cloud: ['store', 'bus', 'dashboard', 'mqtt-intake'],
};

/** Node types that need a capability. Types not listed run on every profile. */
const NODE_NEEDS: Record<string, Capability> = {
    'ul-store': 'store',
    'ul-store-write': 'store',
    'ul-quarantine': 'store',
    'ul-report-import': 'store',
    'ul-bus': 'bus',
    'ul-bus-in': 'bus',
    'ul-bus-out': 'bus',
    'ul-ui-page': 'dashboard',
    'ul-ui-overview': 'dashboard',
    'ul-ui-map': 'dashboard',
    'ul-ui-trend': 'dashboard',
    'ul-ui-alerts': 'dashboard',
    'ul-mqtt-ingest': 'mqtt-intake',
};

/** Resolves a whole-value `${NAME}` reference against the environment; other text stays as it is. */
function resolved(value: unknown, env: NodeJS.ProcessEnv): string {
    const name = envReferenceName(value);
    if (name !== undefined) return (env[name] ?? '').trim();
    return typeof value === 'string' ? value.trim() : '';
}

/** Returns the capabilities of a profile in the given environment. */
export function profileCapabilities(role: RuntimeRole, env: NodeJS.ProcessEnv = process.env): Set<Capability> {
    const capabilities = new Set<Capability>(PROFILE_CAPABILITIES[role]);
    if ((env.UL_KAFKA_BROKERS ?? '').trim() !== '') capabilities.add('kafka');
    return capabilities;
}

/** Returns what each node of a flow file needs, including Kafka for a bus whose transport resolves to kafka. */
function needs(node: FlowNode, env: NodeJS.ProcessEnv): Capability[] {
    const result: Capability[] = [];
    const need = NODE_NEEDS[node.type];
    if (need) result.push(need);
    if (node.type === 'ul-bus' && resolved(node.transport, env) === 'kafka' && resolved(node.brokers ?? '${UL_KAFKA_BROKERS}', env) === '') {
        result.push('kafka');
    }
    return result;
}

/**
 * Lists the nodes of a flow file that the profile cannot run, one line each with the fix. An
 * empty list means the file fits the profile.
 */
export function capabilityProblems(nodes: FlowNode[], role: RuntimeRole, env: NodeJS.ProcessEnv = process.env): string[] {
    const available = profileCapabilities(role, env);
    const problems: string[] = [];
    for (const node of nodes) {
        for (const need of needs(node, env)) {
            if (need === 'kafka' && !available.has('kafka')) {
                problems.push(`Node ${describeNode(node)} uses the Kafka transport, but no Kafka brokers are configured; set UL_KAFKA_BROKERS `
                    + '(host:port pairs separated by commas), or set UL_BUS_TRANSPORT=memory.');
            } else if (need !== 'kafka' && !available.has(need)) {
                const other = role === 'edge' ? 'cloud' : 'edge';
                problems.push(`Node ${describeNode(node)} needs ${CAPABILITY_TEXT[need]}, which the ${role} profile does not have; `
                    + `move the node to the ${other} flow, or start this flow with --profile ${other}.`);
            }
        }
    }
    return problems;
}

/** Throws a ConfigError listing every node that the profile cannot run. */
export function checkFlowCapabilities(nodes: FlowNode[], role: RuntimeRole, file: string, env: NodeJS.ProcessEnv = process.env): void {
    const problems = capabilityProblems(nodes, role, env);
    if (problems.length === 0) return;
    throw new ConfigError(`The flow file ${file} cannot run on the ${role} profile:\n  - ${problems.join('\n  - ')}`);
}
