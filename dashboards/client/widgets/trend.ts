// Live line chart of one asset's metric. The asset and metric lists contain the series that have
// data. Points arrive live over the WebSocket, and older points come from the REST API.
import uPlot from 'uplot';

import type { TrendData, TrendPoint, TrendSeries, TrendSeriesInfo } from '../../lib/protocol';
import { apiErrorMessage } from '../auth';
import { formatValue, h } from '../dom';
import { panelTitle, SELECT_ASSET, type ClientWidget, type WidgetContext } from './widget';

/** Hours of history requested from the REST API before the newest point. */
const HISTORY_HOURS = 24;
/** Upper bound on points kept for one chart, history included. */
const MAX_CHART_POINTS = 20_000;

interface Selection {
    asset_id: string;
    metric: string;
}

/** Merges points into a sorted list; a point with an existing timestamp replaces the old value. */
export function mergePoints(target: TrendPoint[], incoming: TrendPoint[]): TrendPoint[] {
    const byTime = new Map<number, number | null>();
    for (const [ts, value] of target) byTime.set(ts, value);
    for (const [ts, value] of incoming) byTime.set(ts, value);
    const merged = [...byTime.entries()].sort((a, b) => a[0] - b[0]) as TrendPoint[];
    return merged.length > MAX_CHART_POINTS ? merged.slice(-MAX_CHART_POINTS) : merged;
}

function readingsToPoints(body: unknown): TrendPoint[] {
    const list = Array.isArray(body) ? body : (body as { readings?: unknown } | undefined)?.readings;
    if (!Array.isArray(list)) return [];
    const points: TrendPoint[] = [];
    for (const item of list as { ts?: unknown; value?: unknown; quality_flag?: unknown }[]) {
        const ts = typeof item.ts === 'string' ? Date.parse(item.ts) : Number.NaN;
        if (Number.isNaN(ts)) continue;
        const usable = typeof item.value === 'number' && item.quality_flag !== 'BAD';
        points.push([ts, usable ? (item.value as number) : null]);
    }
    return points;
}

