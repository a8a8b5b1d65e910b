// Compiles the TypeScript sources to dist/, copies the editor and locale files that Node-RED
// expects beside each compiled node, and bundles the dashboard browser client.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();

const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
    stdio: 'inherit',
});
if (tsc.status !== 0) {
    console.error('build: TypeScript compilation failed; fix the errors above and run `npm run build` again.');
    process.exit(tsc.status ?? 1);
}

// Editor files (.html) and locale folders sit beside the compiled node, with the same base name.
function copyAssets(folder) {
    for (const entry of readdirSync(folder)) {
        const path = join(folder, entry);
        if (statSync(path).isDirectory()) {
            if (entry === 'node_modules' || entry === 'client') continue;
            copyAssets(path);
        } else if (entry.endsWith('.html') || (entry.endsWith('.json') && folder.includes('locales'))) {
            const target = join(root, 'dist', relative(root, path));
            mkdirSync(dirname(target), { recursive: true });
            cpSync(path, target);
        }
    }
}
for (const folder of ['nodes', 'dashboards']) {
    if (existsSync(join(root, folder))) copyAssets(join(root, folder));
}

// Site templates as editor examples: Node-RED lists the flows in a module's examples/ folder under
// Import > Examples, so each template is filled in with its example parameters and written there.
const require = createRequire(import.meta.url);
const { generateSiteFlow, listTemplates, TEMPLATES_DIR } = require(join(root, 'dist/lib/flows/templates.js'));
const { parse: parseYaml } = require('yaml');
const examplesDir = join(root, 'examples', 'site-templates');
rmSync(examplesDir, { recursive: true, force: true });
mkdirSync(examplesDir, { recursive: true });
for (const name of listTemplates()) {
    const paramsFile = join(TEMPLATES_DIR, `${name}.example.yaml`);
    if (!existsSync(paramsFile)) {
        console.error(`build: template ${name} has no example parameters (${relative(root, paramsFile)}); add them so the editor can offer it.`);
        process.exit(1);
    }
    writeFileSync(join(examplesDir, `${name}.json`), generateSiteFlow(name, parseYaml(readFileSync(paramsFile, 'utf8'))));
}

const clientBuild = join(root, 'dashboards', 'client', 'build.mjs');
if (existsSync(clientBuild)) {
    const { buildClient } = await import(clientBuild);
    await buildClient({ root });
}

console.log(`build: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
