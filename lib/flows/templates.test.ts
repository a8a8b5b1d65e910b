import { verify } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import replayNode from '../../nodes/replay/replay';
import signNode from '../../nodes/sign/sign';
import tagMapNode from '../../nodes/tag-map/tag-map';
import { runFlowsCommand, type FlowsIo } from '../../runtime/flows-command';
import { UsageError } from '../../runtime/options';
import { PROJECT_ROOT } from '../paths';
import { signingInput } from '../signing/envelope';
import { generateDeviceKey, loadPublicKey } from '../signing/keys';
import type { SignedEnvelope } from '../types';
import { checkFlowText } from './check';
import { RUNTIME_ENV_NAMES, nodeTypesFromPackage } from './known';
import type { FlowNode } from './model';
import { SiteParameterError, TEMPLATES_DIR, generateSiteFlow, instantiateTemplate, listTemplates, loadTemplate, type SiteParameters } from './templates';

const checkOptions = {
    nodeTypes: nodeTypesFromPackage(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'))),
    envNames: RUNTIME_ENV_NAMES,
};

function exampleParameters(template: string): Record<string, unknown> {
    return parse(readFileSync(join(TEMPLATES_DIR, `${template}.example.yaml`), 'utf8')) as Record<string, unknown>;
}

function problemsOf(template: string, parameters: unknown): SiteParameterError {
    try {
        generateSiteFlow(template, parameters);
    } catch (err) {
        if (err instanceof SiteParameterError) return err;
        throw err;
    }
    throw new Error('expected a SiteParameterError');
}

const tempDir = mkdtempSync(join(tmpdir(), 'ul-site-template-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

describe('site templates', () => {
    it('should list every template', () => {
        expect(listTemplates()).toEqual(['modbus-flow-station', 'opcua-well-pad', 'replay-site']);
    });

    for (const template of ['modbus-flow-station', 'opcua-well-pad', 'replay-site']) {
        it(`should generate a checked ${template} flow`, () => {
            const text = generateSiteFlow(template, exampleParameters(template));

            expect(checkFlowText(text, `${template}.json`, checkOptions)).toEqual([]);
        });

        it(`should generate ${template} the same twice`, () => {
            const first = generateSiteFlow(template, exampleParameters(template));
            const second = generateSiteFlow(template, exampleParameters(template));

            expect(second).toBe(first);
        });

        it(`should declare every ${template} placeholder`, () => {
            expect(loadTemplate(template).template).toBe(template);
        });
    }

    it('should derive ids from site and asset', () => {
        const nodes = JSON.parse(generateSiteFlow('replay-site', exampleParameters('replay-site'))) as FlowNode[];
        const ids = nodes.map((node) => node.id).sort();

        expect(ids).toEqual([
            'petrobras-site-b-readings-out',
            'petrobras-site-b-rejected-out',
            'petrobras-site-b-rejected-topic',
            'petrobras-site-b-replay-3w-well-00001',
            'petrobras-site-b-replay-3w-well-00012',
            'petrobras-site-b-sign',
            'petrobras-site-b-site',
            'petrobras-site-b-tag-map-3w-well-00001',
            'petrobras-site-b-tag-map-3w-well-00012',
        ]);
    });

    it('should wire each replay to its own tag map', () => {
        const nodes = JSON.parse(generateSiteFlow('replay-site', exampleParameters('replay-site'))) as FlowNode[];
        const replay = nodes.find((node) => node.id === 'petrobras-site-b-replay-3w-well-00012');
        const tagMap = nodes.find((node) => node.id === 'petrobras-site-b-tag-map-3w-well-00012');

        expect(replay?.wires).toEqual([['petrobras-site-b-tag-map-3w-well-00012'], [], ['petrobras-site-b-rejected-topic']]);
        expect(replay?.file).toBe('petrobras-3w/2/WELL-00012_20170320143144.csv');
        expect(replay?.y).toBe(180);
        expect(tagMap?.assetId).toBe('3w-well-00012');
        expect(tagMap?.wires).toEqual([['petrobras-site-b-sign'], ['petrobras-site-b-rejected-topic']]);
    });

    it('should fill defaults and typed values', () => {
        const nodes = JSON.parse(generateSiteFlow('opcua-well-pad', exampleParameters('opcua-well-pad'))) as FlowNode[];
        const sign = nodes.find((node) => node.type === 'ul-sign');
        const reader = nodes.find((node) => node.id === 'petrobras-pad-7-opcua-well-reader');
        const compress = nodes.find((node) => node.id === 'petrobras-pad-7-compress');

        expect(sign?.certId).toBe('cert-edge-petrobras-07');
        expect(sign?.keyFile).toBe('keys/edge-petrobras-07.key');
        expect(reader?.samplingInterval).toBe(1000);
        expect(reader?.endpoint).toBe('petrobras-pad-7-endpoint');
        expect(compress?.heartbeat).toBe(60);
        expect(compress?.maxErrors).toBe('{}');
    });
});

describe('opcua-well-pad template', () => {
    function generated(parameters = exampleParameters('opcua-well-pad')): FlowNode[] {
        return JSON.parse(generateSiteFlow('opcua-well-pad', parameters)) as FlowNode[];
    }

    function byId(nodes: FlowNode[], id: string): FlowNode {
        const found = nodes.find((node) => node.id === id);
        if (!found) throw new Error(`node ${id} was not generated`);
        return found;
    }

    it('should generate one well per asset', () => {
        const wells = generated().filter((node) => node.type === 'subflow:petrobras-pad-7-opcua-well');

        expect(wells.map((node) => node.id)).toEqual(['petrobras-pad-7-well-3w-well-00004', 'petrobras-pad-7-well-3w-well-00007']);
        expect(wells[1].name).toBe('WELL-00007');
        expect(wells[1].env).toEqual([
            { name: 'ASSET_ID', type: 'str', value: '3w-well-00007' },
            {
                name: 'ITEMS',
                type: 'json',
                value: JSON.stringify([
                    { nodeId: 'ns=1;s=WELL-00007.WellheadPressure', tag: 'WellheadPressure' },
                    { nodeId: 'ns=1;s=WELL-00007.TubingTemperature', tag: 'TubingTemperature' },
                ]),
            },
            {
                name: 'TAG_MAP',
                type: 'json',
                value: JSON.stringify([
                    { tag: 'WellheadPressure', metric: 'pressure_wellhead', unit: 'Pa' },
                    { tag: 'TubingTemperature', metric: 'temp_wellhead', unit: 'degC' },
                ]),
            },
        ]);
        for (const well of wells) {
            expect(well.wires).toEqual([['petrobras-pad-7-compress', 'petrobras-pad-7-safety-rules'], ['petrobras-pad-7-rejected-topic']]);
        }
    });

    it('should map the subflow and its ports', () => {
        const nodes = generated();
        const subflow = byId(nodes, 'petrobras-pad-7-opcua-well');
        const reader = byId(nodes, 'petrobras-pad-7-opcua-well-reader');
        const tagMap = byId(nodes, 'petrobras-pad-7-opcua-well-tag-map');

        expect(subflow.out).toEqual([
            { x: 480, y: 60, wires: [{ id: 'petrobras-pad-7-opcua-well-tag-map', port: 0 }] },
            { x: 480, y: 120, wires: [{ id: 'petrobras-pad-7-opcua-well-tag-map', port: 1 }] },
        ]);
        expect([reader.z, reader.items, reader.wires]).toEqual(['petrobras-pad-7-opcua-well', '${ITEMS}', [['petrobras-pad-7-opcua-well-tag-map']]]);
        expect([tagMap.z, tagMap.assetId, tagMap.map, tagMap.operator]).toEqual(['petrobras-pad-7-opcua-well', '${ASSET_ID}', '${TAG_MAP}', 'petrobras']);
    });

    it('should check rules before compression', () => {
        const nodes = generated();

        expect(byId(nodes, 'petrobras-pad-7-safety-rules').rulesFile).toBe('flows/templates/opcua-well-pad.rules.yaml');
        expect(byId(nodes, 'petrobras-pad-7-safety-rules').wires).toEqual([['petrobras-pad-7-alert-log', 'petrobras-pad-7-alert-topic'], ['petrobras-pad-7-rejected-topic']]);
        expect(byId(nodes, 'petrobras-pad-7-compress').wires).toEqual([['petrobras-pad-7-sign'], ['petrobras-pad-7-rejected-topic']]);
    });

    it('should require a rules file', () => {
        const { rulesFile: _rulesFile, ...rest } = exampleParameters('opcua-well-pad');
        const error = problemsOf('opcua-well-pad', rest);

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['rulesFile']);
    });

    it('should name the asset of an unknown metric', () => {
        const parameters = exampleParameters('opcua-well-pad');
        (parameters.assets as { tags: Record<string, unknown>[] }[])[0].tags[1].metric = 'temp_wellheaad';
        const error = problemsOf('opcua-well-pad', parameters);

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['assets[0]']);
        expect(error.problems[0].message).toMatch(/^ul-tag-map of asset 3w-well-00004 rejects the generated settings: .*temp_wellheaad/);
    });
});

describe('site template parameters', () => {
    it('should name a missing device id', () => {
        const { deviceId: _deviceId, ...rest } = exampleParameters('replay-site');
        const error = problemsOf('replay-site', rest);

        expect(error.problems).toEqual([{ parameter: 'deviceId', value: undefined, message: "Field 'deviceId' is missing." }]);
        expect(error.message).toContain('deviceId');
    });

    it('should name a missing replay file', () => {
        const parameters = exampleParameters('replay-site');
        delete (parameters.assets as Record<string, unknown>[])[1].file;
        const error = problemsOf('replay-site', parameters);

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['assets[1].file']);
    });

    it('should reject a replay file not found', () => {
        const parameters = exampleParameters('replay-site');
        (parameters.assets as Record<string, unknown>[])[0].file = 'petrobras-3w/0/absent.csv';
        const error = problemsOf('replay-site', parameters);

        expect(error.problems[0].parameter).toBe('assets[0].file');
        expect(error.problems[0].value).toBe('petrobras-3w/0/absent.csv');
        expect(error.problems[0].message).toMatch(/was not found; give a CSV path relative to/);
    });

    it('should reject an invalid site id', () => {
        const error = problemsOf('replay-site', { ...exampleParameters('replay-site'), siteId: 'Site B' });

        expect(error.problems[0].parameter).toBe('siteId');
        expect(error.problems[0].value).toBe('Site B');
        expect(error.problems[0].message).toMatch(/must match the pattern/);
    });

    it('should require an endpoint for OPC UA', () => {
        const { endpoint: _endpoint, ...rest } = exampleParameters('opcua-well-pad');
        const error = problemsOf('opcua-well-pad', rest);

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['endpoint']);
    });

    it('should reject an invalid endpoint', () => {
        const error = problemsOf('opcua-well-pad', { ...exampleParameters('opcua-well-pad'), endpoint: 'http://pad-7:4840' });

        expect(error.problems[0].parameter).toBe('endpoint');
        expect(error.problems[0].message).toContain('http://pad-7:4840');
    });

    it('should reject an invalid node id', () => {
        const parameters = exampleParameters('opcua-well-pad');
        const tags = (parameters.assets as { tags: Record<string, unknown>[] }[])[0].tags;
        tags[0].nodeId = 'WellheadPressure';
        const error = problemsOf('opcua-well-pad', parameters);

        expect(error.problems[0].parameter).toBe('assets[0].tags[0].nodeId');
        expect(error.problems[0].value).toBe('WellheadPressure');
    });

    it('should reject a repeated asset id', () => {
        const parameters = exampleParameters('replay-site');
        const assets = parameters.assets as Record<string, unknown>[];
        assets[1].assetId = assets[0].assetId;
        const error = problemsOf('replay-site', parameters);

        expect(error.problems).toEqual([{ parameter: 'assets[1].assetId', value: '3w-well-00001', message: 'asset id "3w-well-00001" is listed twice; give each asset one entry.' }]);
    });

    it('should reject an unknown parameter', () => {
        const error = problemsOf('replay-site', { ...exampleParameters('replay-site'), endpont: 'opc.tcp://x' });

        expect(error.problems[0].parameter).toBe('endpont');
        expect(error.problems[0].message).toMatch(/not allowed/);
    });

    it('should reject a template mismatch', () => {
        const error = problemsOf('replay-site', { ...exampleParameters('replay-site'), template: 'opcua-well-pad' });

        expect(error.problems[0].parameter).toBe('template');
    });

    it('should reject a tag listed twice', () => {
        const parameters = exampleParameters('opcua-well-pad');
        const tags = (parameters.assets as { tags: Record<string, unknown>[] }[])[1].tags;
        tags[1].tag = tags[0].tag;
        const error = problemsOf('opcua-well-pad', parameters);

        const messages = error.problems.map((problem) => problem.message);

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['assets[1]', 'assets[1]']);
        expect(messages).toContainEqual(expect.stringMatching(/^ul-opcua-reader of asset 3w-well-00007 .*tag WellheadPressure twice/));
        expect(messages).toContainEqual(expect.stringMatching(/^ul-tag-map of asset 3w-well-00007 .*lists tag WellheadPressure twice/));
    });

    it('should report an unknown template', () => {
        expect(() => generateSiteFlow('gas-plant', {})).toThrow(/Site template "gas-plant" was not found .* use one of modbus-flow-station, opcua-well-pad, replay-site/);
    });

    it('should reject undeclared placeholders', () => {
        const path = join(tempDir, 'broken.json');
        writeFileSync(path, JSON.stringify({ template: 'broken', description: '', parameters: {}, nodes: [{ id: 'a', type: 'inject', name: '{{siteId}}' }] }));

        expect(() => loadTemplate(path)).toThrow(/placeholder \{\{siteId\}\} in node a/);
    });
});

