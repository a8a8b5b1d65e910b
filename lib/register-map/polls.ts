// Plans the read requests that cover a register map: one request per run of adjacent registers of
// one table of one unit, within the protocol's limit on the size of one read.
import { FUNCTION_CODES, isBitFunction, wordCount, type RegisterFunction, type RegisterMapping } from './registers';

/**
 * Maximum quantity of one read: 125 registers (function codes 3 and 4) and 2000 bits (function
 * codes 1 and 2), from the Modbus Application Protocol Specification V1.1b3, sections 6.1 to 6.4.
 */
export const MAX_READ_QUANTITY: Readonly<Record<RegisterFunction, number>> = { holding: 125, input: 125, coil: 2000, discrete: 2000 };

/** The node-red-contrib-modbus `dataType` of each table, as its read nodes name it. */
export const CONTRIB_DATA_TYPES: Readonly<Record<RegisterFunction, string>> = {
    holding: 'HoldingRegister',
    input: 'InputRegister',
    coil: 'Coil',
    discrete: 'Input',
};

/** One read request of a poll cycle. */
export interface PollRequest {
    unitId: number;
    function: RegisterFunction;
    address: number;
    quantity: number;
}

/** Returns a stable key of a request for ids and names, such as `u1-holding-0`. */
export function pollKey(poll: PollRequest): string {
    return `u${poll.unitId}-${poll.function}-${poll.address}`;
}

/** Returns the function code of a request. */
export function pollFunctionCode(poll: PollRequest): number {
    return FUNCTION_CODES[poll.function];
}

/**
 * Groups the registers into read requests, ordered by unit, table and address. Registers join
 * one request only when they are adjacent (no unmapped address between them), because many
 * devices answer a read that touches an undefined address with an exception instead of data.
 */
export function planPolls(registers: readonly RegisterMapping[]): PollRequest[] {
    const sorted = [...registers].sort(
        (a, b) => a.unitId - b.unitId || a.function.localeCompare(b.function) || a.address - b.address,
    );
    const polls: PollRequest[] = [];
    let current: PollRequest | undefined;
    for (const register of sorted) {
        const words = isBitFunction(register.function) ? 1 : wordCount(register.type);
        const sameTable = current !== undefined && current.unitId === register.unitId && current.function === register.function;
        const adjacent = current !== undefined && register.address === current.address + current.quantity;
        const fits = current !== undefined && current.quantity + words <= MAX_READ_QUANTITY[register.function];
        if (current && sameTable && adjacent && fits) {
            current.quantity += words;
            continue;
        }
        current = { unitId: register.unitId, function: register.function, address: register.address, quantity: words };
        polls.push(current);
    }
    return polls;
}
