// Watchdog for a process that runs without a supervisor, such as in a container or a service unit.
// A worker thread checks that the main thread's event loop still runs. When the loop has been
// blocked too long, it kills the process, and the container or service manager starts it again.
// A frozen process (SIGSTOP) stops the worker too, so only a health check can catch that case.
import { Worker } from 'node:worker_threads';

import { ConfigError } from '../errors';

/** Default time the event loop may be blocked before the process is killed, in seconds. */
export const DEFAULT_WATCHDOG_SECONDS = 60;

/** Reads UL_WATCHDOG_SECONDS: the seconds without a heartbeat after which a runtime is restarted. */
export function watchdogSeconds(env: NodeJS.ProcessEnv = process.env): number {
    const text = env.UL_WATCHDOG_SECONDS;
    if (text === undefined || text === '') return DEFAULT_WATCHDOG_SECONDS;
    const seconds = Number(text);
    if (!Number.isFinite(seconds) || seconds < 1) {
        throw new ConfigError(`UL_WATCHDOG_SECONDS "${text}" is invalid; set a number of seconds of 1 or more, such as 60.`);
    }
    return seconds;
}

// Runs in the worker: reads the time the main thread last wrote, and kills the process when it is
// older than the limit. process.kill in a worker signals the whole process.
const WORKER_SOURCE = `
const { writeSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
const beat = new Float64Array(workerData.shared);
setInterval(() => {
    const silentMs = Date.now() - beat[0];
    if (silentMs <= workerData.limitMs) return;
    const line = { time: new Date().toISOString(), level: 'error', role: workerData.role,
        msg: workerData.role + ' runtime: event loop blocked for ' + Math.round(silentMs / 1000) + ' s; killing the process so that it restarts' };
    // process.stderr of a worker goes through the blocked main thread, so the line is written to fd 2 itself.
    writeSync(2, JSON.stringify(line) + '\\n');
    process.kill(process.pid, 'SIGKILL');
}, Math.min(1000, workerData.limitMs));
`;

/** Starts the watchdog; returns a function that stops it. */
export function startLoopWatchdog(limitMs: number, role: string): () => void {
    const shared = new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT);
    const beat = new Float64Array(shared);
    beat[0] = Date.now();
    const timer = setInterval(() => {
        beat[0] = Date.now();
    }, Math.min(1000, limitMs / 4));
    timer.unref();
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { shared, limitMs, role } });
    worker.unref();
    return () => {
        clearInterval(timer);
        void worker.terminate();
    };
}
