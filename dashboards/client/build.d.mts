// Types of build.mjs, for TypeScript callers such as the page node tests.

export interface BuildClientOptions {
    /** Project root, the folder with package.json. */
    root: string;
    /** Output folder; default `<root>/dist/dashboards/client`. */
    outDir?: string;
    /** Minify app.js and app.css; default true. */
    minify?: boolean;
}

/** Bundles the dashboard browser client and returns the files written, relative to the output folder. */
export function buildClient(options: BuildClientOptions): Promise<string[]>;
