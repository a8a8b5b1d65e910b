// Register maps: which Modbus registers and coils of which unit hold which metric of which asset,
// how to decode their words, and how to scale them to an engineering value. Checked at deploy so
// that a map with overlapping registers, a 32-bit value past the last address or a unit that does
// not fit its metric never reaches the field.
import { ConfigError, ValidationError } from '../errors';
import { resolveConversion } from '../units';

/** Modbus object tables that can be read: holding and input registers, coils and discrete inputs. */
export const REGISTER_FUNCTIONS = ['holding', 'input', 'coil', 'discrete'] as const;
export type RegisterFunction = (typeof REGISTER_FUNCTIONS)[number];

/** Data types of register values; coils and discrete inputs are `bool`. */
export const REGISTER_TYPES = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'bool'] as const;
export type RegisterType = (typeof REGISTER_TYPES)[number];

/**
 * Order of the two 16-bit words of a 32-bit value: `big` sends the high word first (AB CD),
 * `little` the low word first (CD AB). Bytes within a word are always big-endian, as the Modbus
 * specification requires.
 */
export const WORD_ORDERS = ['big', 'little'] as const;
export type WordOrder = (typeof WORD_ORDERS)[number];

/** Modbus read function code of each table. */
export const FUNCTION_CODES: Readonly<Record<RegisterFunction, number>> = { coil: 1, discrete: 2, holding: 3, input: 4 };

/** Highest Modbus data address; registers are addressed 0 to 65535 on the wire. */
export const MAX_ADDRESS = 65_535;

/** Highest unit id (slave address) a Modbus TCP request can carry. */
export const MAX_UNIT_ID = 255;

/** One register or coil of the map, with every default filled in. */
export interface RegisterMapping {
    /** Position in the configured list, from 1, for messages. */
    index: number;
    unitId: number;
    function: RegisterFunction;
    /** Data address of the first word (or bit), 0 to 65535, as sent in the request. */
    address: number;
    type: RegisterType;
    wordOrder: WordOrder;
    /** Factor applied to the raw value before the offset. */
    scale: number;
    /** Added to the scaled value. */
    offset: number;
    /** Unit of the engineering value, for example `kPa` or `degC`. */
    unit: string;
    asset_id: string;
    metric: string;
}

/** A register map entry as configured: the node's JSON, or parsed JSON. */
export interface RawRegisterEntry {
    unit_id?: unknown;
    function?: unknown;
    address?: unknown;
    type?: unknown;
    word_order?: unknown;
    scale?: unknown;
    offset?: unknown;
    unit?: unknown;
    asset_id?: unknown;
    metric?: unknown;
}

export interface RawRegisterMapConfig {
    operator?: unknown;
    /** Asset of every entry without its own `asset_id`. */
    assetId?: unknown;
    /** Unit id of every entry without its own, and of responses whose request names none. */
    unitId?: unknown;
    /** JSON array of entries, as text or already parsed. */
    registers?: unknown;
}

export interface RegisterMapSettings {
    operator: string;
    /** Default unit id: the unit of entries and of responses that name none. */
    unitId: number;
    registers: RegisterMapping[];
}

const ENTRY_KEYS = new Set(['unit_id', 'function', 'address', 'type', 'word_order', 'scale', 'offset', 'unit', 'asset_id', 'metric']);

/** Number of 16-bit words (or bits, for `bool`) that a value of the type occupies. */
export function wordCount(type: RegisterType): number {
    return type === 'int32' || type === 'uint32' || type === 'float32' ? 2 : 1;
}

/** True for the tables of single bits (coils and discrete inputs). */
export function isBitFunction(fn: RegisterFunction): boolean {
    return fn === 'coil' || fn === 'discrete';
}

/** Describes the addresses of a register for messages: `holding 10` or `holding 10-11`, with the unit. */
export function describeLocation(register: Pick<RegisterMapping, 'function' | 'address' | 'type' | 'unitId'>): string {
    const last = register.address + wordCount(register.type) - 1;
    const span = last === register.address ? `${register.address}` : `${register.address}-${last}`;
    return `${register.function} ${span} of unit ${register.unitId}`;
}

