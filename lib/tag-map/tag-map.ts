// Turns source tags (CSV columns, OPC UA nodes, Modbus registers) into readings of assets.
// Units stay as the source delivers them; the normalizer converts them to canonical units later.
import { ConfigError } from '../errors';
import { METRICS } from '../metrics';
import type { QualityFlag, Reading, Rejection } from '../types';

/** Mapping of one source tag to a metric of an asset. */
export interface TagMapping {
    tag: string;
    metric: string;
    /** Unit of the source value after scale and offset, for example `Pa` or `degC`. */
    unit: string;
    /** Asset of this tag; the node's asset when absent. */
    asset_id?: string;
    /** Factor applied to the source value before the offset. Default 1. */
    scale?: number;
    /** Added to the scaled value. Default 0. */
    offset?: number;
}

/** Built-in tag maps, by name. */
export const TAG_MAP_PRESETS: Readonly<Record<string, readonly TagMapping[]>> = {
    /** Columns of the Petrobras 3W sensor files, in their SI units. */
    '3w': [
        { tag: 'P-PDG', metric: 'pressure_downhole', unit: 'Pa' },
        { tag: 'P-TPT', metric: 'pressure_tpt', unit: 'Pa' },
        { tag: 'T-TPT', metric: 'temp_tpt', unit: 'degC' },
        { tag: 'P-MON-CKP', metric: 'pressure_upstream_choke', unit: 'Pa' },
        { tag: 'T-JUS-CKP', metric: 'temp_downstream_choke', unit: 'degC' },
        { tag: 'P-JUS-CKGL', metric: 'pressure_gas_lift', unit: 'Pa' },
        { tag: 'T-JUS-CKGL', metric: 'temp_gas_lift', unit: 'degC' },
        { tag: 'QGL', metric: 'gas_lift_rate', unit: 'sm3/s' },
    ],
};

export const DEFAULT_IGNORED_TAGS: readonly string[] = ['class'];

export interface RawTagMapConfig {
    assetId?: unknown;
    operator?: unknown;
    /** Name of a preset in TAG_MAP_PRESETS, or empty for none. */
    preset?: unknown;
    /** JSON array of TagMapping, as text or already parsed; entries override preset entries with the same tag. */
    map?: unknown;
    /** Tags to skip without a rejection: an array, or text separated by commas or new lines. */
    ignore?: unknown;
}

export interface TagMapSettings {
    assetId: string;
    operator: string;
    mappings: TagMapping[];
    ignore: string[];
}

const MAPPING_KEYS = new Set(['tag', 'metric', 'unit', 'asset_id', 'scale', 'offset']);

function nonEmptyString(value: unknown): value is string {
    return typeof value === 'string' && value.trim() !== '';
}

