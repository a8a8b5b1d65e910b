// MQTT topics of signed readings: ops/{operator}/{asset_id}/readings.

/** Characters that MQTT reserves in topic levels, plus the level separator. */
const RESERVED = /[/+#\u0000]/;

/** Returns the topic for readings of one asset; throws a TypeError for ids that cannot be a topic level. */
export function readingsTopic(operator: string, assetId: string): string {
    for (const [name, value] of [
        ['operator', operator],
        ['asset_id', assetId],
    ] as const) {
        if (value === '' || RESERVED.test(value)) {
            throw new TypeError(`The ${name} "${value}" cannot be an MQTT topic level; use an id without /, + or #.`);
        }
    }
    return `ops/${operator}/${assetId}/readings`;
}

/** Reads operator and asset from a readings topic; undefined when the topic has another form. */
export function parseReadingsTopic(topic: string): { operator: string; asset_id: string } | undefined {
    const levels = topic.split('/');
    if (levels.length !== 4 || levels[0] !== 'ops' || levels[3] !== 'readings' || levels[1] === '' || levels[2] === '') return undefined;
    return { operator: levels[1], asset_id: levels[2] };
}
