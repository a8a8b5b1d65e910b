import { describe, expect, it } from 'vitest';

import type { Asset } from '../../lib/types';
import { AssetRegistry, decideAccess, scopeKey } from './access';

function asset(assetId: string, operator: string, type: Asset['type'] = 'well'): Asset {
    return { asset_id: assetId, name: assetId, type, operator, field: 'f', license: 'l', geometry: { type: 'Point', coordinates: [0, 0] } };
}

describe('decideAccess', () => {
    it('should give regulator roles every asset', () => {
        expect(decideAccess({ sub: 'a', roles: ['regulator-admin'] })).toEqual({ allowed: true, scope: { kind: 'all' } });
        expect(decideAccess({ sub: 'b', roles: ['analyst', 'public'] })).toEqual({ allowed: true, scope: { kind: 'all' } });
    });

    it('should scope an operator to its operator', () => {
        expect(decideAccess({ sub: 'c', roles: ['operator'], operator: 'acme' })).toEqual({ allowed: true, scope: { kind: 'operator', operator: 'acme' } });
    });

    it('should deny an operator without operator', () => {
        const decision = decideAccess({ sub: 'd', roles: ['operator'] });

        expect(decision.allowed).toBe(false);
    });

    it('should deny public and empty roles', () => {
        const publicDecision = decideAccess({ sub: 'e', roles: ['public'] });
        const emptyDecision = decideAccess({ sub: 'f', roles: [] });

        expect(publicDecision).toEqual({ allowed: false, reason: expect.stringContaining('the token has public') });
        expect(emptyDecision).toEqual({ allowed: false, reason: expect.stringContaining('the token has none') });
    });

    it('should key scopes by operator', () => {
        expect(scopeKey({ kind: 'all' })).toBe('all');
        expect(scopeKey({ kind: 'operator', operator: 'acme' })).toBe('operator:acme');
    });
});

describe('AssetRegistry', () => {
    it('should hide unknown assets from operators', () => {
        const registry = new AssetRegistry();
        registry.upsert([asset('w1', 'acme')]);

        expect(registry.visible({ kind: 'operator', operator: 'acme' }, 'w1')).toBe(true);
        expect(registry.visible({ kind: 'operator', operator: 'other' }, 'w1')).toBe(false);
        expect(registry.visible({ kind: 'operator', operator: 'acme' }, 'unknown')).toBe(false);
        expect(registry.visible({ kind: 'all' }, 'unknown')).toBe(true);
    });

    it('should count unknown assets as wells', () => {
        const registry = new AssetRegistry();
        registry.upsert([asset('w1', 'acme'), asset('fpso', 'acme', 'facility')]);

        expect(registry.isWell('w1')).toBe(true);
        expect(registry.isWell('fpso')).toBe(false);
        expect(registry.isWell('unknown')).toBe(true);
    });

    it('should notify only on real changes', () => {
        const registry = new AssetRegistry();
        let calls = 0;
        registry.onChange(() => {
            calls += 1;
        });

        registry.upsert([asset('w1', 'acme')]);
        registry.upsert([asset('w1', 'acme')]);
        registry.upsert([asset('w1', 'other')]);

        expect(calls).toBe(2);
        expect(registry.version).toBe(2);
        expect(registry.list({ kind: 'operator', operator: 'other' }).map((entry) => entry.asset_id)).toEqual(['w1']);
    });
});
