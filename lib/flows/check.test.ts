import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { FLOWS_DIR, PROJECT_ROOT } from '../paths';
import { formatFlows } from './canonical';
import { checkFlowText, formatProblem, type CheckOptions, type FlowProblem } from './check';
import { RUNTIME_ENV_NAMES, nodeTypesFromPackage } from './known';
import { parseFlowText, type FlowNode } from './model';

const OPTIONS: CheckOptions = {
    nodeTypes: nodeTypesFromPackage(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'))),
    envNames: RUNTIME_ENV_NAMES,
};
const FILE = 'flows/cloud.json';

function cloudNodes(): FlowNode[] {
    return parseFlowText(readFileSync(join(FLOWS_DIR, 'cloud.json'), 'utf8'), FILE);
}

function node(nodes: FlowNode[], id: string): FlowNode {
    const found = nodes.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`test setup: node ${id} not in ${FILE}`);
    return found;
}

/** Checks the nodes written in canonical form, so only the edit under test can fail. */
function check(nodes: FlowNode[]): FlowProblem[] {
    return checkFlowText(formatFlows(nodes), FILE, OPTIONS);
}

function edited(edit: (nodes: FlowNode[]) => void): FlowProblem[] {
    const nodes = cloudNodes();
    edit(nodes);
    return check(nodes);
}

describe('checkFlowText on the repository flows', () => {
    for (const name of ['edge.json', 'cloud.json']) {
        it(`should pass ${name} in canonical form`, () => {
            const text = formatFlows(parseFlowText(readFileSync(join(FLOWS_DIR, name), 'utf8'), name));
            expect(checkFlowText(text, name, OPTIONS)).toEqual([]);
        });
    }
});

