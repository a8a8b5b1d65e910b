import { createRequire } from 'node:module';
import { join } from 'node:path';

import { ServerTCP } from 'modbus-serial';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { DATA_DIR } from '../../lib/paths';
import { readReplayFile, type ReplayRow } from '../../lib/replay/reader';
import type { Reading, Rejection } from '../../lib/types';
import { freePort } from '../../test/support/demo-process';
import registerMapNode from './register-map';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');
const modbusClientNode = require('node-red-contrib-modbus/modbus/modbus-client.js');
const modbusReadNode = require('node-red-contrib-modbus/modbus/modbus-read.js');

// A normal 3W well file sampled at 1 Hz: pressures in Pa, temperatures in degC.
const WELL_FILE = join(DATA_DIR, 'petrobras-3w/0/WELL-00001_20170201020207.csv');
const ROWS = 40;

/**
 * The PLC's holding registers, scaled as a flow-station controller might scale the well's values.
 * Addresses 0-1 hold the TPT pressure in kPa x 10 as uint32 (low word first), 2 the TPT
 * temperature in degC x 100 as int16, and 3 the choke pressure in kPa x 10 as uint16. Addresses
 * 4-5 hold the choke temperature in degC as float32, and 6-7 the gas-lift pressure in Pa as
 * float32 (low word first).
 */
const REGISTERS = [
    { function: 'holding', address: 0, type: 'uint32', word_order: 'little', scale: 0.1, metric: 'pressure_tpt', unit: 'kPa' },
    { function: 'holding', address: 2, type: 'int16', scale: 0.01, metric: 'temp_tpt', unit: 'degC' },
    { function: 'holding', address: 3, type: 'uint16', scale: 0.1, metric: 'pressure_upstream_choke', unit: 'kPa' },
    { function: 'holding', address: 4, type: 'float32', metric: 'temp_downstream_choke', unit: 'degC' },
    { function: 'holding', address: 6, type: 'float32', word_order: 'little', metric: 'pressure_gas_lift', unit: 'Pa' },
];

function floatWords(value: number): [number, number] {
    const bytes = Buffer.alloc(4);
    bytes.writeFloatBE(value);
    return [bytes.readUInt16BE(0), bytes.readUInt16BE(2)];
}

/** Encodes one file row into the 8 holding registers, rounding as the PLC would. */
function rowWords(values: ReplayRow['values']): number[] {
    const tptCounts = Math.round(((values['P-TPT'] as number) / 1000) * 10);
    const tempCounts = Math.round((values['T-TPT'] as number) * 100);
    const chokeCounts = Math.round(((values['P-MON-CKP'] as number) / 1000) * 10);
    const [chokeTempHigh, chokeTempLow] = floatWords(values['T-JUS-CKP'] as number);
    const [gasLiftHigh, gasLiftLow] = floatWords(values['P-JUS-CKGL'] as number);
    return [tptCounts & 0xffff, Math.floor(tptCounts / 0x10000), tempCounts & 0xffff, chokeCounts, chokeTempHigh, chokeTempLow, gasLiftLow, gasLiftHigh];
}

let rows: ReplayRow[] = [];

beforeAll(async () => {
    helper.init(require.resolve('node-red'));
    for await (const line of readReplayFile(WELL_FILE, { endRow: ROWS })) {
        if (line.ok) rows.push(line.row);
    }
    rows = rows.filter((row) => ['P-TPT', 'T-TPT', 'P-MON-CKP', 'T-JUS-CKP', 'P-JUS-CKGL'].every((column) => typeof row.values[column] === 'number'));
});

/**
 * A Modbus TCP server on 127.0.0.1 that plays the file: every read of the holding registers gets
 * the next row, one row per poll, as a PLC updated once a second would give.
 */
class WellPlc {
    served: number[] = [];
    private server?: ServerTCP;
    private next = 0;

    constructor(readonly port: number) {}

    start(): Promise<void> {
        const server = new ServerTCP(
            {
                getMultipleHoldingRegisters: (address: number, length: number) => {
                    const index = this.next % rows.length;
                    this.next++;
                    this.served.push(index);
                    return rowWords(rows[index].values).slice(address, address + length);
                },
                getHoldingRegister: (address: number) => rowWords(rows[this.next % rows.length].values)[address] ?? 0,
            },
            { host: '127.0.0.1', port: this.port, unitID: 1 },
        );
        this.server = server;
        return new Promise((resolve, reject) => {
            server.once('initialized', () => resolve());
            server.once('serverError', reject);
        });
    }

    stop(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        if (!server) return Promise.resolve();
        return new Promise((resolve) => server.close(() => resolve()));
    }
}

let plc: WellPlc | undefined;

afterEach(async () => {
    await helper.unload();
    await plc?.stop();
    plc = undefined;
});