/** Checks one map entry and returns it with trimmed strings; throws a ConfigError naming the entry. */
export function parseTagMapping(entry: unknown, index: number): TagMapping {
    const where = `Tag map entry ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw new ConfigError(`${where} is not an object; write it as { "tag": ..., "metric": ..., "unit": ... }.`);
    }
    const record = entry as Record<string, unknown>;
    for (const key of Object.keys(record)) {
        if (!MAPPING_KEYS.has(key)) {
            throw new ConfigError(`${where} has the unknown field "${key}"; use only tag, metric, unit, asset_id, scale and offset.`);
        }
    }
    for (const key of ['tag', 'metric', 'unit'] as const) {
        if (!nonEmptyString(record[key])) throw new ConfigError(`${where} has no ${key}; give it a non-empty text value.`);
    }
    const mapping: TagMapping = {
        tag: (record.tag as string).trim(),
        metric: (record.metric as string).trim(),
        unit: (record.unit as string).trim(),
    };
    if (!METRICS.has(mapping.metric)) {
        throw new ConfigError(
            `${where} (tag ${mapping.tag}) names the unknown metric "${mapping.metric}"; use a metric id from the catalogue, such as pressure_downhole.`,
        );
    }
    if (record.asset_id !== undefined) {
        if (!nonEmptyString(record.asset_id)) throw new ConfigError(`${where} (tag ${mapping.tag}) has an empty asset_id; remove it or name an asset.`);
        mapping.asset_id = record.asset_id.trim();
    }
    for (const key of ['scale', 'offset'] as const) {
        const value = record[key];
        if (value === undefined) continue;
        if (typeof value !== 'number' || !Number.isFinite(value)) {
            throw new ConfigError(`${where} (tag ${mapping.tag}) has ${key} ${JSON.stringify(value)}; use a finite number.`);
        }
        mapping[key] = value;
    }
    return mapping;
}

function parseMapList(map: unknown): TagMapping[] {
    if (map === undefined || map === null || map === '') return [];
    let list = map;
    if (typeof map === 'string') {
        try {
            list = JSON.parse(map);
        } catch (err) {
            throw new ConfigError(`The tag map is not valid JSON (${(err as Error).message}); write it as a JSON array of entries.`, { cause: err });
        }
    }
    if (!Array.isArray(list)) throw new ConfigError('The tag map is not a JSON array; write it as [ { "tag": ..., "metric": ..., "unit": ... } ].');
    return list.map((entry, index) => parseTagMapping(entry, index));
}

function parseIgnoreList(ignore: unknown): string[] {
    if (ignore === undefined || ignore === null) return [...DEFAULT_IGNORED_TAGS];
    let items: unknown[] | undefined;
    if (Array.isArray(ignore)) items = ignore;
    else if (typeof ignore === 'string') items = ignore.split(/[,\n]/);
    if (!items || items.some((item) => typeof item !== 'string')) {
        throw new ConfigError('The ignore list is invalid; give tag names separated by commas, such as class.');
    }
    return (items as string[]).map((item) => item.trim()).filter((item) => item !== '');
}

/** Checks the tag map configuration and merges the preset with the custom entries. */
export function parseTagMapConfig(config: RawTagMapConfig): TagMapSettings {
    const operator = typeof config.operator === 'string' ? config.operator.trim() : '';
    if (operator === '') throw new ConfigError('No operator is set; enter the operator id of the assets, such as petrobras.');
    const assetId = typeof config.assetId === 'string' ? config.assetId.trim() : '';

    const presetName = typeof config.preset === 'string' ? config.preset.trim() : '';
    if (presetName !== '' && presetName !== 'none' && !(presetName in TAG_MAP_PRESETS)) {
        throw new ConfigError(`Unknown tag map preset "${presetName}"; use one of ${Object.keys(TAG_MAP_PRESETS).join(', ')} or none.`);
    }
    const byTag = new Map<string, TagMapping>();
    for (const mapping of TAG_MAP_PRESETS[presetName] ?? []) byTag.set(mapping.tag, { ...mapping });
    const custom = parseMapList(config.map);
    const customTags = new Set<string>();
    for (const mapping of custom) {
        if (customTags.has(mapping.tag)) throw new ConfigError(`The tag map lists tag ${mapping.tag} twice; keep one entry per tag.`);
        customTags.add(mapping.tag);
        byTag.set(mapping.tag, mapping);
    }
    const mappings = [...byTag.values()];
    if (mappings.length === 0) throw new ConfigError('The tag map is empty; choose a preset or add entries to the map.');
    const withoutAsset = mappings.find((mapping) => mapping.asset_id === undefined);
    if (assetId === '' && withoutAsset) {
        throw new ConfigError(`No asset is set and tag ${withoutAsset.tag} names none; enter the asset id, such as 3w-well-00004.`);
    }
    return { assetId, operator, mappings, ignore: parseIgnoreList(config.ignore) };
}

/** Result of mapping one input message. */
export interface TagMapResult {
    /** Readings grouped by asset, in input order. */
    readings: Map<string, Reading[]>;
    rejections: Rejection[];
    /** Tags that are neither mapped nor ignored. */
    unmappedTags: string[];
}

export interface TagMapInput {
    payload: unknown;
    /** msg.topic: the tag of a single point when the payload names none. */
    topic?: unknown;
}

interface Sample {
    tag: string;
    value: unknown;
}

const QUALITY_PREFIXES: [string, QualityFlag][] = [
    ['good', 'GOOD'],
    ['suspect', 'SUSPECT'],
    ['uncertain', 'SUSPECT'],
    ['bad', 'BAD'],
];

/**
 * Reads a quality flag: GOOD, SUSPECT or BAD in any case, or an OPC UA status name (GoodClamped,
 * UncertainLastUsableValue, BadSensorFailure) by its prefix. Returns undefined when unknown.
 */
export function parseQuality(value: string): QualityFlag | undefined {
    const lower = value.trim().toLowerCase();
    return QUALITY_PREFIXES.find(([prefix]) => lower.startsWith(prefix))?.[1];
}

function parseTimestamp(value: unknown, now: Date): string | undefined {
    if (value === undefined || value === null) return now.toISOString();
    let ms: number;
    if (value instanceof Date) ms = value.getTime();
    else if (typeof value === 'number') ms = value;
    else if (typeof value === 'string' && value.trim() !== '') ms = Date.parse(value);
    else return undefined;
    return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** Maps rows and points to readings with a fixed configuration. */
export class TagMapper {
    private readonly byTag: Map<string, TagMapping>;
    private readonly ignored: Set<string>;

    constructor(private readonly settings: TagMapSettings) {
        this.byTag = new Map(settings.mappings.map((mapping) => [mapping.tag, mapping]));
        this.ignored = new Set(settings.ignore);
    }

    /**
     * Maps one message. The payload is a row `{ ts, values: { tag: value }, row?, quality_flag? }`,
     * a point `{ tag?, value, ts?, quality_flag? }` with the tag falling back to `topic`, or a bare
     * value with the tag in `topic`. A missing ts means now. Null or empty values give no reading.
     */
    map(input: TagMapInput, source: string, now: Date = new Date()): TagMapResult {
        const result: TagMapResult = { readings: new Map(), rejections: [], unmappedTags: [] };
        const reject = (code: string, reason: string, extra: Partial<Rejection> = {}) => {
            result.rejections.push({ source, reason, code, payload: input.payload, received_at: now.toISOString(), ...extra });
        };

        const payload = input.payload;
        const record = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
        const ref = record && typeof record.row === 'number' ? String(record.row) : undefined;
        const refField = ref === undefined ? {} : { ref };

        let samples: Sample[];
        if (record && typeof record.values === 'object' && record.values !== null && !Array.isArray(record.values)) {
            samples = Object.entries(record.values as Record<string, unknown>).map(([tag, value]) => ({ tag, value }));
        } else {
            const tag = record && 'value' in record ? (record.tag ?? input.topic) : input.topic;
            if (record && !('value' in record)) {
                reject('invalid_input', 'The payload has neither values nor value; send a row { ts, values } or a point { tag, value, ts }.');
                return result;
            }
            if (!nonEmptyString(tag)) {
                reject('missing_tag', 'The point has no tag; set payload.tag or msg.topic to the source tag name.', { field: 'tag' });
                return result;
            }
            samples = [{ tag, value: record ? record.value : payload }];
        }

        const ts = parseTimestamp(record?.ts, now);
        if (ts === undefined) {
            reject('invalid_timestamp', `The timestamp ${JSON.stringify(record?.ts)} is invalid; send an ISO 8601 time or epoch milliseconds.`, {
                field: 'ts',
                value: record?.ts,
                ...refField,
            });
            return result;
        }
        const qualityValue = record?.quality_flag ?? record?.quality;
        let quality: QualityFlag = 'GOOD';
        if (qualityValue !== undefined && qualityValue !== null) {
            const parsed = typeof qualityValue === 'string' ? parseQuality(qualityValue) : undefined;
            if (!parsed) {
                reject('invalid_quality', `The quality ${JSON.stringify(qualityValue)} is unknown; use GOOD, SUSPECT or BAD.`, {
                    field: 'quality_flag',
                    value: qualityValue,
                    ...refField,
                });
                return result;
            }
            quality = parsed;
        }

        for (const { tag, value } of samples) {
            if (this.ignored.has(tag) || value === null || value === undefined || value === '') continue;
            const mapping = this.byTag.get(tag);
            if (!mapping) {
                result.unmappedTags.push(tag);
                reject('unmapped_tag', `Tag ${tag} is not in the tag map; add a map entry for it or list it under ignore.`, {
                    field: tag,
                    value,
                    payload: { tag, value, ts },
                    ...refField,
                });
                continue;
            }
            if (typeof value !== 'number' || !Number.isFinite(value)) {
                reject('invalid_value', `Tag ${tag} has the value ${JSON.stringify(value)}, which is not a finite number; fix the source or its data type.`, {
                    field: tag,
                    value,
                    payload: { tag, value, ts },
                    ...refField,
                });
                continue;
            }
            const assetId = mapping.asset_id ?? this.settings.assetId;
            const reading: Reading = {
                asset_id: assetId,
                metric: mapping.metric,
                value: value * (mapping.scale ?? 1) + (mapping.offset ?? 0),
                unit: mapping.unit,
                ts,
                quality_flag: quality,
            };
            const list = result.readings.get(assetId);
            if (list) list.push(reading);
            else result.readings.set(assetId, [reading]);
        }
        return result;
    }
}
