// Node types and environment variables that a flow file of this project may name.

/**
 * Node types registered by the core nodes of Node-RED 4.1 (`registerType` calls in
 * @node-red/nodes/core/*), plus the editor's structural types tab, subflow and group. The
 * placeholder type `unknown` is left out on purpose: Node-RED uses it for nodes whose module is
 * missing. Subflow instances (`subflow:<id>`) are checked against the subflows of the file.
 */
export const CORE_NODE_TYPES: readonly string[] = [
    'tab', 'subflow', 'group', 'junction',
    'inject', 'debug', 'complete', 'catch', 'status', 'link in', 'link out', 'link call', 'comment', 'global-config',
    'function', 'switch', 'change', 'range', 'template', 'delay', 'trigger', 'exec', 'rbe',
    'tls-config', 'http proxy', 'mqtt in', 'mqtt out', 'mqtt-broker', 'http in', 'http response', 'http request',
    'websocket in', 'websocket out', 'websocket-listener', 'websocket-client',
    'tcp in', 'tcp out', 'tcp request', 'udp in', 'udp out',
    'csv', 'html', 'json', 'xml', 'yaml',
    'split', 'join', 'sort', 'batch',
    'file', 'file in', 'watch',
];

/**
 * Node types of node-red-contrib-modbus 5.23, a dependency of the project, that flows may use: the
 * `registerType` calls in node_modules/node-red-contrib-modbus/modbus/*.js, except the types in
 * FORBIDDEN_NODE_TYPES. Node-RED finds the package in the project's node_modules, so the edge
 * runtime loads them without a palette install.
 */
export const CONTRIB_NODE_TYPES: readonly string[] = [
    'modbus-client', 'modbus-read', 'modbus-getter', 'modbus-flex-getter', 'modbus-write', 'modbus-flex-write',
    'modbus-server', 'modbus-response', 'modbus-response-filter', 'modbus-queue-info', 'modbus-flex-connector',
    'modbus-flex-sequencer', 'modbus-io-config',
];

/**
 * Installed node types that no flow may use, with the reason as a clause for the message. The
 * keys are matched without case, so the package.json spelling (Modbus-Flex-Server) is caught too.
 */
export const FORBIDDEN_NODE_TYPES: Readonly<Record<string, string>> = {
    // vm2 3.9.19, the version installed with the package, has published sandbox escapes without a
    // fixed release (for example CVE-2023-37466), so code in this node's settings can run with the
    // rights of the runtime.
    'modbus-flex-server':
        'it runs the JavaScript of its register handlers in the vm2 sandbox, which has known escapes, so whoever edits the flow can run any code on the edge device',
};

/**
 * Environment variables the runtime defines for the flows: the variable of every command
 * option (OPTION_SPECS in runtime/options.ts) and the flow defaults that `flowEnvironment` in
 * runtime/process.ts sets for the cloud and edge roles. known.test.ts fails when either
 * source gains or loses a name that is missing here.
 */
export const RUNTIME_ENV_NAMES: readonly string[] = [
    // runtime/options.ts OPTION_SPECS
    'UL_PROFILE',
    'UL_DATA_DIR',
    'UL_HOST',
    'UL_HTTP_PORT',
    'UL_EDGE_HTTP_PORT',
    'UL_MQTT_PORT',
    'UL_MQTT_URL',
    'UL_REPLAY_SPEED',
    'UL_REPLAY_LOOP',
    'UL_DATABASE_URL',
    'UL_IMPORT_DEMO_REPORT',
    'UL_RETENTION',
    'UL_RETENTION_INTERVAL_HOURS',
    'UL_ASSETS_FILE',
    'UL_DEVICES_FILE',
    'UL_DASHBOARD_FEED',
    // runtime/process.ts flowEnvironment
    'UL_STORE_ENGINE',
    'UL_BUS_TRANSPORT',
    'UL_MQTT_SHARED_GROUP',
    'UL_SMTP_HOST',
    'UL_SMTP_PORT',
    'UL_REPLAY_FILE_A',
    'UL_REPLAY_FILE_B',
    'UL_REPLAY_FILE_C',
    'UL_MQTT_USERNAME',
    'UL_MQTT_PASSWORD',
    'UL_MQTT_TLS_CA',
    'UL_MQTT_TLS_CERT',
    'UL_MQTT_TLS_KEY',
];

/**
 * Variables Node-RED 4.1 itself provides to every node (`getSetting` in @node-red/util and the
 * Flow, Group and Subflow classes of @node-red/runtime).
 */
export const NODE_RED_ENV_NAMES: readonly string[] = [
    'NR_NODE_ID',
    'NR_NODE_NAME',
    'NR_NODE_PATH',
    'NR_GROUP_ID',
    'NR_GROUP_NAME',
    'NR_FLOW_ID',
    'NR_FLOW_NAME',
    'NR_SUBFLOW_ID',
    'NR_SUBFLOW_NAME',
    'NR_SUBFLOW_PATH',
];

/** Returns the node types a package.json registers under `node-red.nodes`; none when the key is absent. */
export function nodeTypesFromPackage(packageJson: unknown): string[] {
    const nodeRed = (packageJson as { 'node-red'?: { nodes?: unknown } } | null)?.['node-red'];
    const nodes = nodeRed?.nodes;
    if (typeof nodes !== 'object' || nodes === null) return [];
    return Object.keys(nodes);
}