function modbusFlow(port: number, quantity = 8) {
    return [
        // Short timeouts so that a lost server is noticed and retried within the test.
        { id: 'plc', type: 'modbus-client', clienttype: 'tcp', bufferCommands: true, tcpHost: '127.0.0.1', tcpPort: String(port), tcpType: 'DEFAULT', unit_id: 1, commandDelay: 1, clientTimeout: 500, reconnectOnTimeout: true, reconnectTimeout: 200, parallelUnitIdsAllowed: true },
        { id: 'poll', type: 'modbus-read', server: 'plc', unitid: '1', dataType: 'HoldingRegister', adr: '0', quantity: String(quantity), rate: '50', rateUnit: 'ms', wires: [['map'], []] },
        { id: 'map', type: 'ul-register-map', operator: 'petrobras', assetId: '3w-well-00001', unitId: 1, registers: JSON.stringify(REGISTERS), wires: [['readings'], ['rejected']] },
        { id: 'readings', type: 'helper' },
        { id: 'rejected', type: 'helper' },
    ];
}

function collect<T>(id: string, count: number, accept: (payload: T) => boolean = () => true): Promise<T[]> {
    const received: T[] = [];
    return new Promise((resolve) => {
        helper.getNode(id).on('input', (msg: { payload: T }) => {
            if (received.length >= count || !accept(msg.payload)) return;
            received.push(msg.payload);
            if (received.length === count) resolve(received);
        });
    });
}

function byMetric(readings: Reading[]): Record<string, number | null> {
    return Object.fromEntries(readings.map((reading) => [reading.metric, reading.value]));
}

describe('ul-register-map with a Modbus TCP server', () => {
    it('should turn each poll into readings of the file row', { timeout: 20_000 }, async () => {
        plc = new WellPlc(await freePort());
        await plc.start();
        await helper.load([modbusClientNode, modbusReadNode, registerMapNode], modbusFlow(plc.port));
        const batches = await collect<Reading[]>('readings', 10);

        expect(rows.length).toBeGreaterThanOrEqual(10);
        batches.forEach((readings, poll) => {
            const row = rows[(plc as WellPlc).served[poll]].values;
            const values = byMetric(readings);
            expect(readings.every((reading) => reading.asset_id === '3w-well-00001' && reading.quality_flag === 'GOOD')).toBe(true);
            expect(readings.map((reading) => reading.unit)).toEqual(['kPa', 'degC', 'kPa', 'degC', 'Pa']);
            // Integer registers lose at most half a count; float32 keeps about 7 significant digits.
            expect(Math.abs((values.pressure_tpt as number) - (row['P-TPT'] as number) / 1000)).toBeLessThanOrEqual(0.05);
            expect(Math.abs((values.temp_tpt as number) - (row['T-TPT'] as number))).toBeLessThanOrEqual(0.005);
            expect(Math.abs((values.pressure_upstream_choke as number) - (row['P-MON-CKP'] as number) / 1000)).toBeLessThanOrEqual(0.05);
            expect(values.temp_downstream_choke).toBeCloseTo(row['T-JUS-CKP'] as number, 4);
            expect(Math.abs((values.pressure_gas_lift as number) - (row['P-JUS-CKGL'] as number))).toBeLessThanOrEqual(0.125);
        });
        // The file's TPT pressure changes from row to row, so the readings follow the file.
        expect(new Set(batches.map((readings) => byMetric(readings).pressure_tpt)).size).toBeGreaterThan(1);
    });

    it('should resume readings after the server restarts', { timeout: 30_000 }, async () => {
        plc = new WellPlc(await freePort());
        await plc.start();
        await helper.load([modbusClientNode, modbusReadNode, registerMapNode], modbusFlow(plc.port));
        await collect<Reading[]>('readings', 3);

        // Polls fail while the server is down; the client closes the connection and reconnects.
        const lost = new Promise<void>((resolve) => {
            const client = helper.getNode('plc');
            client.once('mbclosed', () => resolve());
            client.once('mbbroken', () => resolve());
        });
        await plc.stop();
        const servedBefore = plc.served.length;
        await lost;
        const resumed = collect<Reading[]>('readings', 3);
        await plc.start();
        const batches = await resumed;

        expect(plc.served.length).toBeGreaterThan(servedBefore);
        for (const [offset, readings] of batches.entries()) {
            const row = rows[plc.served[servedBefore + offset]].values;
            expect(Math.abs((byMetric(readings).pressure_tpt as number) - (row['P-TPT'] as number) / 1000)).toBeLessThanOrEqual(0.05);
        }
    });

    it('should reject a register the read does not cover', { timeout: 20_000 }, async () => {
        plc = new WellPlc(await freePort());
        await plc.start();
        // 7 words leave out the second word of the gas-lift float32 at 6-7.
        await helper.load([modbusClientNode, modbusReadNode, registerMapNode], modbusFlow(plc.port, 7));
        const readings = collect<Reading[]>('readings', 1);
        const [rejections] = await collect<Rejection[]>('rejected', 1);

        expect((await readings)[0].map((reading) => reading.metric)).toEqual(['pressure_tpt', 'temp_tpt', 'pressure_upstream_choke', 'temp_downstream_choke']);
        expect(rejections.map((rejection) => [rejection.code, rejection.source, rejection.field])).toEqual([['short_response', 'modbus:1/holding/0', 'pressure_gas_lift']]);
        expect(rejections[0].reason).toContain('raise the quantity of the read node to at least 8');
        const warnings = helper.log().args.filter((call: { level: number }[]) => call[0].level === 30);
        expect(warnings.some((call: { msg: unknown }[]) => String(call[0].msg).includes('Register 5 (float32 at holding 6-7 of unit 1'))).toBe(true);
    });
});

