import { describe, expect, it } from 'vitest';

import { RegisterMapper, parseResponse, readFailure, type ModbusMessage } from './mapper';
import { parseRegisterMapConfig } from './registers';

const NOW = new Date('2024-05-01T12:00:00.000Z');
const TS = NOW.toISOString();

// A flow-station PLC: unit 1 holds well A's TPT values, unit 2 well B's choke pressure and a coil
// for its shut-down valve.
const settings = parseRegisterMapConfig({
    operator: 'petrobras',
    assetId: 'well-a',
    registers: [
        { function: 'holding', address: 0, type: 'uint32', word_order: 'little', scale: 0.1, metric: 'pressure_tpt', unit: 'kPa' },
        { function: 'holding', address: 2, type: 'int16', scale: 0.01, metric: 'temp_tpt', unit: 'degC' },
        { function: 'holding', address: 3, type: 'float32', metric: 'pressure_upstream_choke', unit: 'Pa' },
        { unit_id: 2, function: 'input', address: 100, scale: 0.1, offset: -10, asset_id: 'well-b', metric: 'pressure_upstream_choke', unit: 'bar' },
        { unit_id: 2, function: 'coil', address: 4, scale: 100, asset_id: 'well-b', metric: 'choke_opening', unit: '%' },
    ],
});
const mapper = new RegisterMapper(settings);

/** Builds the message of the first output of a Modbus-Read node, as node-red-contrib-modbus 5.23 sends it. */
function readMessage(unitId: number | string, fc: number | string, address: number | string, quantity: number | string, data: unknown[]): ModbusMessage {
    return {
        payload: data,
        responseBuffer: { data, buffer: Buffer.alloc(0) },
        input: { topic: 'polling', payload: { unitid: String(unitId), fc, address, quantity, messageId: 'x' }, queueUnitId: Number(unitId), unitId: Number(unitId) },
    };
}

describe('RegisterMapper Modbus-Read responses', () => {
    it('should decode every register of a block', () => {
        // 100921 = 0x0001_8A39 (kPa x 10, low word first), 11909 = 0x2E85, 1609800.0 = 0x49C4_8240
        const result = mapper.map(readMessage(1, 3, '0', '5', [0x8a39, 0x0001, 0x2e85, 0x49c4, 0x8240]), NOW);

        expect(result.rejections).toEqual([]);
        expect(result.readings.get('well-a')).toEqual([
            { asset_id: 'well-a', metric: 'pressure_tpt', value: 10_092.1, unit: 'kPa', ts: TS, quality_flag: 'GOOD' },
            { asset_id: 'well-a', metric: 'temp_tpt', value: 119.09, unit: 'degC', ts: TS, quality_flag: 'GOOD' },
            { asset_id: 'well-a', metric: 'pressure_upstream_choke', value: 1_609_800, unit: 'Pa', ts: TS, quality_flag: 'GOOD' },
        ]);
    });

    it('should apply scale and offset and group by asset', () => {
        const result = mapper.map(readMessage(2, 4, 100, 1, [523]), NOW);

        expect([...result.readings.keys()]).toEqual(['well-b']);
        expect(result.readings.get('well-b')?.[0].value).toBe(42.3);
    });

    it('should read coils as 0 or 1', () => {
        // Coil responses come in whole bytes, so 5 requested coils give 8 values.
        const result = mapper.map(readMessage(2, 1, 0, 5, [false, false, false, false, true, false, false, false]), NOW);

        expect(result.readings.get('well-b')).toEqual([{ asset_id: 'well-b', metric: 'choke_opening', value: 100, unit: '%', ts: TS, quality_flag: 'GOOD' }]);
    });

    it('should read the registers inside a partial block', () => {
        const result = mapper.map(readMessage(1, 3, 2, 1, [0xfc18]), NOW);

        expect(result.readings.get('well-a')).toEqual([{ asset_id: 'well-a', metric: 'temp_tpt', value: -10, unit: 'degC', ts: TS, quality_flag: 'GOOD' }]);
    });

    it('should flag a float32 NaN as BAD without a value', () => {
        const result = mapper.map(readMessage(1, 3, 3, 2, [0x7fc0, 0x0000]), NOW);

        expect(result.rejections).toEqual([]);
        expect(result.readings.get('well-a')).toEqual([{ asset_id: 'well-a', metric: 'pressure_upstream_choke', value: null, unit: 'Pa', ts: TS, quality_flag: 'BAD' }]);
    });

    it('should use the unit id that the client used', () => {
        const message = readMessage('', 4, 100, 1, [100]);
        (message.input as { unitId: number }).unitId = 2;

        expect(mapper.map(message, NOW).readings.get('well-b')?.[0].value).toBe(0);
    });
});

describe('RegisterMapper Modbus-Getter responses', () => {
    it('should read the request from modbusRequest', () => {
        const message = { payload: [523], modbusRequest: { unitid: 2, fc: 4, address: 100, quantity: 1, messageId: 'y' }, responseBuffer: { data: [523] } };
        const result = mapper.map(message, NOW);

        expect(result.readings.get('well-b')?.[0]).toMatchObject({ metric: 'pressure_upstream_choke', value: 42.3 });
    });

    it('should fall back to the node unit id', () => {
        const message = { payload: [0, 0, 100], modbusRequest: { unitid: '', fc: 3, address: 0, quantity: 3 } };
        const result = mapper.map(message, NOW);

        expect(result.response?.unitId).toBe(1);
        expect(result.readings.get('well-a')?.map((reading) => reading.metric)).toEqual(['pressure_tpt', 'temp_tpt']);
    });

    it('should take the words from values when the payload holds names', () => {
        const message = { payload: { TPT: 1 }, values: [0xfc18], modbusRequest: { unitid: 1, fc: 3, address: 2, quantity: 1 } };

        expect(mapper.map(message, NOW).readings.get('well-a')?.[0].value).toBe(-10);
    });
});

