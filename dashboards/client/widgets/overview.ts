// Headline figures: total oil and gas, active wells, open P1 alerts, last update.
import type { OverviewData } from '../../lib/protocol';
import { formatDecimal, formatInteger, formatLocalTime, formatUtc, h } from '../dom';
import { panelTitle, type ClientWidget, type WidgetContext } from './widget';

function card(label: string, value: HTMLElement, detail: HTMLElement): HTMLElement {
    return h('div', { class: 'card' }, h('div', { class: 'card-label' }, label), value, detail);
}

export function createOverview(context: WidgetContext): ClientWidget {
    const oil = h('div', { class: 'card-value' }, '–');
    const gas = h('div', { class: 'card-value' }, '–');
    const active = h('div', { class: 'card-value' }, '–');
    const p1 = h('div', { class: 'card-value' }, '–');
    const updated = h('div', { class: 'card-value card-value-small' }, '–');
    const activeDetail = h('div', { class: 'card-detail' });
    const p1Detail = h('div', { class: 'card-detail' });
    const updatedDetail = h('div', { class: 'card-detail' });
    const p1Card = card('Open P1 alerts', p1, p1Detail);

    const element = h(
        'section',
        { class: 'panel overview', 'aria-label': panelTitle(context.config, 'Overview') },
        card('Total oil', oil, h('div', { class: 'card-detail' }, 'bopd, latest per well')),
        card('Total gas', gas, h('div', { class: 'card-detail' }, 'mmscfd, latest per well')),
        card('Active wells', active, activeDetail),
        p1Card,
        card('Last reading', updated, updatedDetail),
    );

    function render(data: OverviewData): void {
        oil.textContent = formatInteger(data.total_oil_bopd);
        gas.textContent = formatDecimal(data.total_gas_mmscfd);
        active.textContent = `${data.active_wells} / ${data.wells}`;
        activeDetail.textContent = `reading in the last ${data.active_window_minutes} min of data`;
        p1.textContent = String(data.open_p1);
        p1Detail.textContent = data.acknowledged_p1 > 0 ? `${data.acknowledged_p1} acknowledged` : 'none acknowledged';
        p1Card.classList.toggle('card-alarm', data.open_p1 > 0);
        updated.textContent = formatUtc(data.last_reading_ts);
        updatedDetail.textContent = data.last_received_at ? `received ${formatLocalTime(data.last_received_at)}` : 'nothing received yet';
    }

    return {
        element,
        setState: (data) => render(data as OverviewData),
        update: (data) => render(data as OverviewData),
        destroy: () => undefined,
    };
}