describe('ul-register-map messages', () => {
    const flow = [
        { id: 'map', type: 'ul-register-map', operator: 'petrobras', assetId: 'well-a', unitId: 1, registers: JSON.stringify(REGISTERS), wires: [['readings'], ['rejected']] },
        { id: 'readings', type: 'helper' },
        { id: 'rejected', type: 'helper' },
    ];

    it('should send readings with asset topic and operator', async () => {
        await helper.load([registerMapNode], flow);
        const received = new Promise<Record<string, unknown>>((resolve) => helper.getNode('readings').once('input', resolve));
        helper.getNode('map').receive({ payload: [0xfc18], modbusRequest: { unitid: 1, fc: 3, address: 2, quantity: 1 } });
        const msg = await received;

        expect(msg.topic).toBe('well-a');
        expect(msg.operator).toBe('petrobras');
        expect((msg.payload as Reading[]).map((reading) => [reading.metric, reading.value])).toEqual([['temp_tpt', -10]]);
    });

    it('should send a message without its request to rejected', async () => {
        await helper.load([registerMapNode], flow);
        const received = new Promise<{ payload: Rejection[]; topic: string }>((resolve) => helper.getNode('rejected').once('input', resolve));
        helper.getNode('map').receive({ payload: [1, 2, 3] });
        const msg = await received;

        expect(msg.topic).toBe('modbus');
        expect(msg.payload.map((rejection) => rejection.code)).toEqual(['missing_request']);
    });

    it('should fail the message of a failed read', async () => {
        await helper.load([registerMapNode], flow);
        const map = helper.getNode('map');
        const failed = new Promise<unknown[]>((resolve) => map.on('call:error', (call: { args: unknown[] }) => resolve(call.args)));
        map.receive({ payload: '', error: new Error('Timed out'), input: { payload: { unitid: 1, fc: 3, address: 0, quantity: 8 } } });
        const [error] = await failed;

        expect(String(error)).toContain('The Modbus read failed before the register map: Timed out.');
        expect(map.status.lastCall.args[0]).toEqual({ fill: 'red', shape: 'ring', text: 'ul-register-map.status.read-failed' });
    });
});

describe('ul-register-map configuration', () => {
    async function deployErrors(registers: unknown[]): Promise<string[]> {
        await helper.load([registerMapNode], [{ id: 'map', type: 'ul-register-map', operator: 'petrobras', assetId: 'well-a', unitId: 1, registers: JSON.stringify(registers), wires: [[], []] }]);
        return helper
            .log()
            .args.map((call: { level: number; msg: unknown }[]) => call[0])
            .filter((entry: { level: number }) => entry.level === 20)
            .map((entry: { msg: unknown }) => String(entry.msg));
    }

    it('should report overlapping registers once at deploy', async () => {
        const errors = await deployErrors([
            { function: 'holding', address: 0, type: 'float32', metric: 'pressure_tpt', unit: 'Pa' },
            { function: 'holding', address: 1, metric: 'temp_tpt', unit: 'degC' },
        ]);

        expect(errors).toEqual([
            'Register 2 (uint16 at holding 1 of unit 1, temp_tpt of well-a) overlaps register 1 (float32 at holding 0-1 of unit 1); move one of them to free addresses or remove the duplicate.',
        ]);
        expect(helper.getNode('map').status.lastCall.args[0]).toEqual({ fill: 'red', shape: 'ring', text: 'ul-register-map.status.not-configured' });
    });

    it('should report a 32-bit type at the last word', async () => {
        const errors = await deployErrors([{ function: 'input', address: 65_535, type: 'int32', metric: 'temp_tpt', unit: 'degC' }]);

        expect(errors).toEqual([expect.stringMatching(/^Register 1 \(input 65535\) is a int32, which needs 2 words, but 65535 is the last address/)]);
    });

    it('should report an unknown unit', async () => {
        const errors = await deployErrors([{ function: 'holding', address: 0, metric: 'pressure_tpt', unit: 'kPa x 10' }]);

        expect(errors).toEqual([expect.stringMatching(/^Register 1 \(holding 0\): Metric 'pressure_tpt' is a pressure in psi, but unit 'kPa x 10' is not a known unit/)]);
    });

    it('should handle no input after a bad config', async () => {
        await deployErrors([]);
        const map = helper.getNode('map');

        expect(map.listenerCount('input')).toBe(0);
    });
});
