// Bundles the dashboard browser client (main.ts, its CSS, uPlot and Leaflet) into
// dist/dashboards/client/ as app.js, app.css and index.html. Everything the page loads comes
// from this folder, so the dashboard works without access to any other host.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

import { build } from 'esbuild';

/**
 * Builds the client. `root` is the project root; `outDir` defaults to dist/dashboards/client.
 * Returns the list of files written, relative to `outDir`.
 */
export async function buildClient({ root, outDir = join(root, 'dist', 'dashboards', 'client'), minify = true }) {
    const source = join(root, 'dashboards', 'client');
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });

    const result = await build({
        absWorkingDir: root,
        entryPoints: { app: join(source, 'main.ts') },
        outdir: outDir,
        bundle: true,
        format: 'iife',
        platform: 'browser',
        target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
        minify,
        sourcemap: true,
        metafile: true,
        // Leaflet's stylesheet refers to its marker and layer images; they are copied beside app.css.
        loader: { '.png': 'file', '.svg': 'file' },
        assetNames: 'assets/[name]-[hash]',
        logLevel: 'warning',
        legalComments: 'linked',
    });
    copyFileSync(join(source, 'index.html'), join(outDir, 'index.html'));

    const written = Object.keys(result.metafile.outputs).map((file) => relative(outDir, resolve(root, file)));
    return [...written, 'index.html'];
}
