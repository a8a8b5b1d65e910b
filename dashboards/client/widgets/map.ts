// Asset map without tiles: a plain background, a graticule, and one marker per asset coloured
// by status. Areas far apart (for example Brazil offshore and the North Sea) get a selector.
import * as L from 'leaflet';

import type { AssetStatus, MapAsset, MapData } from '../../lib/protocol';
import { h } from '../dom';
import { panelTitle, SELECT_ASSET, type ClientWidget, type WidgetContext } from './widget';

const STATUS_COLOURS: Record<AssetStatus, string> = {
    alarm: '#d64541',
    warning: '#e8a317',
    active: '#2e9e5b',
    stale: '#9aa3ab',
};

const STATUS_LABELS: Record<AssetStatus, string> = {
    alarm: 'open P1/P2 alert',
    warning: 'open P3 alert',
    active: 'reporting',
    stale: 'no recent data',
};

/** Assets closer than this many degrees to an asset of an area join that area. */
const AREA_JOIN_DEGREES = 5;

/** Graticule steps in degrees, largest first; the smallest step at least MIN_LINE_GAP_PX apart is drawn. */
const GRATICULE_STEPS = [10, 5, 1, 0.5, 0.1, 0.05, 0.01, 0.005, 0.001];
const MIN_LINE_GAP_PX = 70;

interface Area {
    label: string;
    bounds: L.LatLngBounds;
    assets: MapAsset[];
}

function positions(asset: MapAsset): L.LatLngExpression[] {
    const geometry = asset.geometry;
    if (geometry.type === 'Point') return [[geometry.coordinates[1], geometry.coordinates[0]]];
    return geometry.coordinates.map(([lon, lat]) => [lat, lon] as L.LatLngExpression);
}

/** Groups assets into areas: an asset within AREA_JOIN_DEGREES of any asset of an area joins it. */
export function groupAreas(assets: MapAsset[]): Area[] {
    const groups: { assets: MapAsset[]; points: L.LatLng[] }[] = [];
    for (const asset of assets) {
        const points = positions(asset).map((position) => L.latLng(position));
        const near = groups.filter((group) =>
            group.points.some((a) => points.some((b) => Math.abs(a.lat - b.lat) < AREA_JOIN_DEGREES && Math.abs(a.lng - b.lng) < AREA_JOIN_DEGREES)),
        );
        const merged = { assets: [asset], points };
        for (const group of near) {
            merged.assets.push(...group.assets);
            merged.points.push(...group.points);
            groups.splice(groups.indexOf(group), 1);
        }
        groups.push(merged);
    }
    return groups
        .sort((a, b) => b.assets.length - a.assets.length)
        .map((group) => {
            const fields = [...new Set(group.assets.map((asset) => asset.field))];
            const label = fields.length <= 2 ? fields.join(', ') : `${fields.slice(0, 2).join(', ')} +${fields.length - 2}`;
            return { label: `${label} (${group.assets.length})`, bounds: L.latLngBounds(group.points), assets: group.assets };
        });
}

function graticuleStep(map: L.Map): number {
    const bounds = map.getBounds();
    const size = map.getSize();
    const degreesPerPixel = Math.max((bounds.getEast() - bounds.getWest()) / size.x, (bounds.getNorth() - bounds.getSouth()) / size.y);
    const minStep = degreesPerPixel * MIN_LINE_GAP_PX;
    const step = [...GRATICULE_STEPS].reverse().find((candidate) => candidate >= minStep);
    return step ?? GRATICULE_STEPS[0];
}

function formatDegrees(value: number, positive: string, negative: string, step: number): string {
    const decimals = step >= 1 ? 0 : Math.ceil(-Math.log10(step));
    return `${Math.abs(value).toFixed(decimals)}°${value >= 0 ? positive : negative}`;
}