/** Names a register in messages: its position, addresses, type and what it measures. */
export function describeRegister(register: RegisterMapping): string {
    return `Register ${register.index} (${register.type} at ${describeLocation(register)}, ${register.metric} of ${register.asset_id})`;
}

function nonEmptyString(value: unknown): value is string {
    return typeof value === 'string' && value.trim() !== '';
}

/** Reads an integer given as a number or as decimal text; undefined for anything else. */
export function readInteger(value: unknown): number | undefined {
    if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
    if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return Number(value);
    return undefined;
}

function parseUnitId(value: unknown, where: string): number {
    const unitId = readInteger(value);
    if (unitId === undefined || unitId < 0 || unitId > MAX_UNIT_ID) {
        throw new ConfigError(`${where} has the unit id ${JSON.stringify(value)}; use a whole number from 0 to ${MAX_UNIT_ID}, the slave address of the device.`);
    }
    return unitId;
}

function parseChoice<T extends string>(value: unknown, choices: readonly T[], name: string, where: string): T {
    if (typeof value === 'string' && (choices as readonly string[]).includes(value.trim())) return value.trim() as T;
    throw new ConfigError(`${where} has the ${name} ${JSON.stringify(value)}; use one of ${choices.join(', ')}.`);
}

interface EntryDefaults {
    assetId: string;
    unitId: number;
}

/**
 * Checks one entry of the map and fills in its defaults. Throws a ConfigError naming the entry,
 * with `context.register` set to its position from 1.
 */
export function parseRegisterEntry(entry: unknown, index: number, defaults: EntryDefaults): RegisterMapping {
    try {
        return parseEntry(entry, index, defaults);
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        throw new ConfigError(err.message, { cause: err.cause, context: { register: index + 1 } });
    }
}

function parseEntry(entry: unknown, index: number, defaults: EntryDefaults): RegisterMapping {
    let where = `Register ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw new ConfigError(`${where} is not an object; write it as { "function": "holding", "address": 0, "metric": ..., "unit": ... }.`);
    }
    const record = entry as Record<string, unknown>;
    for (const key of Object.keys(record)) {
        if (!ENTRY_KEYS.has(key)) {
            throw new ConfigError(`${where} has the unknown field "${key}"; use only ${[...ENTRY_KEYS].join(', ')}.`);
        }
    }

    const fn = parseChoice(record.function, REGISTER_FUNCTIONS, 'function', where);
    const address = readInteger(record.address);
    if (address === undefined || address < 0 || address > MAX_ADDRESS) {
        throw new ConfigError(`${where} has the address ${JSON.stringify(record.address)}; use the data address sent on the wire, a whole number from 0 to ${MAX_ADDRESS}.`);
    }
    where = `Register ${index + 1} (${fn} ${address})`;

    const bits = isBitFunction(fn);
    let type: RegisterType = bits ? 'bool' : 'uint16';
    if (record.type !== undefined) type = parseChoice(record.type, REGISTER_TYPES, 'type', where);
    if (bits && type !== 'bool') {
        throw new ConfigError(`${where} is a ${fn} with the type ${type}, but a ${fn} holds one bit; remove the type or set it to bool.`);
    }
    if (!bits && type === 'bool') {
        throw new ConfigError(`${where} is a ${fn} register with the type bool; use int16, uint16, int32, uint32 or float32, or read a coil.`);
    }
    const words = wordCount(type);
    if (address + words - 1 > MAX_ADDRESS) {
        throw new ConfigError(`${where} is a ${type}, which needs ${words} words, but ${address} is the last address; move it to address ${MAX_ADDRESS - words + 1} or lower, or use a 16-bit type.`);
    }

    let wordOrder: WordOrder = 'big';
    if (record.word_order !== undefined) {
        if (words === 1) throw new ConfigError(`${where} sets word_order, which applies to 32-bit types only; remove it or use int32, uint32 or float32.`);
        wordOrder = parseChoice(record.word_order, WORD_ORDERS, 'word_order', where);
    }

    const numbers: { scale: number; offset: number } = { scale: 1, offset: 0 };
    for (const key of ['scale', 'offset'] as const) {
        const value = record[key];
        if (value === undefined) continue;
        if (typeof value !== 'number' || !Number.isFinite(value)) {
            throw new ConfigError(`${where} has ${key} ${JSON.stringify(value)}; use a finite number.`);
        }
        numbers[key] = value;
    }
    if (numbers.scale === 0) throw new ConfigError(`${where} has scale 0, which turns every value into the offset; use the factor from raw counts to the unit, such as 0.1.`);

    for (const key of ['metric', 'unit'] as const) {
        if (!nonEmptyString(record[key])) throw new ConfigError(`${where} has no ${key}; give it a non-empty text value.`);
    }
    const metric = (record.metric as string).trim();
    const unit = (record.unit as string).trim();
    try {
        resolveConversion(metric, unit);
    } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        const fix = err.code === 'unknown_metric' ? ' Use a metric id from the catalogue, such as pressure_tpt.' : '';
        throw new ConfigError(`${where}: ${err.message}${fix}`, { cause: err });
    }

    let assetId = defaults.assetId;
    if (record.asset_id !== undefined) {
        if (!nonEmptyString(record.asset_id)) throw new ConfigError(`${where} has an empty asset_id; remove it to use the node's asset, or name an asset.`);
        assetId = record.asset_id.trim();
    }
    if (assetId === '') throw new ConfigError(`${where} names no asset_id and the node has no asset; enter the asset id, such as 3w-well-00001.`);

    const unitId = record.unit_id === undefined ? defaults.unitId : parseUnitId(record.unit_id, where);
    return { index: index + 1, unitId, function: fn, address, type, wordOrder, ...numbers, unit, asset_id: assetId, metric };
}

