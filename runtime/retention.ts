// Scheduled retention of the cloud store: parses the policy given on the command line and drops
// expired partitions on a timer, one pass at a time.
import { ConfigError } from '../lib/errors';
import { incrementCounter, registerGauge } from '../lib/observability/counters';
import { checkRetentionPolicy, DEFAULT_RETENTION } from '../lib/store/partitions';
import { RESOLUTIONS } from '../lib/store/readings';
import type { Resolution, RetentionPolicy, RetentionResult } from '../lib/store/types';
import type { Logger } from './logging';

/** Formats a policy the way --retention takes it, for example raw=90d,1m=730d,15m=forever,1h=forever. */
export function formatRetentionPolicy(policy: RetentionPolicy): string {
    return RESOLUTIONS.map((resolution) => `${resolution}=${policy[resolution] === null ? 'forever' : `${policy[resolution]}d`}`).join(',');
}

/**
 * Parses `raw=90d,1m=730d,15m=forever,1h=forever`. Resolutions left out keep their default;
 * a number of days may be written with or without the trailing d.
 */
export function parseRetentionPolicy(text: string): RetentionPolicy {
    const policy: RetentionPolicy = { ...DEFAULT_RETENTION };
    const example = formatRetentionPolicy(DEFAULT_RETENTION);
    for (const part of text.split(',').map((item) => item.trim()).filter(Boolean)) {
        const match = /^([^=\s]+)\s*=\s*(\S+)$/.exec(part);
        if (!match) throw new ConfigError(`Invalid retention "${part}": write RESOLUTION=DAYS, for example ${example}.`);
        const [, resolution, value] = match;
        if (!RESOLUTIONS.includes(resolution as Resolution)) {
            throw new ConfigError(`Invalid retention resolution "${resolution}": use raw, 1m, 15m or 1h, for example ${example}.`);
        }
        if (value === 'forever') {
            policy[resolution as Resolution] = null;
            continue;
        }
        const days = Number(value.replace(/d$/, ''));
        if (!/^\d+(\.\d+)?d?$/.test(value) || !(days > 0)) {
            throw new ConfigError(`Invalid retention "${value}" for ${resolution}: use a positive number of days such as 90d, or forever.`);
        }
        policy[resolution as Resolution] = days;
    }
    checkRetentionPolicy(policy);
    return policy;
}

export interface RetentionScheduleOptions {
    store: { applyRetention(now: Date, policy?: RetentionPolicy): Promise<RetentionResult> };
    policy: RetentionPolicy;
    /** Time between passes. */
    intervalMs: number;
    /** Time from start-up to the first pass; keeps the partition locks away from start-up imports. */
    firstDelayMs: number;
    logger: Logger;
    now?: () => Date;
}

export interface RetentionSchedule {
    /** Runs one pass now, unless one is running; resolves with its result, or undefined when skipped or failed. */
    runOnce(): Promise<RetentionResult | undefined>;
    /** Stops the timer and waits for a running pass. */
    stop(): Promise<void>;
}

/** Applies the retention policy first after `firstDelayMs`, then every `intervalMs`. */
export function scheduleRetention(options: RetentionScheduleOptions): RetentionSchedule {
    const { store, policy, logger } = options;
    const now = options.now ?? (() => new Date());
    let running: Promise<RetentionResult | undefined> | undefined;
    let lastSuccess = 0;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const unregister = registerGauge('ul_retention_last_success_seconds', 'Unix time of the last retention pass that completed.', {}, () => lastSuccess);

    async function pass(): Promise<RetentionResult | undefined> {
        const started = Date.now();
        try {
            const result = await store.applyRetention(now(), policy);
            lastSuccess = Math.floor(Date.now() / 1000);
            for (const partition of result.droppedPartitions) {
                incrementCounter('ul_retention_dropped_partitions_total', 'Partitions dropped by retention.', { resolution: partition.resolution });
            }
            logger.info('retention applied', {
                policy: formatRetentionPolicy(policy),
                dropped: result.droppedPartitions.map((partition) => partition.name),
                horizons: result.horizons,
                ms: Date.now() - started,
            });
            return result;
        } catch (error) {
            incrementCounter('ul_retention_failures_total', 'Retention passes that failed.');
            logger.error('retention failed; the next pass tries again', { error: (error as Error).message, nextInMs: options.intervalMs });
            return undefined;
        }
    }

    function runOnce(): Promise<RetentionResult | undefined> {
        if (running) return Promise.resolve(undefined);
        running = pass().finally(() => {
            running = undefined;
        });
        return running;
    }

    function arm(delayMs: number): void {
        if (stopped) return;
        timer = setTimeout(() => {
            void runOnce().then(() => arm(options.intervalMs));
        }, delayMs);
        timer.unref();
    }

    arm(options.firstDelayMs);
    logger.info('retention scheduled', { policy: formatRetentionPolicy(policy), firstInMs: options.firstDelayMs, everyMs: options.intervalMs });

    return {
        runOnce,
        async stop() {
            stopped = true;
            if (timer) clearTimeout(timer);
            unregister();
            await running;
        },
    };
}