export function createTrend(context: WidgetContext): ClientWidget {
    const preferredMetric = String(context.config.options.metric ?? 'oil_rate');
    const assetSelect = h('select', { 'aria-label': 'Asset' });
    const metricSelect = h('select', { 'aria-label': 'Metric' });
    const note = h('span', { class: 'note' });
    const latest = h('span', { class: 'latest' });
    const chartBox = h('div', { class: 'chart' });
    const element = h(
        'section',
        { class: 'panel trend' },
        h('header', null, h('h2', null, panelTitle(context.config, 'Trend')), assetSelect, metricSelect, latest),
        chartBox,
        h('footer', null, note),
    );

    /** Metric → unit, per asset. */
    const catalogue = new Map<string, Map<string, string>>();
    let selection: Selection | undefined;
    let points: TrendPoint[] = [];
    let historyRequest = 0;
    let drawPending = false;

    const chart = new uPlot(
        {
            width: 400,
            height: 200,
            ms: 1,
            tzDate: (ts) => uPlot.tzDate(new Date(ts), 'Etc/UTC'),
            legend: { show: false },
            cursor: { y: false },
            scales: { x: { time: true } },
            // uPlot draws point markers by itself once the points are far enough apart, for example a single point.
            series: [{}, { label: 'value', stroke: '#1f6fb2', width: 1.5, spanGaps: false }],
            axes: [
                { stroke: '#4a5a68', grid: { stroke: '#e3e8ec' } },
                { stroke: '#4a5a68', grid: { stroke: '#e3e8ec' }, size: 60 },
            ],
        },
        [[], []],
        chartBox,
    );
    const resize = new ResizeObserver(() => {
        const { width, height } = chartBox.getBoundingClientRect();
        if (width > 0 && height > 0) chart.setSize({ width: Math.floor(width), height: Math.floor(height) });
    });
    resize.observe(chartBox);

    function draw(): void {
        if (drawPending) return;
        drawPending = true;
        requestAnimationFrame(() => {
            drawPending = false;
            chart.setData([points.map((point) => point[0]), points.map((point) => point[1])]);
            const last = points[points.length - 1];
            const unit = selection ? catalogue.get(selection.asset_id)?.get(selection.metric) ?? '' : '';
            latest.textContent = last ? `${formatValue(last[1])} ${unit}` : '';
        });
    }

    function addToCatalogue(list: TrendSeriesInfo[]): void {
        for (const info of list) {
            let metrics = catalogue.get(info.asset_id);
            if (!metrics) {
                metrics = new Map();
                catalogue.set(info.asset_id, metrics);
            }
            metrics.set(info.metric, info.unit);
        }
    }

    function fillSelects(): void {
        const assetIds = [...catalogue.keys()].sort();
        if (selection && !catalogue.has(selection.asset_id)) assetIds.unshift(selection.asset_id);
        assetSelect.replaceChildren(...assetIds.map((assetId) => h('option', { value: assetId }, assetId)));
        const metrics = selection ? [...(catalogue.get(selection.asset_id)?.keys() ?? [])].sort() : [];
        if (selection && !metrics.includes(selection.metric)) metrics.unshift(selection.metric);
        metricSelect.replaceChildren(...metrics.map((metric) => h('option', { value: metric }, metric)));
        if (selection) {
            assetSelect.value = selection.asset_id;
            metricSelect.value = selection.metric;
        }
    }

    /** Picks the metric to show for an asset: the current one, the configured one, or the first. */
    function metricFor(assetId: string): string {
        const metrics = [...(catalogue.get(assetId)?.keys() ?? [])].sort();
        if (selection && metrics.includes(selection.metric)) return selection.metric;
        if (metrics.includes(preferredMetric)) return preferredMetric;
        return metrics[0] ?? preferredMetric;
    }

    function choose(next: Selection): void {
        selection = next;
        points = [];
        note.textContent = '';
        fillSelects();
        draw();
        context.send({ type: 'select', widget: context.config.id, asset_id: next.asset_id, metric: next.metric });
    }

    async function loadHistory(chosen: Selection, anchor: number): Promise<void> {
        const request = ++historyRequest;
        const from = new Date(anchor - HISTORY_HOURS * 3_600_000).toISOString();
        const query = new URLSearchParams({ asset_id: chosen.asset_id, metric: chosen.metric, from, limit: '10000' });
        const result = await context.api.request('GET', `/readings?${query.toString()}`);
        if (request !== historyRequest || selection !== chosen) return;
        if (!result.ok) {
            note.textContent = `History unavailable (${apiErrorMessage(result)}); showing live points only.`;
            return;
        }
        const history = readingsToPoints(result.body);
        note.textContent = history.length > 0 ? `${history.length} points of history loaded` : '';
        points = mergePoints(points, history);
        draw();
    }

    assetSelect.addEventListener('change', () => choose({ asset_id: assetSelect.value, metric: metricFor(assetSelect.value) }));
    metricSelect.addEventListener('change', () => {
        if (selection) choose({ asset_id: selection.asset_id, metric: metricSelect.value });
    });
    const onSelectAsset = (event: Event): void => {
        const assetId = (event as CustomEvent<{ asset_id: string }>).detail.asset_id;
        if (selection?.asset_id !== assetId) choose({ asset_id: assetId, metric: metricFor(assetId) });
    };
    context.events.addEventListener(SELECT_ASSET, onSelectAsset);

    return {
        element,
        setState: (data) => {
            catalogue.clear();
            addToCatalogue((data as TrendData).series ?? []);
            if (selection) {
                choose(selection);
                return;
            }
            const first = [...catalogue.keys()].sort()[0];
            if (first) choose({ asset_id: first, metric: metricFor(first) });
            else fillSelects();
        },
        update: (data) => {
            const trend = data as TrendData;
            if (trend.series) {
                addToCatalogue(trend.series);
                if (!selection) {
                    const first = [...catalogue.keys()].sort()[0];
                    choose({ asset_id: first, metric: metricFor(first) });
                } else {
                    fillSelects();
                }
            }
            const incoming = trend.points;
            if (incoming && selection && incoming.asset_id === selection.asset_id && incoming.metric === selection.metric) {
                points = mergePoints(points, incoming.points);
                draw();
            }
        },
        series: (data: TrendSeries) => {
            if (!selection || data.asset_id !== selection.asset_id || data.metric !== selection.metric) return;
            if (data.unit) addToCatalogue([data]);
            points = mergePoints(points, data.points);
            draw();
            const anchor = points.length > 0 ? points[points.length - 1][0] : Date.now();
            void loadHistory(selection, anchor);
        },
        destroy: () => {
            resize.disconnect();
            context.events.removeEventListener(SELECT_ASSET, onSelectAsset);
            chart.destroy();
        },
    };
}
