// Membership checks against a device's list of permitted assets. A device may list thousands of
// assets, so each list gets one set, built when it is first checked. A reloaded registry brings
// new lists, and the sets of the old ones are dropped with them.

const sets = new WeakMap<readonly string[], ReadonlySet<string>>();

/** Returns the set of the assets in `assets`, the same set for every call with the same list. */
export function assetSetOf(assets: readonly string[]): ReadonlySet<string> {
    let set = sets.get(assets);
    if (!set) {
        set = new Set(assets);
        sets.set(assets, set);
    }
    return set;
}
