// Live line chart of one asset's metric. The asset and metric lists contain the series that have
// data. Points arrive live over the WebSocket, and older points come from the REST API. The
// latest forecast of the series, when there is one, is drawn after the live points as a dashed
// line in a shaded band.
import uPlot from 'uplot';

import type { TrendPoint, TrendSeries, TrendSeriesInfo } from '../../lib/protocol';
import type { TrendDataWithForecast, TrendForecast, TrendSeriesWithForecast } from '../../lib/trend-store';
import { apiErrorMessage } from '../auth';
import { formatUtc, formatValue, h } from '../dom';
import { chartColumns, SERIES } from './trend-forecast';
import { panelTitle, SELECT_ASSET, type ClientWidget, type WidgetContext } from './widget';

/** Hours of history requested from the REST API before the newest point. */
const HISTORY_HOURS = 24;
/** Upper bound on points kept for one chart, history included. */
const MAX_CHART_POINTS = 20_000;
const FORECAST_COLOR = '#d9822b';
const FORECAST_EDGE_COLOR = 'rgba(217, 130, 43, 0.45)';
const FORECAST_BAND_FILL = 'rgba(217, 130, 43, 0.18)';

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
    let forecast: TrendForecast | undefined;
    let historyNote = '';
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
            // The forecast series have no gaps of their own: they skip the x values of live points.
            series: [
                {},
                { label: 'value', stroke: '#1f6fb2', width: 1.5, spanGaps: false },
                { label: 'forecast', stroke: FORECAST_COLOR, width: 1.5, dash: [6, 4], spanGaps: true, points: { show: false } },
                { label: 'forecast upper', stroke: FORECAST_EDGE_COLOR, width: 1, spanGaps: true, points: { show: false } },
                { label: 'forecast lower', stroke: FORECAST_EDGE_COLOR, width: 1, spanGaps: true, points: { show: false } },
            ],
            bands: [{ series: [SERIES.upper, SERIES.lower], fill: FORECAST_BAND_FILL }],
            axes: [
                { stroke: '#4a5a68', grid: { stroke: '#e3e8ec' } },
                { stroke: '#4a5a68', grid: { stroke: '#e3e8ec' }, size: 60 },
            ],
        },
        [[], [], [], [], []],
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
            chart.setData(chartColumns(points, forecast));
            const last = points[points.length - 1];
            const unit = selection ? catalogue.get(selection.asset_id)?.get(selection.metric) ?? '' : '';
            latest.textContent = last ? `${formatValue(last[1])} ${unit}` : '';
        });
    }

    function showNote(): void {
        const forecastNote = forecast ? `forecast from ${formatUtc(new Date(forecast.generated_at).toISOString())} (dashed, band shaded)` : '';
        note.textContent = [historyNote, forecastNote].filter((part) => part !== '').join(' · ');
    }

    function setForecast(next: TrendForecast | undefined): void {
        forecast = next;
        showNote();
        draw();
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
        forecast = undefined;
        historyNote = '';
        showNote();
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
            historyNote = `History unavailable (${apiErrorMessage(result)}); showing live points only.`;
            showNote();
            return;
        }
        const history = readingsToPoints(result.body);
        historyNote = history.length > 0 ? `${history.length} points of history loaded` : '';
        showNote();
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
            addToCatalogue((data as TrendDataWithForecast).series ?? []);
            if (selection) {
                choose(selection);
                return;
            }
            const first = [...catalogue.keys()].sort()[0];
            if (first) choose({ asset_id: first, metric: metricFor(first) });
            else fillSelects();
        },
        update: (data) => {
            const trend = data as TrendDataWithForecast;
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
            const nextForecast = trend.forecast;
            if (nextForecast && selection && nextForecast.asset_id === selection.asset_id && nextForecast.metric === selection.metric) {
                setForecast(nextForecast);
            }
        },
        series: (data: TrendSeries) => {
            if (!selection || data.asset_id !== selection.asset_id || data.metric !== selection.metric) return;
            if (data.unit) addToCatalogue([data]);
            points = mergePoints(points, data.points);
            const withForecast = data as TrendSeriesWithForecast;
            if (withForecast.forecast) setForecast(withForecast.forecast);
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
