// Decoding of raw Modbus words and bits into numbers. A register holds one unsigned 16-bit word;
// 32-bit values span two consecutive registers in the word order the device uses.
import { removeRoundingNoise } from '../units';
import { wordCount, type RegisterType, type WordOrder } from './registers';

const WORD = 0x1_0000;
const INT16_SIGN = 0x8000;
const INT32_SIGN = 0x8000_0000;
const UINT32_RANGE = 0x1_0000_0000;

/** True for a value that a register can hold: a whole number from 0 to 65535. */
export function isWord(value: unknown): value is number {
    return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < WORD;
}

/** Reads a bit as delivered for coils and discrete inputs: a boolean, or 0 or 1. */
export function readBit(value: unknown): 0 | 1 | undefined {
    if (value === true || value === 1) return 1;
    if (value === false || value === 0) return 0;
    return undefined;
}

/**
 * Decodes the words of one value. `words` must hold exactly the words of the type, each a whole
 * number from 0 to 65535. Returns NaN or an infinity when a float32 holds one; devices use NaN to
 * flag a failed sensor.
 */
export function decodeWords(words: readonly number[], type: Exclude<RegisterType, 'bool'>, wordOrder: WordOrder = 'big'): number {
    const expected = wordCount(type);
    if (words.length !== expected || !words.every(isWord)) {
        throw new RangeError(`A ${type} needs ${expected} words from 0 to 65535, got ${JSON.stringify(words)}.`);
    }
    if (type === 'uint16') return words[0];
    if (type === 'int16') return words[0] >= INT16_SIGN ? words[0] - WORD : words[0];

    const [high, low] = wordOrder === 'big' ? [words[0], words[1]] : [words[1], words[0]];
    if (type === 'float32') {
        const bytes = Buffer.alloc(4);
        bytes.writeUInt16BE(high, 0);
        bytes.writeUInt16BE(low, 2);
        return bytes.readFloatBE(0);
    }
    const unsigned = high * WORD + low;
    if (type === 'uint32') return unsigned;
    return unsigned >= INT32_SIGN ? unsigned - UINT32_RANGE : unsigned;
}

/**
 * Returns the engineering value `raw * scale + offset`, with the floating-point noise of the
 * multiplication removed (12 significant digits), so that 16098 counts at scale 0.1 give 1609.8.
 */
export function engineeringValue(raw: number, scale: number, offset: number): number {
    return removeRoundingNoise(raw * scale + offset);
}
