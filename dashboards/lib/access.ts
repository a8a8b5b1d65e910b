// Asset access on the dashboard: the viewer's scope from its roles, and the asset registry that
// maps each asset to its operator.
import type { Principal } from '../../lib/auth/types';
import type { Asset } from '../../lib/types';

/** Regulator roles see every asset; an operator sees only its own operator's assets. */
export type Scope = { kind: 'all' } | { kind: 'operator'; operator: string };

export type AccessDecision = { allowed: true; scope: Scope } | { allowed: false; reason: string };

/** Decides which assets a principal may view; `public` alone gets no dashboard. */
export function decideAccess(principal: Principal): AccessDecision {
    const roles = principal.roles ?? [];
    if (roles.includes('regulator-admin') || roles.includes('analyst')) {
        return { allowed: true, scope: { kind: 'all' } };
    }
    if (roles.includes('operator')) {
        if (!principal.operator) {
            return { allowed: false, reason: 'The operator token names no operator; ask an administrator to set it.' };
        }
        return { allowed: true, scope: { kind: 'operator', operator: principal.operator } };
    }
    return { allowed: false, reason: `The dashboard needs an analyst, operator or regulator-admin role; the token has ${roles.join(', ') || 'none'}.` };
}

/** Returns a stable key per scope, for caching per-scope results within one push. */
export function scopeKey(scope: Scope): string {
    return scope.kind === 'all' ? 'all' : `operator:${scope.operator}`;
}

/** Assets loaded by the dashboard, by asset_id; `version` grows on every change. */
export class AssetRegistry {
    private readonly assets = new Map<string, Asset>();
    private listeners: (() => void)[] = [];
    version = 0;

    /** Adds or replaces assets by asset_id; assets not listed stay. */
    upsert(assets: Asset[]): void {
        let changed = false;
        for (const asset of assets) {
            const previous = this.assets.get(asset.asset_id);
            if (previous && JSON.stringify(previous) === JSON.stringify(asset)) continue;
            this.assets.set(asset.asset_id, asset);
            changed = true;
        }
        if (!changed) return;
        this.version += 1;
        for (const listener of this.listeners) listener();
    }

    onChange(listener: () => void): () => void {
        this.listeners.push(listener);
        return () => {
            this.listeners = this.listeners.filter((candidate) => candidate !== listener);
        };
    }

    get(assetId: string): Asset | undefined {
        return this.assets.get(assetId);
    }

    has(assetId: string): boolean {
        return this.assets.has(assetId);
    }

    /**
     * Returns whether a viewer with this scope may see data of the asset. An operator never sees
     * assets missing from the registry, because their operator is unknown.
     */
    visible(scope: Scope, assetId: string): boolean {
        if (scope.kind === 'all') return true;
        return this.assets.get(assetId)?.operator === scope.operator;
    }

    /** Returns whether the asset counts as a well: registry wells, and assets the registry does not list. */
    isWell(assetId: string): boolean {
        const asset = this.assets.get(assetId);
        return !asset || asset.type === 'well';
    }

    list(scope: Scope): Asset[] {
        const all = [...this.assets.values()];
        return scope.kind === 'all' ? all : all.filter((asset) => asset.operator === scope.operator);
    }
}