describe('checkFlowText failures', () => {
    it('should name the misplaced node', () => {
        const nodes = parseFlowText(formatFlows(cloudNodes()), FILE);
        const verify = nodes.findIndex((entry) => entry.id === 'ingest-verify');
        const [moved] = nodes.splice(verify, 1);
        nodes.push(moved);
        const problems = checkFlowText(JSON.stringify(nodes, null, 4) + '\n', FILE, OPTIONS);
        expect(problems).toHaveLength(1);
        expect(problems[0].code).toBe('not-canonical');
        expect(problems[0].nodeId).toBe('ingest-verify');
        expect(problems[0].nodeType).toBe('ul-verify');
        expect(problems[0].fix).toBe('run `upstream-live flows fmt flows/cloud.json`');
    });

    it('should name the node with misordered keys', () => {
        const text = formatFlows(cloudNodes()).replace('"id": "cloud-bus",\n        "type": "ul-bus",', '"type": "ul-bus",\n        "id": "cloud-bus",');
        const problems = checkFlowText(text, FILE, OPTIONS);
        expect(problems.map((problem) => [problem.code, problem.nodeId])).toEqual([['not-canonical', 'cloud-bus']]);
        expect(problems[0].message).toContain('keys are not in canonical order');
    });

    it('should report tab indentation as layout', () => {
        const text = formatFlows(cloudNodes()).replace('        "name": "verify signature",', '\t"name": "verify signature",');
        const problems = checkFlowText(text, FILE, OPTIONS);
        expect(problems).toHaveLength(1);
        expect(problems[0].nodeId).toBe('ingest-verify');
        expect(problems[0].message).toMatch(/indentation or line breaks differ from the canonical form at line \d+/);
    });

    it('should report a literal password', () => {
        const problems = edited((nodes) => {
            node(nodes, 'alerts-router').password = 'hunter2';
        });
        expect(problems).toHaveLength(1);
        expect(problems[0].code).toBe('credential');
        expect(problems[0].nodeId).toBe('alerts-router');
        expect(problems[0].nodeType).toBe('ul-alert-router');
        expect(problems[0].message).toBe('property "password" contains a literal credential');
        expect(problems[0].fix).toContain('"${UL_ALERT_ROUTER_PASSWORD}"');
    });

    it('should report a credentials key', () => {
        const problems = edited((nodes) => {
            node(nodes, 'cloud-store').credentials = { password: 'hunter2' };
        });
        expect(problems).toHaveLength(1);
        expect(problems[0].code).toBe('credential');
        expect(problems[0].nodeId).toBe('cloud-store');
        expect(problems[0].message).toContain('"credentials" key');
        expect(problems[0].fix).toContain('remove the key');
    });

    it('should report a nested token and an apiKey', () => {
        const problems = edited((nodes) => {
            node(nodes, 'alerts-router').headers = [{ name: 'authorization', token: 'abc123' }];
            node(nodes, 'cloud-ui-page').ApiKey = 12345;
        });
        expect(problems.map((problem) => [problem.nodeId, problem.message])).toEqual([
            ['cloud-ui-page', 'property "ApiKey" contains a literal credential'],
            ['alerts-router', 'property "headers[0].token" contains a literal credential'],
        ]);
    });

    it('should accept env and empty credentials', () => {
        const problems = edited((nodes) => {
            node(nodes, 'alerts-router').password = '${UL_SMTP_HOST}';
            node(nodes, 'alerts-router').secret = '';
            node(nodes, 'alerts-router').token = false;
        });
        expect(problems).toEqual([]);
    });

    it('should accept key properties that are not secrets', () => {
        const problems = check([
            { id: 't', type: 'tab', label: 'tab' },
            { id: 'tls', type: 'tls-config', name: 'tls', cert: '/etc/ssl/cert.pem', key: '/etc/ssl/key.pem' },
            { id: 'j', type: 'join', z: 't', key: 'topic', x: 1, y: 1, wires: [] },
        ]);
        expect(problems).toEqual([]);
    });

    it('should report an undefined variable', () => {
        const problems = edited((nodes) => {
            node(nodes, 'cloud-store').connection = '${UL_DATABSE_URL}';
        });
        expect(problems).toHaveLength(1);
        expect(problems[0].code).toBe('undefined-env');
        expect(problems[0].nodeId).toBe('cloud-store');
        expect(problems[0].nodeType).toBe('ul-store');
        expect(problems[0].message).toContain('UL_DATABSE_URL');
        expect(problems[0].fix).toContain('UL_DATABASE_URL');
    });

    it('should report an undefined env TypedInput', () => {
        const problems = check([
            { id: 't', type: 'tab', label: 'tab' },
            { id: 'i', type: 'inject', z: 't', props: [{ p: 'payload', v: 'UL_NOT_SET', vt: 'env' }], x: 1, y: 1, wires: [] },
        ]);
        expect(problems).toHaveLength(1);
        expect(problems[0].nodeId).toBe('i');
        expect(problems[0].message).toContain('property "props[0].v" refers to environment variable UL_NOT_SET');
    });

    it('should accept tab, Node-RED and code variables', () => {
        const problems = check([
            { id: 't', type: 'tab', label: 'tab', env: [{ name: 'SITE', value: 'north', type: 'str' }] },
            { id: 'f', type: 'function', z: 't', func: 'return { payload: `${msg.payload}` };', topic: '${SITE}', x: 1, y: 1, wires: [] },
            { id: 'g', type: 'change', z: 't', rules: [{ t: 'set', p: 'topic', pt: 'msg', to: 'NR_FLOW_NAME', tot: 'env' }], x: 1, y: 2, wires: [] },
        ]);
        expect(problems).toEqual([]);
    });

    it('should scope tab variables to their tab', () => {
        const problems = check([
            { id: 't1', type: 'tab', label: 'one', env: [{ name: 'SITE', value: 'north', type: 'str' }] },
            { id: 't2', type: 'tab', label: 'two' },
            { id: 'f', type: 'function', z: 't2', topic: '${SITE}', x: 1, y: 1, wires: [] },
        ]);
        expect(problems.map((problem) => [problem.code, problem.nodeId])).toEqual([['undefined-env', 'f']]);
    });

    it('should accept subflow and group variables', () => {
        const problems = check([
            { id: 't', type: 'tab', label: 'tab' },
            { id: 'sf', type: 'subflow', name: 'limit check', env: [{ name: 'LIMIT', value: '100', type: 'num' }], in: [], out: [] },
            { id: 'inner', type: 'change', z: 'sf', name: 'limit', rules: [], topic: '${LIMIT}', site: '${SITE}', x: 1, y: 1, wires: [] },
            { id: 'inst', type: 'subflow:sf', z: 't', env: [{ name: 'SITE', value: 'north', type: 'str' }], x: 1, y: 1, wires: [] },
            { id: 'grp', type: 'group', z: 't', env: [{ name: 'AREA', value: 'a', type: 'str' }], nodes: ['d'], x: 1, y: 2, w: 100, h: 50 },
            { id: 'd', type: 'debug', z: 't', g: 'grp', topic: '${AREA}', x: 1, y: 3 },
        ]);
        expect(problems).toEqual([]);
    });

    it('should report a dangling link', () => {
        const problems = check([
            { id: 't', type: 'tab', label: 'tab' },
            { id: 'out', type: 'link out', z: 't', name: 'to alerts', mode: 'link', links: ['gone-in'], x: 1, y: 1 },
        ]);
        expect(problems).toHaveLength(1);
        expect(problems[0].code).toBe('dangling-wire');
        expect(problems[0].nodeId).toBe('out');
        expect(problems[0].message).toBe('links to "gone-in", which is not in the file');
        expect(problems[0].fix).toBe('remove "gone-in" from the links list, or restore node "gone-in"');
    });

    it('should report an unknown node type', () => {
        const problems = edited((nodes) => {
            node(nodes, 'ingest-normalize').type = 'ul-normalise';
        });
        expect(problems).toHaveLength(1);
        expect(problems[0].code).toBe('unknown-type');
        expect(problems[0].nodeId).toBe('ingest-normalize');
        expect(problems[0].nodeType).toBe('ul-normalise');
        expect(problems[0].fix).toContain('use "ul-normalize"');
    });

    it('should accept the Modbus node types', () => {
        const problems = check([
            { id: 't', type: 'tab', label: 'tab' },
            { id: 'plc', type: 'modbus-client', clienttype: 'tcp', tcpHost: '127.0.0.1', tcpPort: '502' },
            { id: 'poll', type: 'modbus-read', z: 't', server: 'plc', x: 1, y: 1, wires: [[], []] },
        ]);
        expect(problems).toEqual([]);
    });

    it('should reject the Modbus flex server', () => {
        const problems = check([
            { id: 't', type: 'tab', label: 'tab' },
            { id: 'sim', type: 'modbus-flex-server', z: 't', name: 'simulator', x: 1, y: 1, wires: [] },
        ]);
        expect(problems.map((problem) => [problem.code, problem.nodeId])).toEqual([['forbidden-type', 'sim']]);
        expect(problems[0].message).toMatch(/^node type "modbus-flex-server" is not allowed, because it runs the JavaScript of its register handlers in the vm2 sandbox, which has known escapes/);
        expect(problems[0].fix).toContain('modbus-server');
    });

    it('should reject the flex server in any case', () => {
        const options = { ...OPTIONS, nodeTypes: [...OPTIONS.nodeTypes, 'Modbus-Flex-Server'] };
        const text = formatFlows([
            { id: 't', type: 'tab', label: 'tab' },
            { id: 'sim', type: 'Modbus-Flex-Server', z: 't', x: 1, y: 1, wires: [] },
        ]);
        expect(checkFlowText(text, FILE, options).map((problem) => problem.code)).toEqual(['forbidden-type']);
    });

    it('should report an instance of a missing subflow', () => {
        const problems = check([
            { id: 't', type: 'tab', label: 'tab' },
            { id: 's', type: 'subflow:gone', z: 't', x: 1, y: 1, wires: [] },
        ]);
        expect(problems.map((problem) => [problem.code, problem.nodeId])).toEqual([['unknown-type', 's']]);
        expect(problems[0].fix).toBe('add the subflow definition to the file or delete the instance');
    });

    it('should report a dangling wire', () => {
        const problems = edited((nodes) => {
            node(nodes, 'ingest-verify').wires = [['ingest-normalize'], ['ingest-quarantin']];
        });
        expect(problems).toHaveLength(1);
        expect(problems[0].code).toBe('dangling-wire');
        expect(problems[0].nodeId).toBe('ingest-verify');
        expect(problems[0].nodeType).toBe('ul-verify');
        expect(problems[0].message).toBe('output 2 is wired to "ingest-quarantin", which is not in the file');
        expect(problems[0].fix).toBe('remove "ingest-quarantin" from the wires of output 2, or point it at "ingest-quarantine"');
    });

    it('should report a missing config reference', () => {
        const problems = edited((nodes) => {
            node(nodes, 'ingest-store-write').store = 'cloud-store-2';
        });
        expect(problems).toHaveLength(1);
        expect(problems[0].code).toBe('missing-reference');
        expect(problems[0].nodeId).toBe('ingest-store-write');
        expect(problems[0].nodeType).toBe('ul-store-write');
        expect(problems[0].message).toBe('property "store" refers to config node "cloud-store-2", which is not in the file');
        expect(problems[0].fix).toBe('set "store" to an existing ul-store node (cloud-store) or add config node "cloud-store-2"');
    });

    it('should accept broker hosts, URLs and env references', () => {
        const problems = check([
            { id: 't', type: 'tab', label: 'tab' },
            { id: 'b', type: 'mqtt-broker', name: 'broker', broker: 'localhost', port: '1883' },
            { id: 'in', type: 'ul-mqtt-ingest', z: 't', broker: 'mqtt://127.0.0.1:1883', x: 1, y: 1, wires: [] },
            { id: 'out', type: 'mqtt out', z: 't', broker: 'b', x: 1, y: 2 },
        ]);
        expect(problems).toEqual([]);
    });

    it('should report an OPC UA reader whose endpoint node is missing', () => {
        const problems = check([
            { id: 't', type: 'tab', label: 'tab' },
            { id: 'pad-endpoint', type: 'ul-opcua-endpoint', endpoint: 'opc.tcp://127.0.0.1:4840' },
            { id: 'r', type: 'ul-opcua-reader', z: 't', endpoint: 'pad-endpoit', x: 1, y: 1, wires: [[]] },
        ]);
        expect(problems.map((problem) => [problem.code, problem.nodeId])).toEqual([['missing-reference', 'r']]);
        expect(problems[0].fix).toBe('set "endpoint" to an existing ul-opcua-endpoint node (pad-endpoint) or add config node "pad-endpoit"');
    });

    it('should report a node whose tab is missing', () => {
        const problems = check([{ id: 'n', type: 'debug', z: 'gone', x: 1, y: 1 }]);
        expect(problems.map((problem) => [problem.code, problem.nodeId])).toEqual([['missing-reference', 'n']]);
    });

    it('should report duplicate ids', () => {
        const problems = check([
            { id: 't', type: 'tab', label: 'tab' },
            { id: 'n', type: 'debug', z: 't', x: 1, y: 1 },
            { id: 'n', type: 'debug', z: 't', x: 1, y: 2 },
        ]);
        expect(problems.map((problem) => problem.code)).toEqual(['duplicate-id']);
    });

    it('should report invalid JSON as one problem', () => {
        const problems = checkFlowText('[{"id": "a",', FILE, OPTIONS);
        expect(problems).toHaveLength(1);
        expect(problems[0].code).toBe('invalid-file');
        expect(problems[0].fix).toBe('fix the syntax or restore the file from git');
    });
});

describe('formatProblem', () => {
    it('should fit file, node and fix on one line', () => {
        const [problem] = edited((nodes) => {
            node(nodes, 'ingest-verify').wires = [['ingest-normalize'], ['nowhere']];
        });
        const line = formatProblem(problem);
        expect(line).toBe(
            'flows/cloud.json: node verify signature (ul-verify, ingest-verify): output 2 is wired to "nowhere", which is not in the file. Fix: remove "nowhere" from the wires of output 2, or restore node "nowhere".',
        );
        expect(line).not.toContain('\n');
    });
});