describe('modbus-flow-station template', () => {
    function generated(parameters = exampleParameters('modbus-flow-station')): FlowNode[] {
        return JSON.parse(generateSiteFlow('modbus-flow-station', parameters)) as FlowNode[];
    }

    function byId(nodes: FlowNode[], id: string): FlowNode {
        const found = nodes.find((node) => node.id === id);
        if (!found) throw new Error(`node ${id} was not generated`);
        return found;
    }

    it('should generate one poll per register block', () => {
        const nodes = generated();
        const polls = nodes.filter((node) => node.type === 'subflow:petrobras-station-3-modbus-poll');

        expect(polls.map((node) => node.id)).toEqual(['petrobras-station-3-poll-u1-holding-0', 'petrobras-station-3-poll-u2-holding-0']);
        expect(polls[1].name).toBe('unit 2 holding 0-5');
        expect(polls[1].env).toEqual([
            { name: 'UNIT_ID', type: 'num', value: '2' },
            { name: 'DATA_TYPE', type: 'str', value: 'HoldingRegister' },
            { name: 'ADDRESS', type: 'num', value: '0' },
            { name: 'QUANTITY', type: 'num', value: '6' },
        ]);
        expect(polls.every((node) => JSON.stringify(node.wires) === JSON.stringify([['petrobras-station-3-register-map']]))).toBe(true);
    });

    it('should map the subflow, its port and its client', () => {
        const nodes = generated();
        const subflow = byId(nodes, 'petrobras-station-3-modbus-poll');
        const read = byId(nodes, 'petrobras-station-3-modbus-poll-read');
        const client = byId(nodes, 'petrobras-station-3-plc');

        expect(subflow.out).toEqual([{ x: 440, y: 80, wires: [{ id: 'petrobras-station-3-modbus-poll-read', port: 0 }] }]);
        expect(read.z).toBe('petrobras-station-3-modbus-poll');
        expect(read.server).toBe('petrobras-station-3-plc');
        expect(read.rate).toBe(1000);
        expect([read.unitid, read.dataType, read.adr, read.quantity]).toEqual(['${UNIT_ID}', '${DATA_TYPE}', '${ADDRESS}', '${QUANTITY}']);
        expect([client.tcpHost, client.tcpPort, client.unit_id, client.reconnectOnTimeout]).toEqual(['127.0.0.1', 502, 1, true]);
    });

    it('should put every register in one map', () => {
        const registerMap = byId(generated(), 'petrobras-station-3-register-map');
        const registers = JSON.parse(String(registerMap.registers)) as Record<string, unknown>[];

        expect(registers.length).toBe(8);
        expect(registers[0]).toEqual({ function: 'holding', address: 0, type: 'uint32', word_order: 'little', scale: 0.1, asset_id: '3w-well-00001', metric: 'pressure_tpt', unit: 'kPa' });
        expect(registers[4]).toEqual({ unit_id: 2, function: 'holding', address: 0, type: 'float32', asset_id: '3w-well-00007', metric: 'pressure_tpt', unit: 'kPa' });
        expect(registerMap.wires).toEqual([['petrobras-station-3-compress', 'petrobras-station-3-safety-rules'], ['petrobras-station-3-rejected-topic']]);
    });

    it('should fill the Modbus and compression defaults', () => {
        const { port: _port, unitId: _unitId, pollInterval: _pollInterval, heartbeat: _heartbeat, ...rest } = exampleParameters('modbus-flow-station');
        const nodes = generated(rest);

        expect(byId(nodes, 'petrobras-station-3-plc').tcpPort).toBe(502);
        expect(byId(nodes, 'petrobras-station-3-register-map').unitId).toBe(1);
        expect(byId(nodes, 'petrobras-station-3-modbus-poll-read').rate).toBe(1000);
        expect(byId(nodes, 'petrobras-station-3-compress').heartbeat).toBe(60);
        expect(byId(nodes, 'petrobras-station-3-compress').maxErrors).toBe('{}');
        expect(byId(nodes, 'petrobras-station-3-safety-rules').rulesFile).toBe('flows/templates/modbus-flow-station.rules.yaml');
    });

    it('should split reads at gaps in the addresses', () => {
        const parameters = exampleParameters('modbus-flow-station');
        const registers = (parameters.assets as { registers: Record<string, unknown>[] }[])[0].registers;
        registers[3].address = 20;
        const polls = generated(parameters).filter((node) => node.type === 'subflow:petrobras-station-3-modbus-poll');

        expect(polls.map((node) => [node.id, node.name])).toEqual([
            ['petrobras-station-3-poll-u1-holding-0', 'unit 1 holding 0-3'],
            ['petrobras-station-3-poll-u1-holding-20', 'unit 1 holding 20-21'],
            ['petrobras-station-3-poll-u2-holding-0', 'unit 2 holding 0-5'],
        ]);
    });
});