function parseEntryList(registers: unknown): unknown[] {
    let list = registers;
    if (typeof registers === 'string') {
        if (registers.trim() === '') return [];
        try {
            list = JSON.parse(registers);
        } catch (err) {
            throw new ConfigError(`The register map is not valid JSON (${(err as Error).message}); write it as a JSON array of entries.`, { cause: err });
        }
    }
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) throw new ConfigError('The register map is not a JSON array; write it as [ { "function": "holding", "address": 0, ... } ].');
    return list;
}

/**
 * Throws when two entries share a word or bit of one table of one unit, or give the same reading.
 * The error's `context.register` is the position of the later entry.
 */
function checkConflicts(registers: RegisterMapping[]): void {
    const byTable = new Map<string, RegisterMapping[]>();
    const byReading = new Map<string, RegisterMapping>();
    for (const register of registers) {
        const table = `${register.unitId}/${register.function}`;
        const earlier = byTable.get(table) ?? [];
        const last = register.address + wordCount(register.type) - 1;
        const overlapping = earlier.find((other) => register.address <= other.address + wordCount(other.type) - 1 && other.address <= last);
        if (overlapping) {
            throw new ConfigError(
                `${describeRegister(register)} overlaps register ${overlapping.index} (${overlapping.type} at ${describeLocation(overlapping)}); move one of them to free addresses or remove the duplicate.`,
                { context: { register: register.index } },
            );
        }
        earlier.push(register);
        byTable.set(table, earlier);

        const reading = `${register.asset_id}/${register.metric}`;
        const same = byReading.get(reading);
        if (same) {
            throw new ConfigError(
                `${describeRegister(register)} and register ${same.index} both give ${register.metric} of ${register.asset_id}, which would store two values at one time; keep one of them or give the other its own metric.`,
                { context: { register: register.index } },
            );
        }
        byReading.set(reading, register);
    }
}

/** Checks the node configuration and returns the register map with every default filled in. */
export function parseRegisterMapConfig(config: RawRegisterMapConfig): RegisterMapSettings {
    const operator = typeof config.operator === 'string' ? config.operator.trim() : '';
    if (operator === '') throw new ConfigError('No operator is set; enter the operator id of the assets, such as petrobras.');
    const assetId = typeof config.assetId === 'string' ? config.assetId.trim() : '';
    const unitId = config.unitId === undefined || config.unitId === '' ? 1 : parseUnitId(config.unitId, 'The node');

    const entries = parseEntryList(config.registers);
    if (entries.length === 0) throw new ConfigError('The register map is empty; add an entry per register, such as { "function": "holding", "address": 0, "metric": "pressure_tpt", "unit": "kPa" }.');
    const registers = entries.map((entry, index) => parseRegisterEntry(entry, index, { assetId, unitId }));
    checkConflicts(registers);
    return { operator, unitId, registers };
}
