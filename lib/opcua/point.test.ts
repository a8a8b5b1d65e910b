import { DataType, DataValue, StatusCodes, Variant, VariantArrayType } from 'node-opcua';
import { describe, expect, it } from 'vitest';

import { qualityOf, toPoint } from './point';

const NOW = new Date('2024-05-01T12:00:00.000Z');

describe('qualityOf', () => {
    it('should map status code severities to quality flags', () => {
        expect(qualityOf(StatusCodes.Good.value)).toBe('GOOD');
        expect(qualityOf(StatusCodes.GoodClamped.value)).toBe('GOOD');
        expect(qualityOf(StatusCodes.UncertainLastUsableValue.value)).toBe('SUSPECT');
        expect(qualityOf(StatusCodes.UncertainSensorNotAccurate.value)).toBe('SUSPECT');
        expect(qualityOf(StatusCodes.BadSensorFailure.value)).toBe('BAD');
        expect(qualityOf(StatusCodes.BadCommunicationError.value)).toBe('BAD');
    });
});

describe('toPoint', () => {
    it('should take the source timestamp', () => {
        const dataValue = new DataValue({
            value: new Variant({ dataType: DataType.Double, value: 1.335972e7 }),
            statusCode: StatusCodes.Good,
            sourceTimestamp: new Date('2017-10-31T19:30:25.000Z'),
            serverTimestamp: new Date('2024-05-01T11:00:00.000Z'),
        });

        expect(toPoint('P-TPT', dataValue, NOW)).toEqual({ tag: 'P-TPT', value: 1.335972e7, ts: '2017-10-31T19:30:25.000Z', quality: 'GOOD' });
    });

    it('should fall back to server time, then now', () => {
        const withServerTime = new DataValue({ value: new Variant({ dataType: DataType.Float, value: 2 }), serverTimestamp: new Date('2024-05-01T11:00:00.000Z') });
        const withoutTime = new DataValue({ value: new Variant({ dataType: DataType.Int32, value: 3 }) });

        expect(toPoint('a', withServerTime, NOW).ts).toBe('2024-05-01T11:00:00.000Z');
        expect(toPoint('a', withoutTime, NOW).ts).toBe(NOW.toISOString());
    });

    it('should convert booleans, Int64 and empty values', () => {
        const point = (variant: Variant) => toPoint('t', new DataValue({ value: variant }), NOW).value;

        expect(point(new Variant({ dataType: DataType.Boolean, value: true }))).toBe(1);
        expect(point(new Variant({ dataType: DataType.Boolean, value: false }))).toBe(0);
        expect(point(new Variant({ dataType: DataType.UInt64, arrayType: VariantArrayType.Scalar, value: [1, 5] }))).toBe(2 ** 32 + 5);
        expect(point(new Variant({ dataType: DataType.Null }))).toBeNull();
        expect(point(new Variant({ dataType: DataType.Double, arrayType: VariantArrayType.Array, value: [1.5, 2.5] }))).toEqual([1.5, 2.5]);
        expect(point(new Variant({ dataType: DataType.String, value: 'open' }))).toBe('open');
    });

    it('should mark an uncertain value as suspect', () => {
        const dataValue = new DataValue({ value: new Variant({ dataType: DataType.Double, value: 4 }), statusCode: StatusCodes.UncertainLastUsableValue });

        expect(toPoint('a', dataValue, NOW).quality).toBe('SUSPECT');
    });
});