describe('modbus-flow-station parameters', () => {
    it('should require a host and a rules file', () => {
        const { host: _host, rulesFile: _rulesFile, ...rest } = exampleParameters('modbus-flow-station');
        const error = problemsOf('modbus-flow-station', rest);

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['host', 'rulesFile']);
    });

    it('should require registers for each asset', () => {
        const parameters = exampleParameters('modbus-flow-station');
        delete (parameters.assets as Record<string, unknown>[])[1].registers;
        const error = problemsOf('modbus-flow-station', parameters);

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['assets[1].registers']);
    });

    it('should reject an unknown register function', () => {
        const parameters = exampleParameters('modbus-flow-station');
        (parameters.assets as { registers: Record<string, unknown>[] }[])[0].registers[2].function = 'holdings';
        const error = problemsOf('modbus-flow-station', parameters);

        expect(error.problems[0].parameter).toBe('assets[0].registers[2].function');
        expect(error.problems[0].value).toBe('holdings');
    });

    it('should name overlapping registers', () => {
        const parameters = exampleParameters('modbus-flow-station');
        const registers = (parameters.assets as { registers: Record<string, unknown>[] }[])[1].registers;
        registers[1].address = 1;
        const error = problemsOf('modbus-flow-station', parameters);

        expect(error.problems).toEqual([
            {
                parameter: 'assets[1].registers[1]',
                value: registers[1],
                message:
                    'ul-register-map rejects the generated settings: Register 6 (int16 at holding 1 of unit 2, temp_tpt of 3w-well-00007) overlaps register 5 (float32 at holding 0-1 of unit 2); move one of them to free addresses or remove the duplicate.',
            },
        ]);
    });

    it('should name a register with a unit that does not fit', () => {
        const parameters = exampleParameters('modbus-flow-station');
        (parameters.assets as { registers: Record<string, unknown>[] }[])[0].registers[1].unit = 'kPa';
        const error = problemsOf('modbus-flow-station', parameters);

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['assets[0].registers[1]']);
        expect(error.problems[0].message).toContain("Metric 'temp_tpt' is a temperature in degC, but unit 'kPa' is a pressure unit");
    });

    it('should reject a 32-bit register at the last address', () => {
        const parameters = exampleParameters('modbus-flow-station');
        (parameters.assets as { registers: Record<string, unknown>[] }[])[0].registers[3].address = 65_535;
        const error = problemsOf('modbus-flow-station', parameters);

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['assets[0].registers[3]']);
        expect(error.problems[0].message).toContain('is a float32, which needs 2 words, but 65535 is the last address');
    });

    it('should report a rules file that is missing', () => {
        const error = problemsOf('modbus-flow-station', { ...exampleParameters('modbus-flow-station'), rulesFile: join(tempDir, 'absent.yaml') });

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['rulesFile']);
        expect(error.problems[0].message).toMatch(/^the rules file is not usable: .*absent.yaml: cannot read the rules file \(the file does not exist\)/);
    });

    it('should report every problem of the rules file', () => {
        const path = join(tempDir, 'station-rules.yaml');
        writeFileSync(path, 'version: 1\nrules:\n  - id: Bad Id\n    kind: threshold\n');
        const error = problemsOf('modbus-flow-station', { ...exampleParameters('modbus-flow-station'), rulesFile: path });

        expect(error.problems.length).toBeGreaterThan(1);
        expect(error.problems.every((problem) => problem.parameter === 'rulesFile' && problem.value === path)).toBe(true);
    });

    it('should reject compression settings that ul-compress rejects', () => {
        const error = problemsOf('modbus-flow-station', { ...exampleParameters('modbus-flow-station'), maxErrors: { pressure_tpt: 'lots' } });

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['maxErrors']);
        expect(error.problems[0].message).toMatch(/^ul-compress rejects the generated settings: The maximum error of pressure_tpt is "lots"/);
    });

    it('should reject a port out of range', () => {
        const error = problemsOf('modbus-flow-station', { ...exampleParameters('modbus-flow-station'), port: 70_000 });

        expect(error.problems.map((problem) => problem.parameter)).toEqual(['port']);
    });
});

