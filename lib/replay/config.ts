// Validation of the replay node configuration. Values may arrive as strings, because flow files
// set them from environment variables (`${UL_REPLAY_SPEED}`), which Node-RED substitutes as text.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import { ConfigError } from '../errors';
import type { ReplayOptions, TimestampMode } from './player';

export interface RawReplayConfig {
    file?: unknown;
    speed?: unknown;
    timestamps?: unknown;
    autostart?: unknown;
    loop?: unknown;
    startRow?: unknown;
    endRow?: unknown;
}

export interface ReplayNodeSettings extends ReplayOptions {
    /** Whether playback starts when the flow is deployed. */
    autostart: boolean;
}

function parseFlag(value: unknown, name: string, fallback: boolean): boolean {
    if (value === undefined || value === null || value === '') return fallback;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new ConfigError(`Option ${name} is "${String(value)}"; set it to true or false.`, { context: { [name]: value } });
}

function parseRowNumber(value: unknown, name: string): number | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    const row = Number(value);
    if (!Number.isSafeInteger(row) || row < 1) {
        throw new ConfigError(`Option ${name} is "${String(value)}"; use a whole row number of 1 or more, or leave it empty.`, {
            context: { [name]: value },
        });
    }
    return row;
}

/**
 * Checks the replay configuration and resolves the file path: a relative path is taken from
 * `dataDir` (the project's data folder). Throws a ConfigError naming the option and the fix.
 */
export function parseReplayConfig(config: RawReplayConfig, dataDir: string): ReplayNodeSettings {
    const file = typeof config.file === 'string' ? config.file.trim() : '';
    if (file === '') {
        throw new ConfigError('No replay file is set; enter a CSV path such as petrobras-3w/6/WELL-00004_20171031193025.csv.');
    }
    const path = isAbsolute(file) ? file : resolve(dataDir, file);
    if (!existsSync(path) || !statSync(path).isFile()) {
        throw new ConfigError(`Replay file ${path} was not found; check the path (relative paths start in ${dataDir}).`, {
            context: { file: path },
        });
    }

    const speedText = config.speed === undefined || config.speed === '' ? '1' : String(config.speed).trim();
    const speed = Number(speedText);
    if (Number.isNaN(speed) || speed <= 0) {
        throw new ConfigError(`Speed "${speedText}" is invalid; use a factor above 0 such as 1 (real time) or 60 (a minute per second).`, {
            context: { speed: config.speed },
        });
    }

    const timestamps = (config.timestamps === undefined || config.timestamps === '' ? 'shift-to-now' : config.timestamps) as TimestampMode;
    if (timestamps !== 'shift-to-now' && timestamps !== 'original') {
        throw new ConfigError(`Timestamp mode "${String(config.timestamps)}" is invalid; use shift-to-now or original.`, {
            context: { timestamps: config.timestamps },
        });
    }

    const startRow = parseRowNumber(config.startRow, 'startRow');
    const endRow = parseRowNumber(config.endRow, 'endRow');
    if (startRow !== undefined && endRow !== undefined && endRow < startRow) {
        throw new ConfigError(`End row ${endRow} is before start row ${startRow}; set an end row at or after the start row.`, {
            context: { startRow, endRow },
        });
    }

    return {
        path,
        speed,
        timestamps,
        startRow,
        endRow,
        loop: parseFlag(config.loop, 'loop', false),
        autostart: parseFlag(config.autostart, 'autostart', true),
    };
}
