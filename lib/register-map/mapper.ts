// Turns the responses of node-red-contrib-modbus read nodes into readings of assets.
//
// Message shapes of node-red-contrib-modbus 5.23 (first output of each node):
// - Modbus-Read: payload is the array of words (or bits); msg.input is the polling request, with
//   input.payload = { unitid, fc, address, quantity } as configured (numbers or text) and
//   input.unitId = the unit id the client used, a number.
// - Modbus-Getter and Modbus-Flex-Getter: payload as above; msg.modbusRequest is the request
//   payload { unitid, fc, address, quantity }.
// - With "use I/O file for payload", payload holds named values and msg.values the array.
// In every case msg.responseBuffer is { data, buffer } as modbus-serial returns it.
import { ServiceError } from '../errors';
import type { QualityFlag, Reading, Rejection } from '../types';
import { decodeWords, engineeringValue, isWord, readBit } from './decode';
import {
    FUNCTION_CODES,
    describeRegister,
    isBitFunction,
    readInteger,
    wordCount,
    type RegisterFunction,
    type RegisterMapSettings,
    type RegisterMapping,
} from './registers';

/** The part of a message that the mapper reads. */
export interface ModbusMessage {
    payload?: unknown;
    input?: unknown;
    modbusRequest?: unknown;
    responseBuffer?: unknown;
    values?: unknown;
}

/** One read response: which table and addresses of which unit it holds, and the data. */
export interface ModbusResponse {
    unitId: number;
    function: RegisterFunction;
    /** Address of the first word or bit. */
    address: number;
    /** Words or bits requested; the data may be longer (coils come in whole bytes) or, in error, shorter. */
    quantity: number;
    data: readonly unknown[];
}

export interface RegisterMapResult {
    /** Readings grouped by asset, in register address order. */
    readings: Map<string, Reading[]>;
    rejections: Rejection[];
    /** The response as understood, when the message had one; for status and logs. */
    response?: ModbusResponse;
}

const FUNCTION_BY_CODE = new Map<number, RegisterFunction>(Object.entries(FUNCTION_CODES).map(([fn, code]) => [code, fn as RegisterFunction]));