describe('template repeat lists', () => {
    it('should reject an unknown list', () => {
        const path = join(tempDir, 'repeat.json');
        writeFileSync(path, JSON.stringify({ template: 'repeat', description: '', parameters: {}, nodes: [{ id: 'a', type: 'inject', '@repeat': 'wells' }] }));
        const site = exampleParameters('replay-site');

        expect(() => instantiateTemplate(loadTemplate(path), { ...site, template: 'repeat' } as unknown as SiteParameters)).toThrow(
            'Template repeat node a repeats over "wells"; use "assets" or "polls".',
        );
    });
});

function capture(cwd: string): FlowsIo & { out: string; err: string } {
    const io = {
        out: '',
        err: '',
        cwd,
        stdout: (text: string) => {
            io.out += text;
        },
        stderr: (text: string) => {
            io.err += text;
        },
    };
    return io;
}

describe('flows new-site command', () => {
    it('should write a flow that passes check', () => {
        const folder = mkdtempSync(join(tempDir, 'command-'));
        const io = capture(folder);
        const params = join(TEMPLATES_DIR, 'replay-site.example.yaml');
        const code = runFlowsCommand(['new-site', 'replay-site', '--params', params, '--out', 'site-b.json'], io);

        expect(code).toBe(0);
        expect(io.out).toBe('wrote site-b.json from template replay-site\n');
        expect(readFileSync(join(folder, 'site-b.json'), 'utf8')).toBe(generateSiteFlow('replay-site', exampleParameters('replay-site')));
        const checkIo = capture(folder);
        expect(runFlowsCommand(['check', 'site-b.json'], checkIo)).toBe(0);
        expect(checkIo.err).toBe('');
    });

    it('should warn about an asset outside the registry', () => {
        const folder = mkdtempSync(join(tempDir, 'command-'));
        const text = readFileSync(join(TEMPLATES_DIR, 'replay-site.example.yaml'), 'utf8').replace('assetId: 3w-well-00012', 'assetId: new-well-1');
        writeFileSync(join(folder, 'site.yaml'), text);
        const io = capture(folder);

        expect(runFlowsCommand(['new-site', 'replay-site', '--params', 'site.yaml', '--out', 'site.json'], io)).toBe(0);
        expect(io.err).toContain('warning: asset new-well-1 is not in the asset registry');
        expect(io.out).toBe('wrote site.json from template replay-site\n');
    });

    it('should reject an asset of another operator', () => {
        const folder = mkdtempSync(join(tempDir, 'command-'));
        const text = readFileSync(join(TEMPLATES_DIR, 'replay-site.example.yaml'), 'utf8').replace('operator: petrobras', 'operator: equinor');
        writeFileSync(join(folder, 'site.yaml'), text);
        const io = capture(folder);

        expect(runFlowsCommand(['new-site', 'replay-site', '--params', 'site.yaml', '--out', 'site.json'], io)).toBe(1);
        expect(io.err).toContain('Asset 3w-well-00001 belongs to operator petrobras');
        expect(io.err).toContain('not equinor');
        expect(existsSync(join(folder, 'site.json'))).toBe(false);
    });

    it('should not replace a file without --force', () => {
        const folder = mkdtempSync(join(tempDir, 'command-'));
        writeFileSync(join(folder, 'site-b.json'), '[]\n');
        const params = join(TEMPLATES_DIR, 'replay-site.example.yaml');

        expect(() => runFlowsCommand(['new-site', 'replay-site', '--params', params, '--out', 'site-b.json'], capture(folder))).toThrow(/already exists; .* --force/);
        expect(runFlowsCommand(['new-site', 'replay-site', '--params', params, '--out', 'site-b.json', '--force'], capture(folder))).toBe(0);
    });

    it('should name a missing --out folder', () => {
        const folder = mkdtempSync(join(tempDir, 'command-'));
        const params = join(TEMPLATES_DIR, 'replay-site.example.yaml');

        expect(() => runFlowsCommand(['new-site', 'replay-site', '--params', params, '--out', 'nodir/x.json'], capture(folder))).toThrow(UsageError);
        expect(() => runFlowsCommand(['new-site', 'replay-site', '--params', params, '--out', 'nodir/x.json'], capture(folder))).toThrow(`The folder of --out nodir/x.json does not exist; create ${join(folder, 'nodir')} first`);
    });

    it('should print parameter problems', () => {
        const folder = mkdtempSync(join(tempDir, 'command-'));
        writeFileSync(join(folder, 'site.yaml'), 'operator: petrobras\nsiteId: site-c\nassets:\n  - assetId: 3w-well-00001\n');
        const io = capture(folder);
        const code = runFlowsCommand(['new-site', 'replay-site', '--params', 'site.yaml'], io);

        expect(code).toBe(1);
        expect(io.out).toBe('');
        expect(io.err).toContain("deviceId: Field 'deviceId' is missing.");
        expect(io.err).toContain("assets[0].file: Field 'assets[0].file' is missing.");
        expect(io.err).toContain('Fix the parameters in site.yaml');
    });

    it('should report invalid YAML', () => {
        const folder = mkdtempSync(join(tempDir, 'command-'));
        writeFileSync(join(folder, 'site.yaml'), 'operator: [petrobras\n');
        const io = capture(folder);

        expect(runFlowsCommand(['new-site', 'replay-site', '--params', 'site.yaml'], io)).toBe(1);
        expect(io.err).toMatch(/^site.yaml: invalid YAML/);
    });
});

