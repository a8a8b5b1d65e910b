import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { PROJECT_ROOT } from '../lib/paths';
import { helpText, optionsToEnv, parseOptions, UsageError } from './options';

describe('parseOptions', () => {
    it('should use defaults without flags or environment', () => {
        const options = parseOptions([], {});

        expect(options.profile).toBe('all');
        expect(options.port).toBe(1880);
        expect(options.host).toBe('127.0.0.1');
        expect(options.replaySpeed).toBe(10);
        expect(options.replayLoop).toBe(true);
        expect(options.mqttUrl).toBe('mqtt://127.0.0.1:1883');
        expect(options.dataDir.endsWith('.upstream-live')).toBe(true);
    });

    it('should resolve the assets file', () => {
        expect(parseOptions([], {}).assetsFile).toBe(join(PROJECT_ROOT, 'data', 'assets.json'));

        const options = parseOptions(['--assets-file', 'site/assets.json'], {});

        expect(options.assetsFile).toBe(resolve('site/assets.json'));
        expect(optionsToEnv(options).UL_ASSETS_FILE).toBe(resolve('site/assets.json'));
        expect(parseOptions([], { UL_ASSETS_FILE: '/srv/registry.json' }).assetsFile).toBe('/srv/registry.json');
    });

    it('should resolve the devices file in the data folder', () => {
        expect(parseOptions(['--data-dir', '/srv/ul'], {}).devicesFile).toBe('/srv/ul/devices.json');

        const options = parseOptions(['--devices-file', 'shared/devices.json'], {});

        expect(options.devicesFile).toBe(resolve('shared/devices.json'));
        expect(optionsToEnv(options).UL_DEVICES_FILE).toBe(resolve('shared/devices.json'));
    });

    it('should switch the dashboard feed', () => {
        expect(parseOptions([], {}).dashboardFeed).toBe(true);
        expect(optionsToEnv(parseOptions(['--dashboard-feed', 'false'], {})).UL_DASHBOARD_FEED).toBe('false');
        expect(() => parseOptions(['--dashboard-feed', 'perhaps'], {})).toThrow(/--dashboard-feed/);
    });

    it('should prefer flags over environment', () => {
        const options = parseOptions(['--port', '2000', '--speed=60'], { UL_HTTP_PORT: '3000', UL_REPLAY_SPEED: '5', UL_PROFILE: 'cloud' });

        expect(options.port).toBe(2000);
        expect(options.replaySpeed).toBe(60);
        expect(options.profile).toBe('cloud');
    });

    it('should name the bad value and the fix', () => {
        expect(() => parseOptions(['--port', 'http'], {})).toThrow(/--port: invalid port "http"; use a whole number/);
        expect(() => parseOptions(['--profile', 'fog'], {})).toThrow(/invalid profile "fog"; use all, edge or cloud/);
        expect(() => parseOptions([], { UL_REPLAY_LOOP: 'yes' })).toThrow(/UL_REPLAY_LOOP: invalid value "yes"; use true or false/);
        expect(() => parseOptions(['--colour'], {})).toThrow(UsageError);
        expect(() => parseOptions(['--port'], {})).toThrow(/needs a value/);
        expect(() => parseOptions(['--mqtt-url', 'not a url'], {})).toThrow(/invalid MQTT URL "not a url"; use a form like mqtt:/);
        expect(() => parseOptions(['--database-url', 'nonsense'], {})).toThrow(/invalid PostgreSQL URL "nonsense"/);
        expect(() => parseOptions(['--host', '999.1.1.1'], {})).toThrow(/invalid address "999.1.1.1"/);
        expect(() => parseOptions(['--retention', 'raw=ninety'], {})).toThrow(/--retention: Invalid retention "ninety" for raw: use a positive number of days such as 90d, or forever/);
        expect(() => parseOptions([], { UL_RETENTION: 'raw=800d' })).toThrow(/UL_RETENTION: Invalid retention: raw is kept 800 days, longer than 1m \(730 days\); keep 1m as long, for example 1m=800d/);
    });

    it('should name a stray argument as unexpected', () => {
        for (const argv of [['extra'], ['--port', '1880', '1881'], ['--port=1880', 'cloud']]) {
            const stray = argv[argv.length - 1];
            expect(() => parseOptions(argv, {})).toThrow(UsageError);
            expect(() => parseOptions(argv, {})).toThrow(`Unexpected argument "${stray}"`);
            expect(() => parseOptions(argv, {})).toThrow('upstream-live --help');
        }
        expect(() => parseOptions(['--colour'], {})).toThrow('Unknown option "--colour"');
    });

    it('should take ports in decimal digits only', () => {
        for (const raw of [' 18890', '0x4A00', '1e4', '1880.0', '', '70000']) {
            expect(() => parseOptions(['--port', raw], {})).toThrow(`--port: invalid port "${raw}"`);
        }
        expect(parseOptions(['--port', '08080'], {}).port).toBe(8080);
        expect(parseOptions(['--port', '0'], {}).port).toBe(0);
    });

    it('should call an option before another a missing value', () => {
        expect(() => parseOptions(['--port', '--data-dir', 'x'], {})).toThrow('Option --port needs a value');
        expect(() => parseOptions(['--speed', '--port', '18890'], {})).toThrow('Option --speed needs a value');
        expect(parseOptions(['--data-dir=--odd'], {}).dataDir).toMatch(/--odd$/);
    });

    it('should take the last value of a repeated option', () => {
        expect(parseOptions(['--port', '18890', '--port', '18891'], {}).port).toBe(18891);
        expect(parseOptions(['--port=1', '--port', '2'], {}).port).toBe(2);
    });

    it('should normalize the retention policy', () => {
        expect(parseOptions([], {}).retention).toBe('raw=90d,1m=730d,15m=forever,1h=forever');
        expect(parseOptions(['--retention', '15m=3650,1h=3650, raw=30'], {}).retention).toBe('raw=30d,1m=730d,15m=3650d,1h=3650d');
        expect(parseOptions([], {}).retentionIntervalHours).toBe(24);
    });

    it('should round-trip through child environment', () => {
        const options = parseOptions(['--port', '2001', '--loop', 'false', '--data-dir', '/tmp/x'], {});
        const again = parseOptions([], optionsToEnv(options));

        expect(again).toEqual(options);
    });

    it('should list every option in the help text', () => {
        const text = helpText();

        for (const flag of ['--profile', '--data-dir', '--port', '--speed', '--mqtt-url', '--database-url']) expect(text).toContain(flag);
    });
});