function asRecord(value: unknown): Record<string, unknown> | undefined {
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Finds the data array: payload, else values (I/O file for payload), else responseBuffer.data. */
function findData(msg: ModbusMessage): unknown[] | undefined {
    if (Array.isArray(msg.payload)) return msg.payload;
    if (Array.isArray(msg.values)) return msg.values;
    const fromPayload = asRecord(msg.payload)?.data;
    if (Array.isArray(fromPayload)) return fromPayload;
    const fromBuffer = asRecord(msg.responseBuffer)?.data;
    return Array.isArray(fromBuffer) ? fromBuffer : undefined;
}

type ParsedRequest = { ok: true; response: ModbusResponse } | { ok: false; code: string; reason: string; field?: string; value?: unknown };

/** Reads the request behind a response from msg.input (Modbus-Read) or msg.modbusRequest (getters). */
export function parseResponse(msg: ModbusMessage, defaultUnitId: number): ParsedRequest {
    const input = asRecord(msg.input);
    const request = asRecord(input?.payload) ?? asRecord(msg.modbusRequest);
    if (!request) {
        return {
            ok: false,
            code: 'missing_request',
            reason: 'The message does not say which registers it holds (no msg.input or msg.modbusRequest); wire the first output of a Modbus-Read, Modbus-Getter or Modbus-Flex-Getter node to this node.',
        };
    }
    const code = readInteger(request.fc);
    const fn = code === undefined ? undefined : FUNCTION_BY_CODE.get(code);
    if (!fn) {
        return {
            ok: false,
            code: 'unsupported_function',
            reason: `The request used function code ${JSON.stringify(request.fc)}, which is not a read of coils (1), discrete inputs (2), holding registers (3) or input registers (4); read one of those tables.`,
            field: 'fc',
            value: request.fc,
        };
    }
    const address = readInteger(request.address);
    if (address === undefined) {
        return {
            ok: false,
            code: 'missing_request',
            reason: `The request has the address ${JSON.stringify(request.address)}, which is not a whole number; set the start address of the read node.`,
            field: 'address',
            value: request.address,
        };
    }
    const data = findData(msg);
    if (!data) {
        return {
            ok: false,
            code: 'invalid_input',
            reason: 'The message has no data array in payload, values or responseBuffer.data; wire the first output of the read node, and keep its payload.',
            field: 'payload',
            value: msg.payload,
        };
    }
    // The client's actual unit id comes first: a read node with an empty unit field uses the
    // client's default unit, which only input.unitId records.
    const unitId = readInteger(input?.unitId) ?? readInteger(request.unitid) ?? defaultUnitId;
    const quantity = readInteger(request.quantity) ?? data.length;
    return { ok: true, response: { unitId, function: fn, address, quantity, data } };
}

function describeResponse(response: ModbusResponse): string {
    const last = response.address + response.quantity - 1;
    const span = last === response.address ? `${response.address}` : `${response.address}-${last}`;
    return `${response.function} ${span} of unit ${response.unitId}`;
}

/**
 * Returns the failure that a read node reports with "empty message on fail" (an empty payload
 * and msg.error), or undefined for any other message.
 */
export function readFailure(msg: ModbusMessage & { error?: unknown }): ServiceError | undefined {
    if (msg.error === undefined || (msg.payload !== '' && msg.payload !== undefined)) return undefined;
    const cause = msg.error;
    // Node-RED clones messages with lodash, which turns an Error into a plain object, so the
    // message is also looked for as a property.
    const property = asRecord(cause)?.message;
    let message = 'no details were given';
    if (typeof cause === 'string' && cause !== '') message = cause;
    else if (typeof property === 'string' && property !== '') message = property;
    else if (cause instanceof Error) message = cause.name;
    return new ServiceError(`The Modbus read failed before the register map: ${message}. Check the connection to the device and the settings of the read node.`, {
        cause,
        retriable: true,
        badge: 'read failed',
    });
}

/** Maps read responses to readings with a fixed register map. */
export class RegisterMapper {
    private readonly byTable = new Map<string, RegisterMapping[]>();

    constructor(private readonly settings: RegisterMapSettings) {
        for (const register of settings.registers) {
            const table = `${register.unitId}/${register.function}`;
            const list = this.byTable.get(table) ?? [];
            list.push(register);
            this.byTable.set(table, list);
        }
        for (const list of this.byTable.values()) list.sort((a, b) => a.address - b.address);
    }

    /**
     * Maps one response message. Every register whose first address lies in the requested range
     * gives a reading, time-stamped `now`. A register that the data does not hold completely, a
     * word that is not a 16-bit value and a response that holds no mapped register are rejected.
     */
    map(msg: ModbusMessage, now: Date = new Date()): RegisterMapResult {
        const result: RegisterMapResult = { readings: new Map(), rejections: [] };
        const receivedAt = now.toISOString();
        const parsed = parseResponse(msg, this.settings.unitId);
        if (!parsed.ok) {
            const { code, reason, field, value } = parsed;
            result.rejections.push({ source: 'modbus', reason, code, ...(field === undefined ? {} : { field, value }), payload: msg.payload, received_at: receivedAt });
            return result;
        }

        const response = parsed.response;
        result.response = response;
        const source = `modbus:${response.unitId}/${response.function}/${response.address}`;
        const reject = (code: string, reason: string, extra: Partial<Rejection>) => {
            result.rejections.push({ source, reason, code, received_at: receivedAt, ...extra });
        };

        const table = this.byTable.get(`${response.unitId}/${response.function}`) ?? [];
        const inRange = table.filter((register) => register.address >= response.address && register.address < response.address + response.quantity);
        if (inRange.length === 0) {
            reject(
                'unmapped_registers',
                `The response holds ${describeResponse(response)}, but no register of the map starts there; add entries for these addresses or change the address, quantity or unit id of the read node.`,
                { payload: { unit_id: response.unitId, function: response.function, address: response.address, data: response.data } },
            );
            return result;
        }

        const ts = receivedAt;
        for (const register of inRange) {
            const first = register.address - response.address;
            const count = wordCount(register.type);
            const raw = response.data.slice(first, first + count);
            const payload = { unit_id: register.unitId, function: register.function, address: register.address, data: raw, ts };
            if (raw.length < count || first + count > response.quantity) {
                const needed = register.address + count - response.address;
                let size = `${count} words`;
                if (isBitFunction(register.function)) size = '1 bit';
                else if (count === 1) size = '1 word';
                reject(
                    'short_response',
                    `${describeRegister(register)} needs ${size} from address ${register.address}, but the response holds ${describeResponse(response)} with ${response.data.length} values; raise the quantity of the read node to at least ${needed} or move the register.`,
                    { field: register.metric, value: raw, payload },
                );
                continue;
            }
            const reading = this.decode(register, raw, ts);
            if (typeof reading === 'string') {
                reject('invalid_value', reading, { field: register.metric, value: raw, payload });
                continue;
            }
            const list = result.readings.get(reading.asset_id);
            if (list) list.push(reading);
            else result.readings.set(reading.asset_id, [reading]);
        }
        return result;
    }

    /** Returns the reading of one register, or the reason its data cannot be decoded. */
    private decode(register: RegisterMapping, raw: readonly unknown[], ts: string): Reading | string {
        let value: number;
        if (register.type === 'bool') {
            const bit = readBit(raw[0]);
            if (bit === undefined) return `${describeRegister(register)} holds ${JSON.stringify(raw[0])}, which is not a bit; read it as a ${register.function} with a bit function code.`;
            value = bit;
        } else {
            if (!raw.every(isWord)) return `${describeRegister(register)} holds ${JSON.stringify(raw)}, which are not 16-bit words from 0 to 65535; check the function code and the payload of the read node.`;
            value = decodeWords(raw as number[], register.type, register.wordOrder);
        }
        let quality: QualityFlag = 'GOOD';
        let engineering: number | null = null;
        // A float32 NaN or infinity is how many devices flag a failed sensor: the reading keeps
        // its place in the series with no value and BAD quality.
        if (Number.isFinite(value)) engineering = engineeringValue(value, register.scale, register.offset);
        else quality = 'BAD';
        return { asset_id: register.asset_id, metric: register.metric, value: engineering, unit: register.unit, ts, quality_flag: quality };
    }
}