describe('RegisterMapper rejections', () => {
    it('should reject a response too short for a register', () => {
        // The read asks for 4 words, so the float32 at 3-4 has only its first word.
        const result = mapper.map(readMessage(1, 3, 0, 4, [0x8a39, 0x0001, 0x2e85, 0x49c4]), NOW);

        expect(result.readings.get('well-a')?.map((reading) => reading.metric)).toEqual(['pressure_tpt', 'temp_tpt']);
        expect(result.rejections).toEqual([
            {
                source: 'modbus:1/holding/0',
                code: 'short_response',
                reason: 'Register 3 (float32 at holding 3-4 of unit 1, pressure_upstream_choke of well-a) needs 2 words from address 3, but the response holds holding 0-3 of unit 1 with 4 values; raise the quantity of the read node to at least 5 or move the register.',
                field: 'pressure_upstream_choke',
                value: [0x49c4],
                payload: { unit_id: 1, function: 'holding', address: 3, data: [0x49c4], ts: TS },
                received_at: TS,
            },
        ]);
    });

    it('should reject data shorter than the request', () => {
        const result = mapper.map(readMessage(1, 3, 0, 5, [0x8a39, 0x0001]), NOW);

        expect(result.readings.get('well-a')?.length).toBe(1);
        expect(result.rejections.map((rejection) => [rejection.code, rejection.field])).toEqual([
            ['short_response', 'temp_tpt'],
            ['short_response', 'pressure_upstream_choke'],
        ]);
    });

    it('should reject a response without mapped registers', () => {
        const result = mapper.map(readMessage(3, 3, 0, 2, [1, 2]), NOW);

        expect(result.readings.size).toBe(0);
        expect(result.rejections.map((rejection) => rejection.code)).toEqual(['unmapped_registers']);
        expect(result.rejections[0].reason).toMatch(/^The response holds holding 0-1 of unit 3, but no register of the map starts there/);
        expect(result.rejections[0].payload).toEqual({ unit_id: 3, function: 'holding', address: 0, data: [1, 2] });
    });

    it('should reject words outside 16 bits', () => {
        const result = mapper.map(readMessage(1, 3, 2, 1, [70_000]), NOW);

        expect(result.rejections.map((rejection) => [rejection.code, rejection.field, rejection.value])).toEqual([['invalid_value', 'temp_tpt', [70_000]]]);
    });

    it('should reject a coil value that is not a bit', () => {
        const result = mapper.map(readMessage(2, 1, 4, 1, [7]), NOW);

        expect(result.rejections.map((rejection) => rejection.code)).toEqual(['invalid_value']);
    });

    it('should reject a message without its request', () => {
        const result = mapper.map({ payload: [1, 2, 3] }, NOW);

        expect(result.rejections).toEqual([
            {
                source: 'modbus',
                code: 'missing_request',
                reason: 'The message does not say which registers it holds (no msg.input or msg.modbusRequest); wire the first output of a Modbus-Read, Modbus-Getter or Modbus-Flex-Getter node to this node.',
                payload: [1, 2, 3],
                received_at: TS,
            },
        ]);
    });

    it('should reject a write function code', () => {
        const result = mapper.map({ payload: [1], modbusRequest: { unitid: 1, fc: 6, address: 0, quantity: 1 } }, NOW);

        expect(result.rejections.map((rejection) => [rejection.code, rejection.field, rejection.value])).toEqual([['unsupported_function', 'fc', 6]]);
    });

    it('should reject a message without data', () => {
        const result = mapper.map({ payload: '', modbusRequest: { unitid: 1, fc: 3, address: 0, quantity: 1 } }, NOW);

        expect(result.rejections.map((rejection) => rejection.code)).toEqual(['invalid_input']);
    });
});

describe('readFailure', () => {
    it('should take the message of an error or a cloned error', () => {
        expect(readFailure({ payload: '', error: new Error('Timed out') })?.message).toMatch(/^The Modbus read failed before the register map: Timed out\. Check the connection/);
        expect(readFailure({ payload: '', error: { message: 'Timed out', nodeStatus: 'timeout' } })?.message).toContain(': Timed out.');
        expect(readFailure({ payload: '', error: {} })?.message).toContain(': no details were given.');
    });

    it('should mark the failure as retriable', () => {
        const failure = readFailure({ payload: '', error: 'Timed out' });

        expect(failure?.retriable).toBe(true);
        expect(failure?.badge).toBe('read failed');
    });

    it('should ignore messages with data', () => {
        expect(readFailure({ payload: [1, 2], error: new Error('old') })).toBeUndefined();
        expect(readFailure({ payload: '' })).toBeUndefined();
    });
});

describe('parseResponse', () => {
    it('should read text fields of a Modbus-Read request', () => {
        const parsed = parseResponse(readMessage('5', '3', '40', '2', [1, 2]), 1);

        expect(parsed).toEqual({ ok: true, response: { unitId: 5, function: 'holding', address: 40, quantity: 2, data: [1, 2] } });
    });

    it('should take the quantity from the data when the request has none', () => {
        const parsed = parseResponse({ payload: [1, 2, 3], modbusRequest: { fc: 4, address: 9 } }, 4);

        expect(parsed).toEqual({ ok: true, response: { unitId: 4, function: 'input', address: 9, quantity: 3, data: [1, 2, 3] } });
    });
});
