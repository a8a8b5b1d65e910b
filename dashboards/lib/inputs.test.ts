import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../lib/errors';
import { parseWidgetInput } from './inputs';

const reading = { asset_id: 'w1', metric: 'oil_rate', value: 1, unit: 'bopd', ts: '2017-03-20T14:00:00.000Z' };
const event = {
    event_id: 'e1',
    rule_id: 'r',
    asset_id: 'w1',
    metric: 'oil_rate',
    severity: 'P2',
    state: 'open',
    message: 'm',
    opened_at: '2017-03-20T14:00:00.000Z',
    evidence: {},
};
const asset = { asset_id: 'w1', name: 'w1', type: 'well', operator: 'acme', field: 'f', license: 'l', geometry: { type: 'Point', coordinates: [1, 2] } };
const ALL = { readings: true, events: true, assets: true };

describe('parseWidgetInput', () => {
    it('should sort items by kind', () => {
        const input = parseWidgetInput([reading, event, asset], ALL);

        expect(input.readings).toEqual([reading]);
        expect(input.events).toEqual([event]);
        expect(input.assets).toEqual([asset]);
        expect(input.invalid).toEqual([]);
    });

    it('should accept a single event object', () => {
        expect(parseWidgetInput(event, ALL).events).toEqual([event]);
    });

    it('should accept a null value', () => {
        expect(parseWidgetInput([{ ...reading, value: null }], ALL).readings.length).toBe(1);
    });

    it('should list invalid items with their index', () => {
        const input = parseWidgetInput([reading, { ...reading, value: 'high' }, 7, { ...event, state: 'closed' }], ALL);

        expect(input.readings.length).toBe(1);
        expect(input.invalid).toEqual([
            { index: 1, reason: 'value "high" is not a finite number or null' },
            { index: 2, reason: '7 is not an object' },
            { index: 3, reason: 'state "closed" is not open, acknowledged or resolved' },
        ]);
    });

    it('should reject kinds the widget does not accept', () => {
        const input = parseWidgetInput([reading, event], { events: true });

        expect(input.events.length).toBe(1);
        expect(input.invalid).toEqual([{ index: 0, reason: 'this widget does not accept readings' }]);
    });

    it('should throw when nothing is usable', () => {
        expect(() => parseWidgetInput([{ asset_id: 'w1' }], ALL)).toThrow(ValidationError);
        expect(() => parseWidgetInput([{ asset_id: 'w1' }], ALL)).toThrow(/msg.payload\[0\]: metric is missing/);
        expect(() => parseWidgetInput([], ALL)).toThrow(/empty array/);
        expect(() => parseWidgetInput(undefined, ALL)).toThrow(/undefined is not an object/);
    });
});
