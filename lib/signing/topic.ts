// MQTT topics of signed readings: ops/{operator}/{asset_id}/readings for the readings of one asset,
// and ops/{operator}/{device_id}/readings for a batch of several assets of one device.

/** Characters that MQTT reserves in topic levels, plus the level separator. */
const RESERVED = /[/+#\u0000]/;

function checkLevel(name: string, value: string): void {
    if (value === '' || RESERVED.test(value)) {
        throw new TypeError(`The ${name} "${value}" cannot be an MQTT topic level; use an id without /, + or #.`);
    }
}

/** Returns the topic for readings of one asset; throws a TypeError for ids that cannot be a topic level. */
export function readingsTopic(operator: string, assetId: string): string {
    checkLevel('operator', operator);
    checkLevel('asset_id', assetId);
    return `ops/${operator}/${assetId}/readings`;
}

/** Returns the topic for a batch of readings of several assets signed by one device. */
export function deviceReadingsTopic(operator: string, deviceId: string): string {
    checkLevel('operator', operator);
    checkLevel('device_id', deviceId);
    return `ops/${operator}/${deviceId}/readings`;
}

/**
 * Reads operator and third level from a readings topic; undefined when the topic has another form.
 * The third level names an asset, or the device for a batch of several assets.
 */
export function parseReadingsTopic(topic: string): { operator: string; level: string } | undefined {
    const levels = topic.split('/');
    if (levels.length !== 4 || levels[0] !== 'ops' || levels[3] !== 'readings' || levels[1] === '' || levels[2] === '') return undefined;
    return { operator: levels[1], level: levels[2] };
}
