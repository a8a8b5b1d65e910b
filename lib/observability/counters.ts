// Process-wide counters and gauges in the Prometheus text format. Nodes count what they handle;
// the cloud runtime serves the totals at GET /metrics.

type Labels = Record<string, string>;

interface Series {
    help: string;
    type: 'counter' | 'gauge';
    values: Map<string, { labels: Labels; value: number | (() => number) }>;
}

const registry = new Map<string, Series>();

function labelKey(labels: Labels): string {
    return Object.keys(labels)
        .sort()
        .map((name) => `${name}="${labels[name].replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
        .join(',');
}

function series(name: string, type: Series['type'], help: string): Series {
    let entry = registry.get(name);
    if (!entry) {
        entry = { help, type, values: new Map() };
        registry.set(name, entry);
    }
    return entry;
}

/** Adds `amount` (default 1) to a counter. */
export function incrementCounter(name: string, help: string, labels: Labels = {}, amount = 1): void {
    const entry = series(name, 'counter', help);
    const key = labelKey(labels);
    const current = entry.values.get(key);
    const value = current && typeof current.value === 'number' ? current.value : 0;
    entry.values.set(key, { labels, value: value + amount });
}

/** Registers a gauge read when the metrics are served; returns a function that removes it. */
export function registerGauge(name: string, help: string, labels: Labels, read: () => number): () => void {
    const entry = series(name, 'gauge', help);
    const key = labelKey(labels);
    entry.values.set(key, { labels, value: read });
    return () => entry.values.delete(key);
}

/** Returns the value of one counter or gauge, for tests and benchmarks. */
export function metricValue(name: string, labels: Labels = {}): number | undefined {
    const value = registry.get(name)?.values.get(labelKey(labels))?.value;
    return typeof value === 'function' ? value() : value;
}

/** Renders every series in the Prometheus text exposition format, version 0.0.4. */
export function renderMetrics(): string {
    const lines: string[] = [];
    for (const [name, entry] of [...registry].sort(([a], [b]) => a.localeCompare(b))) {
        lines.push(`# HELP ${name} ${entry.help}`, `# TYPE ${name} ${entry.type}`);
        for (const { labels, value } of entry.values.values()) {
            const key = labelKey(labels);
            lines.push(`${name}${key ? `{${key}}` : ''} ${typeof value === 'function' ? value() : value}`);
        }
    }
    return lines.join('\n') + '\n';
}
