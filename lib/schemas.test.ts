import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError, ValidationError } from './errors';
import { DATA_DIR, SCHEMAS_DIR } from './paths';
import { SCHEMA_ID_PREFIX, compileSchema, fieldPath } from './schemas';
import type { AlertEvent, Asset } from './types';

const registry = JSON.parse(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8')) as { assets: Asset[] };

describe('schema files', () => {
    it.each(['telemetry', 'asset', 'alert-event'])('should carry id, title and description in %s', (name) => {
        const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, `${name}.json`), 'utf8')) as Record<string, unknown>;

        expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
        expect(schema.$id).toBe(`${SCHEMA_ID_PREFIX}${name}.json`);
        expect(typeof schema.title).toBe('string');
        expect(typeof schema.description).toBe('string');
    });

    it('should compile each schema once', () => {
        expect(compileSchema('telemetry')).toBe(compileSchema('telemetry'));
    });

    it('should report a missing schema file', () => {
        expect(() => compileSchema('no-such-schema')).toThrow(ConfigError);
        expect(() => compileSchema('../package')).toThrow(/Schema name '..\/package' is invalid/);
    });
});

describe('asset schema', () => {
    const validator = compileSchema<Asset>('asset');

    it('should accept every asset in data/assets.json', () => {
        expect(registry.assets.length).toBeGreaterThan(0);
        for (const asset of registry.assets) {
            expect(validator.check(asset), asset.asset_id).toEqual([]);
        }
    });

    it('should accept a pipeline LineString', () => {
        const pipeline: Asset = {
            asset_id: 'volve-export-line',
            name: 'Volve export line',
            type: 'pipeline',
            operator: 'equinor',
            field: 'VOLVE',
            license: 'PL046',
            geometry: { type: 'LineString', coordinates: [[1.88, 58.44], [1.95, 58.5]] },
        };

        expect(validator.check(pipeline)).toEqual([]);
    });

    it('should name the field and value of a bad position', () => {
        const asset = { ...registry.assets[0], geometry: { type: 'Point', coordinates: [200, -22.35] } };
        const problems = validator.check(asset);

        expect(problems).toHaveLength(1);
        expect(problems[0].field).toBe('geometry.coordinates[0]');
        expect(problems[0].value).toBe(200);
        expect(problems[0].message).toBe("Field 'geometry.coordinates[0]' must be <= 180, but is the number 200.");
    });

    it('should require a LineString for a pipeline', () => {
        const asset = { ...registry.assets[0], type: 'pipeline' };
        const problems = validator.check(asset);

        expect(problems.map((p) => p.field)).toEqual(['geometry.type']);
        expect(problems[0].message).toContain('"LineString"');
        expect(problems[0].message).toContain('"Point"');
    });

    it('should reject a LineString with one position', () => {
        const asset = { ...registry.assets[0], type: 'pipeline', geometry: { type: 'LineString', coordinates: [[1, 2]] } };

        expect(validator.check(asset).map((p) => p.field)).toEqual(['geometry.coordinates']);
    });
});

describe('alert-event schema', () => {
    const validator = compileSchema<AlertEvent>('alert-event');
    const event: AlertEvent = {
        event_id: '0b6f7c52-3c1e-4f6e-9d53-4a4f8c2b9e11',
        rule_id: 'downhole-pressure-high',
        asset_id: '3w-well-00001',
        metric: 'pressure_downhole',
        severity: 'P1',
        state: 'open',
        message: 'Downhole pressure above 3000 psi for 5 min on 3w-well-00001',
        runbook: 'runbooks/high-pressure.md',
        opened_at: '2017-03-20T14:31:44.000Z',
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        resolved_by: null,
        evidence: { value: 3120.5, threshold: 3000, hold_s: 300 },
    };

    it('should accept a valid event', () => {
        expect(validator.check(event)).toEqual([]);
        expect(validator.is(event)).toBe(true);
    });

    it('should accept an acknowledged event', () => {
        const acknowledged = { ...event, state: 'acknowledged', acknowledged_at: '2017-03-20T14:40:00Z', acknowledged_by: 'ana' };

        expect(validator.check(acknowledged)).toEqual([]);
    });

    const invalid: [string, Record<string, unknown>, string, string][] = [
        ['event_id', { event_id: 'evt-1' }, 'event_id', 'UUID'],
        ['severity', { severity: 'P4' }, 'severity', '"P4"'],
        ['state', { state: 'closed' }, 'state', '"closed"'],
        ['opened_at', { opened_at: 'yesterday' }, 'opened_at', '"yesterday"'],
        ['resolved_at', { resolved_at: '2017-03-20' }, 'resolved_at', '"2017-03-20"'],
        ['evidence', { evidence: [1, 2] }, 'evidence', '[1,2]'],
    ];

    it.each(invalid)('should reject a bad %s', (_name, change, field, mention) => {
        const problems = validator.check({ ...event, ...change });

        expect(problems).toHaveLength(1);
        expect(problems[0].field).toBe(field);
        expect(problems[0].message).toContain(`'${field}'`);
        expect(problems[0].message).toContain(mention);
    });

    it('should throw every problem from assert', () => {
        const { evidence: _evidence, ...withoutEvidence } = event;
        let thrown: unknown;
        try {
            validator.assert({ ...withoutEvidence, severity: 'P9' });
        } catch (err) {
            thrown = err;
        }

        expect(thrown).toBeInstanceOf(ValidationError);
        const error = thrown as ValidationError;
        expect(error.code).toBe('invalid_alert_event');
        expect(error.field).toBe('evidence');
        expect(error.message).toContain("Field 'evidence' is missing.");
        expect(error.message).toContain("Field 'severity' must be one of");
    });

    it('should return the document from assert', () => {
        expect(validator.assert(event)).toBe(event);
    });
});

describe('fieldPath', () => {
    it('should turn JSON Pointers into field paths', () => {
        expect(fieldPath('')).toBe('');
        expect(fieldPath('/value')).toBe('value');
        expect(fieldPath('/geometry/coordinates/1/0')).toBe('geometry.coordinates[1][0]');
        expect(fieldPath('/attributes/a~1b~0c')).toBe('attributes.a/b~c');
    });
});