/** Draws latitude and longitude lines with labels for the current view. */
function drawGraticule(map: L.Map, layer: L.LayerGroup): void {
    layer.clearLayers();
    const bounds = map.getBounds().pad(0.1);
    const step = graticuleStep(map);
    const south = Math.max(-85, Math.floor(bounds.getSouth() / step) * step);
    const north = Math.min(85, Math.ceil(bounds.getNorth() / step) * step);
    const west = Math.floor(bounds.getWest() / step) * step;
    const east = Math.ceil(bounds.getEast() / step) * step;
    const style: L.PolylineOptions = { color: '#8fa6b8', weight: 1, opacity: 0.6, interactive: false, pane: 'graticule' };
    const view = map.getBounds();
    const size = map.getSize();

    for (let index = 0; south + index * step <= north; index += 1) {
        const lat = south + index * step;
        layer.addLayer(L.polyline([[lat, west], [lat, east]], style));
        // Labels sit on the west and south edges; those that would be cut off or collide are left out.
        const y = map.latLngToContainerPoint([lat, view.getWest()]).y;
        if (y > 16 && y < size.y - 24) {
            layer.addLayer(L.marker([lat, view.getWest()], { icon: graticuleLabel(formatDegrees(lat, 'N', 'S', step), 'lat'), interactive: false, pane: 'graticule' }));
        }
    }
    for (let index = 0; west + index * step <= east; index += 1) {
        const lon = west + index * step;
        layer.addLayer(L.polyline([[south, lon], [north, lon]], style));
        const x = map.latLngToContainerPoint([view.getSouth(), lon]).x;
        if (x > 48 && x < size.x - 56) {
            layer.addLayer(L.marker([view.getSouth(), lon], { icon: graticuleLabel(formatDegrees(lon, 'E', 'W', step), 'lon'), interactive: false, pane: 'graticule' }));
        }
    }
}

function graticuleLabel(text: string, axis: 'lat' | 'lon'): L.DivIcon {
    return L.divIcon({ className: `graticule-label graticule-${axis}`, html: text, iconSize: undefined });
}

