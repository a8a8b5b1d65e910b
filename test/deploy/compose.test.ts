// docker-compose.yml cannot be run on the test machine (no container engine), so its structure is
// checked here against what the runtime reads: services, ports, dependencies, health checks,
// volumes and every environment variable.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { PROJECT_ROOT } from '../../lib/paths';
import { OPTION_SPECS, parseOptions } from '../../runtime/options';

interface Service {
    image?: string;
    build?: string;
    command?: string[];
    environment?: Record<string, string | number | boolean>;
    ports?: string[];
    volumes?: string[];
    healthcheck?: { test: string[] };
    restart?: string;
    depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
};
const { services } = compose;
const runtimes = ['cloud-1', 'cloud-2', 'edge'];
const clouds = ['cloud-1', 'cloud-2'];

/**
 * Returns the UL_* variable names that the runtime's sources mention (tests left out): options,
 * `${NAME}` references of flows and bus settings, and direct reads of process.env.
 */
function variablesInSources(): Set<string> {
    const names = new Set<string>();
    const visit = (folder: string): void => {
        for (const entry of readdirSync(folder, { withFileTypes: true })) {
            const path = join(folder, entry.name);
            if (entry.isDirectory()) visit(path);
            else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
                for (const match of readFileSync(path, 'utf8').matchAll(/\bUL_[A-Z][A-Z0-9_]*\b/g)) names.add(match[0]);
            }
        }
    };
    for (const folder of ['lib', 'runtime', 'nodes', 'dashboards']) visit(join(PROJECT_ROOT, folder));
    for (const match of readFileSync(join(PROJECT_ROOT, 'settings.ts'), 'utf8').matchAll(/\bUL_[A-Z][A-Z0-9_]*\b/g)) names.add(match[0]);
    return names;
}

/** Variables the Dockerfile sets for every runtime container. */
function imageVariables(): string[] {
    const line = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8').split('\n').find((text) => text.startsWith('ENV ')) ?? '';
    return [...line.matchAll(/\b(UL_[A-Z0-9_]+)=/g)].map((match) => match[1]);
}

function environmentOf(name: string): Record<string, string> {
    const entries = Object.entries(services[name].environment ?? {}).map(([key, value]) => [key, String(value)]);
    return Object.fromEntries(entries);
}

/** Replaces `${NAME:-default}` by its default, as compose does when NAME is unset. */
function withDefaults(value: string): string {
    return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, (_whole, fallback: string) => fallback);
}

describe('docker-compose.yml', () => {
    it('should define the brokers, the database and three runtimes', () => {
        expect(Object.keys(services).sort()).toEqual(['cloud-1', 'cloud-2', 'edge', 'kafka', 'mqtt', 'postgres']);
        expect(services.postgres.image).toMatch(/^timescale\/timescaledb:/);
        expect(services.kafka.image).toMatch(/^apache\/kafka:/);
        expect(services.mqtt.image).toMatch(/^eclipse-mosquitto:/);
        for (const name of runtimes) expect(services[name].build).toBe('.');
    });

    it('should run Kafka in KRaft mode with its data on a volume', () => {
        const kafka = environmentOf('kafka');

        expect(kafka.KAFKA_PROCESS_ROLES).toBe('broker,controller');
        expect(kafka.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`${kafka.KAFKA_NODE_ID}@kafka:9093`);
        expect(kafka.KAFKA_ADVERTISED_LISTENERS).toBe('PLAINTEXT://kafka:9092');
        expect(services.kafka.volumes).toContain(`kafkadata:${kafka.KAFKA_LOG_DIRS}`);
    });

    it('should give every service a health check', () => {
        for (const [name, service] of Object.entries(services)) {
            expect(service.healthcheck?.test.length ?? 0, name).toBeGreaterThan(1);
        }
    });

    it('should restart every service unless stopped', () => {
        for (const [name, service] of Object.entries(services)) {
            expect(service.restart, name).toBe('unless-stopped');
        }
    });

    it('should start each runtime after the services it uses are healthy', () => {
        for (const name of clouds) {
            expect(services[name].depends_on).toEqual({
                postgres: { condition: 'service_healthy' },
                mqtt: { condition: 'service_healthy' },
                kafka: { condition: 'service_healthy' },
                edge: { condition: 'service_healthy' },
            });
        }
        expect(services.edge.depends_on).toEqual({ mqtt: { condition: 'service_healthy' } });
    });

    it('should pass only variables the runtime reads', () => {
        const read = variablesInSources();
        for (const spec of OPTION_SPECS) expect(read.has(spec.env), spec.env).toBe(true);
        for (const name of runtimes) {
            for (const key of Object.keys(environmentOf(name))) expect(read.has(key), `${name}: ${key}`).toBe(true);
        }
        const image = imageVariables();
        expect(image).toEqual(['UL_HOST', 'UL_DATA_DIR', 'UL_LOG_FORMAT']);
        for (const key of image) expect(read.has(key), key).toBe(true);
    });


    it('should configure the clouds for Kafka', () => {
        const ids = new Set<string>();
        for (const name of clouds) {
            const environment = Object.fromEntries(Object.entries(environmentOf(name)).map(([key, value]) => [key, withDefaults(value)]));
            const options = parseOptions(services[name].command ?? [], { ...environment, UL_DATA_DIR: '/var/lib/upstream-live' });

            expect(options.profile).toBe('cloud');
            expect(new URL(options.databaseUrl).host).toBe('postgres:5432');
            expect(new URL(options.mqttUrl).host).toBe('mqtt:1883');
            expect(options.devicesFile).toBe('/var/lib/upstream-live-edge/devices.json');
            expect(environment.UL_BUS_TRANSPORT).toBe('kafka');
            expect(environment.UL_KAFKA_BROKERS).toBe('kafka:9092');
            expect(environment.UL_MQTT_SHARED_GROUP).toBe('cloud');
            ids.add(environment.UL_RUNTIME_ID);
        }
        // Each runtime needs its own MQTT client id, so its own UL_RUNTIME_ID.
        expect(ids.size).toBe(clouds.length);
    });

    it('should feed the dashboard on the first cloud runtime only', () => {
        const feeds = clouds.map((name) => parseOptions([], { UL_DASHBOARD_FEED: environmentOf(name).UL_DASHBOARD_FEED }).dashboardFeed);

        expect(feeds).toEqual([true, false]);
    });

    it('should use loopback ports and own volumes', () => {
        expect(services['cloud-1'].ports).toEqual(['127.0.0.1:1880:1880']);
        expect(services['cloud-2'].ports).toEqual(['127.0.0.1:1882:1880']);
        expect(services.edge.ports).toEqual(['127.0.0.1:1881:1881']);
        const dataVolumes = runtimes.map((name) => (services[name].volumes ?? []).find((volume) => volume.endsWith(':/var/lib/upstream-live')));
        expect(new Set(dataVolumes).size).toBe(runtimes.length);
        for (const volume of dataVolumes) expect(Object.keys(compose.volumes)).toContain(volume?.split(':')[0]);
    });

    it('should mount the edge volume read-only where the clouds read the device registry', () => {
        for (const name of clouds) expect(services[name].volumes).toContain('edgedata:/var/lib/upstream-live-edge:ro');
        expect(services.edge.volumes).toContain('edgedata:/var/lib/upstream-live');
    });

    it('should probe the HTTP port each runtime listens on', () => {
        for (const name of runtimes) {
            const probe = (services[name].healthcheck?.test ?? []).join(' ');
            const port = name === 'edge' ? 1881 : 1880;
            expect(probe, name).toContain(`http://127.0.0.1:${port}/healthz`);
        }
    });
});
