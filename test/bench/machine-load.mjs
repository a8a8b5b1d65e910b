// Machine description and CPU load during a benchmark, read from /proc (Linux only), so that a
// figure can be set against what else ran on the machine at the time.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

/** Returns CPU model, cores, memory, kernel and Node.js version in one line. */
export function describeMachine() {
    const cores = cpus();
    const model = cores[0]?.model?.trim() || 'unknown CPU';
    return `${model}, ${cores.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
}

/** CPU time of the whole machine in clock ticks: busy and total (busy plus idle and I/O wait). */
function machineTicks() {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    return { busy: total - fields[3] - fields[4], total };
}

/** User plus system CPU time of one process in clock ticks, or undefined when it has exited. */
function processTicks(pid) {
    try {
        const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // Fields after the command name, which may contain spaces: state is field 3, utime 14, stime 15.
        const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
        return Number(fields[11]) + Number(fields[12]);
    } catch {
        return undefined;
    }
}

/** Samples CPU use of the machine, of this process and of the demo processes over the load. */
export class LoadMeter {
    constructor(demoPids) {
        this.demoPids = demoPids;
        this.loadSamples = [];
        this.start = this.snapshot();
        this.timer = setInterval(() => this.loadSamples.push(loadavg()[0]), 5_000);
        this.loadSamples.push(loadavg()[0]);
    }

    snapshot() {
        return {
            machine: machineTicks(),
            bench: processTicks(process.pid),
            demo: this.demoPids.map((pid) => processTicks(pid)),
        };
    }

    /**
     * Stops sampling. Returns shares of the machine's CPU capacity in percent, the load averages,
     * and the demo processes that exited meanwhile, whose CPU time is missing from the demo's share.
     */
    stop() {
        clearInterval(this.timer);
        this.loadSamples.push(loadavg()[0]);
        const end = this.snapshot();
        const total = end.machine.total - this.start.machine.total;
        const share = (ticks) => (100 * ticks) / total;
        const busy = share(end.machine.busy - this.start.machine.busy);
        const bench = share(end.bench - this.start.bench);
        const exited = this.demoPids.filter((_, i) => end.demo[i] === undefined);
        const demo = share(this.demoPids.reduce((sum, _, i) => sum + ((end.demo[i] ?? this.start.demo[i] ?? 0) - (this.start.demo[i] ?? 0)), 0));
        return {
            exited,
            busy,
            bench,
            demo,
            others: Math.max(0, busy - bench - demo),
            loadMin: Math.min(...this.loadSamples),
            loadMax: Math.max(...this.loadSamples),
            loadMean: this.loadSamples.reduce((sum, value) => sum + value, 0) / this.loadSamples.length,
        };
    }
}