describe('replay-site flow in Node-RED', () => {
    const require = createRequire(import.meta.url);
    const helper = require('node-red-node-test-helper');
    const changeNode = require('@node-red/nodes/core/function/15-change.js');

    it('should emit signed envelopes', { timeout: 60_000 }, async () => {
        const dataDir = mkdtempSync(join(tempDir, 'runtime-'));
        generateDeviceKey(join(dataDir, 'keys'), 'edge-petrobras-02');
        const nodes = JSON.parse(generateSiteFlow('replay-site', exampleParameters('replay-site'))) as FlowNode[];
        // The forward queues need a broker, so helper nodes take their place.
        const flow = nodes.map((node) => (node.type === 'ul-forward-queue' ? { id: node.id, z: node.z, type: 'helper' } : node));
        const previous = { speed: process.env.UL_REPLAY_SPEED, loop: process.env.UL_REPLAY_LOOP };
        process.env.UL_REPLAY_SPEED = '1e9';
        process.env.UL_REPLAY_LOOP = 'false';
        helper.init(require.resolve('node-red'), { upstreamLive: { dataDir } });
        try {
            await helper.load([replayNode, tagMapNode, signNode, changeNode], flow);
            const envelopes: { topic: string; payload: SignedEnvelope }[] = [];
            const bothAssets = new Promise<void>((resolve) => {
                helper.getNode('petrobras-site-b-readings-out').on('input', (msg: { topic: string; payload: SignedEnvelope }) => {
                    envelopes.push(msg);
                    const assets = new Set(envelopes.map((envelope) => envelope.payload.readings[0].asset_id));
                    if (assets.size === 2) resolve();
                });
            });
            await bothAssets;
            await helper.unload();

            expect(envelopes.length).toBeGreaterThanOrEqual(2);
            const publicKey = loadPublicKey(join(dataDir, 'keys/edge-petrobras-02.pub'));
            const first = envelopes.find((envelope) => envelope.payload.readings[0].asset_id === '3w-well-00012');
            expect(first?.topic).toBe('ops/petrobras/3w-well-00012/readings');
            expect(first?.payload.device_id).toBe('edge-petrobras-02');
            expect(first?.payload.cert_id).toBe('cert-edge-petrobras-02');
            expect(first?.payload.operator).toBe('petrobras');
            for (const envelope of envelopes) {
                expect(verify(null, signingInput(envelope.payload), publicKey, Buffer.from(envelope.payload.sig, 'base64'))).toBe(true);
            }
        } finally {
            await helper.unload();
            process.env.UL_REPLAY_SPEED = previous.speed;
            process.env.UL_REPLAY_LOOP = previous.loop;
            if (previous.speed === undefined) delete process.env.UL_REPLAY_SPEED;
            if (previous.loop === undefined) delete process.env.UL_REPLAY_LOOP;
        }
    });
});