export function createMap(context: WidgetContext): ClientWidget {
    const areaSelect = h('select', { 'aria-label': 'Map area' });
    const legend = h(
        'div',
        { class: 'legend' },
        ...(Object.keys(STATUS_COLOURS) as AssetStatus[]).map((status) =>
            h('span', null, h('i', { class: 'dot', style: `background:${STATUS_COLOURS[status]}` }), STATUS_LABELS[status]),
        ),
    );
    const container = h('div', { class: 'map-canvas' });
    const element = h(
        'section',
        { class: 'panel map' },
        h('header', null, h('h2', null, panelTitle(context.config, 'Map')), areaSelect),
        container,
        legend,
    );

    // No attribution control because no tile data is shown; zoom buttons on the right keep the latitude labels free.
    const map = L.map(container, { attributionControl: false, zoomControl: false, zoomSnap: 0.25, minZoom: 1, maxZoom: 18, worldCopyJump: false });
    L.control.zoom({ position: 'topright' }).addTo(map);
    map.createPane('graticule').style.zIndex = '250';
    map.setView([20, 0], 2);
    const graticule = L.layerGroup().addTo(map);
    const markerLayer = L.layerGroup().addTo(map);

    const assets = new Map<string, MapAsset>();
    const status = new Map<string, AssetStatus>();
    const layers = new Map<string, L.CircleMarker | L.Polyline>();
    let areas: Area[] = [];
    let chosenArea: string | undefined;
    let selected: string | undefined;
    /** False until the view was fitted while the map had a size; the first layout refits it. */
    let fitted = false;

    map.on('moveend', () => drawGraticule(map, graticule));
    const resize = new ResizeObserver(() => {
        map.invalidateSize();
        if (!fitted) fitArea();
        drawGraticule(map, graticule);
    });
    resize.observe(container);

    areaSelect.addEventListener('change', () => {
        chosenArea = areaSelect.value;
        fitArea();
    });
    const onSelect = (event: Event): void => {
        selected = (event as CustomEvent<{ asset_id: string }>).detail.asset_id;
        for (const assetId of layers.keys()) styleLayer(assetId);
    };
    context.events.addEventListener(SELECT_ASSET, onSelect);

    function fitArea(): void {
        const area = areas.find((candidate) => candidate.label === chosenArea) ?? areas[0];
        const bounds = chosenArea === 'all' || !area ? allBounds() : area.bounds;
        if (!bounds) return;
        map.fitBounds(bounds, { padding: [28, 28], maxZoom: 15 });
        fitted = map.getSize().x > 0;
    }

    function allBounds(): L.LatLngBounds | undefined {
        const points = [...assets.values()].flatMap(positions);
        return points.length > 0 ? L.latLngBounds(points) : undefined;
    }

    function styleLayer(assetId: string): void {
        const layer = layers.get(assetId);
        const asset = assets.get(assetId);
        if (!layer || !asset) return;
        const colour = STATUS_COLOURS[status.get(assetId) ?? 'stale'];
        const isSelected = assetId === selected;
        if (layer instanceof L.CircleMarker) {
            // Wells are filled dots; facilities are larger rings, so that a well on the same spot stays visible.
            const facility = asset.type !== 'well';
            let outline = facility ? colour : '#ffffff';
            if (isSelected) outline = '#10212e';
            let radius = isSelected ? 9 : 7;
            if (facility) radius = 13;
            layer.setStyle({ color: outline, weight: isSelected || facility ? 3 : 1.5, fillColor: colour, fillOpacity: facility ? 0.15 : 0.95 });
            layer.setRadius(radius);
        } else {
            layer.setStyle({ color: colour, weight: isSelected ? 6 : 4 });
        }
        layer.setTooltipContent(tooltip(asset));
    }

    function tooltip(asset: MapAsset): string {
        const state = STATUS_LABELS[status.get(asset.asset_id) ?? 'stale'];
        const note = asset.position_illustrative ? '<br><em>illustrative position</em>' : '';
        return `<strong>${escapeHtml(asset.name)}</strong><br>${escapeHtml(asset.type)} · ${escapeHtml(asset.operator)}<br>${state}${note}`;
    }

    function rebuild(list: MapAsset[]): void {
        markerLayer.clearLayers();
        layers.clear();
        assets.clear();
        // Facilities and pipelines first, so that wells at the same position stay clickable on top.
        const ordered = [...list].sort((a, b) => Number(a.type === 'well') - Number(b.type === 'well'));
        for (const asset of ordered) {
            assets.set(asset.asset_id, asset);
            // The class names the asset, so that tests and style sheets can find its marker.
            const className = `asset asset-${asset.asset_id}`;
            const layer =
                asset.geometry.type === 'Point'
                    ? L.circleMarker(positions(asset)[0], { className })
                    : L.polyline(positions(asset), { lineCap: 'round', className });
            layer.bindTooltip(tooltip(asset), { direction: 'top', offset: [0, -6] });
            layer.on('click', () => context.events.dispatchEvent(new CustomEvent(SELECT_ASSET, { detail: { asset_id: asset.asset_id } })));
            markerLayer.addLayer(layer);
            layers.set(asset.asset_id, layer);
            styleLayer(asset.asset_id);
        }

        areas = groupAreas(list);
        areaSelect.replaceChildren(
            ...areas.map((area) => h('option', { value: area.label }, area.label)),
            h('option', { value: 'all' }, 'All areas'),
        );
        areaSelect.hidden = areas.length < 2;
        if (!areas.some((area) => area.label === chosenArea) && chosenArea !== 'all') chosenArea = areas[0]?.label;
        if (chosenArea) areaSelect.value = chosenArea;
        fitArea();
    }

    function apply(data: MapData): void {
        for (const [assetId, value] of Object.entries(data.status)) status.set(assetId, value);
        if (data.assets) rebuild(data.assets);
        else for (const assetId of Object.keys(data.status)) styleLayer(assetId);
    }

    return {
        element,
        setState: (data) => {
            status.clear();
            apply(data as MapData);
        },
        update: (data) => apply(data as MapData),
        destroy: () => {
            resize.disconnect();
            context.events.removeEventListener(SELECT_ASSET, onSelect);
            map.remove();
        },
    };
}

function escapeHtml(text: string): string {
    return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
