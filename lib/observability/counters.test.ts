import { describe, expect, it } from 'vitest';

import { incrementCounter, metricValue, registerGauge, renderMetrics } from './counters';

describe('counters', () => {
    it('should add up per label set', () => {
        incrementCounter('test_events_total', 'Events seen.', { source: 'a' }, 2);
        incrementCounter('test_events_total', 'Events seen.', { source: 'a' });
        incrementCounter('test_events_total', 'Events seen.', { source: 'b' });

        expect(metricValue('test_events_total', { source: 'a' })).toBe(3);
        expect(metricValue('test_events_total', { source: 'b' })).toBe(1);
    });

    it('should render the Prometheus text format', () => {
        incrementCounter('test_render_total', 'Rendered things.', { node: 'n"1' }, 5);
        const remove = registerGauge('test_depth', 'Queue depth.', {}, () => 7);
        const text = renderMetrics();
        remove();

        expect(text).toContain('# HELP test_render_total Rendered things.\n# TYPE test_render_total counter\ntest_render_total{node="n\\"1"} 5\n');
        expect(text).toContain('# TYPE test_depth gauge\ntest_depth 7\n');
        expect(renderMetrics()).not.toContain('test_depth 7');
    });
});
