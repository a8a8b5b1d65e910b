// Site templates: flow fragments under flows/templates/ that become the edge flow of a new site.
//
// A template file is a JSON object with `template` (its name), `description`, `parameters` (each
// placeholder name with its description) and `nodes` (flow nodes with placeholders).
//
// Substitution scheme:
// - A string value that is exactly `{{name}}` becomes the parameter value. Numbers and booleans
//   keep their type, and lists and objects become JSON text, which is how Node-RED editor fields
//   store them. A placeholder inside a longer string is replaced by the value's text.
// - A node with `"@repeat": "assets"` is emitted once per entry of the `assets` parameter, with
//   `{{asset.<field>}}` naming the fields of that entry. Copy i moves down by REPEAT_SPACING.
// - Ids: a node gets `<siteId>-<template id>`, and a repeated node `<siteId>-<template id>-<assetId>`,
//   so generating the same site twice gives the same ids. `z` and wires are mapped the same way.
//   A wire between two repeated nodes joins the copies of the same asset. A wire from a single
//   node to a repeated node goes to every copy.
// Parameters are validated with schemas/site-template.json, then the generated tag map and OPC UA
// settings are checked with the parsers that the nodes use at deploy.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

import { ConfigError } from '../errors';
import { parseOpcUaReaderConfig } from '../opcua/config';
import { DATA_DIR, FLOWS_DIR } from '../paths';
import { compileSchema, describeValue } from '../schemas';
import { parseTagMapConfig } from '../tag-map/tag-map';
import { formatFlows } from './canonical';
import type { FlowNode } from './model';

export const TEMPLATES_DIR = join(FLOWS_DIR, 'templates');

/** Vertical distance in editor pixels between the copies of a repeated node. */
export const REPEAT_SPACING = 100;

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9.]*)\s*\}\}/g;
const WHOLE_PLACEHOLDER = /^\{\{\s*([A-Za-z][A-Za-z0-9.]*)\s*\}\}$/;
const REPEAT_KEY = '@repeat';

// The asset index of each generated copy of a repeated node, for naming the asset in errors.
const assetIndexOf = new WeakMap<FlowNode, number>();

export interface SiteTemplate {
    template: string;
    description: string;
    /** Placeholder names with their descriptions; `asset.<field>` names a field of one asset. */
    parameters: Record<string, string>;
    nodes: FlowNode[];
}

export interface OpcUaTagParameter {
    nodeId: string;
    tag: string;
    metric: string;
    unit: string;
    scale?: number;
    offset?: number;
}

export interface AssetParameters {
    assetId: string;
    name?: string;
    file?: string;
    tags?: OpcUaTagParameter[];
}

/** The parameters file of a site, as described by schemas/site-template.json. */
export interface SiteParameters {
    template: string;
    operator: string;
    siteId: string;
    siteName?: string;
    deviceId: string;
    certId?: string;
    keyFile?: string;
    endpoint?: string;
    samplingInterval?: number;
    publishingInterval?: number;
    assets: AssetParameters[];
}

/** One invalid or missing parameter: the field path, the value received and how to fix it. */
export interface ParameterProblem {
    parameter: string;
    value: unknown;
    message: string;
}

/** Parameters that do not fit the template; `problems` lists every one of them. */
export class SiteParameterError extends ConfigError {
    readonly problems: ParameterProblem[];

    constructor(template: string, problems: ParameterProblem[]) {
        const lines = problems.map((problem) => `  ${problem.parameter || '(file)'}: ${problem.message}`);
        super(`Parameters for template ${template} are invalid:\n${lines.join('\n')}`, { context: { template } });
        this.problems = problems;
    }
}

/** Returns the names of the templates in `dir`, sorted. */
export function listTemplates(dir = TEMPLATES_DIR): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
        .filter((name) => name.endsWith('.json') && statSync(join(dir, name)).isFile())
        .map((name) => name.slice(0, -'.json'.length))
        .sort();
}

/**
 * Reads a template by name (a file in `dir`) or by path. Throws a ConfigError when the file is
 * missing, is not a template, or uses a placeholder that its `parameters` do not declare.
 */
export function loadTemplate(nameOrPath: string, dir = TEMPLATES_DIR): SiteTemplate {
    const path = nameOrPath.endsWith('.json') ? resolve(nameOrPath) : join(dir, `${nameOrPath}.json`);
    if (!existsSync(path)) {
        const known = listTemplates(dir);
        throw new ConfigError(`Site template "${nameOrPath}" was not found at ${path}; use one of ${known.join(', ') || '(none)'}.`);
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
        throw new ConfigError(`Site template ${path} is not valid JSON (${(err as Error).message}); fix the syntax.`, { cause: err });
    }
    const template = parsed as Partial<SiteTemplate> | null;
    if (
        template === null ||
        typeof template !== 'object' ||
        typeof template.template !== 'string' ||
        typeof template.parameters !== 'object' ||
        template.parameters === null ||
        !Array.isArray(template.nodes)
    ) {
        throw new ConfigError(`Site template ${path} needs "template", "parameters" and "nodes" keys; compare it with flows/templates/replay-site.json.`);
    }
    const declared = new Set(Object.keys(template.parameters));
    for (const node of template.nodes) {
        for (const name of placeholdersIn(node)) {
            if (!declared.has(name)) {
                throw new ConfigError(`Site template ${path} uses placeholder {{${name}}} in node ${node.id}, but "parameters" does not declare it; add it there.`);
            }
        }
    }
    return template as SiteTemplate;
}

function placeholdersIn(value: unknown, found = new Set<string>()): Set<string> {
    if (typeof value === 'string') {
        for (const match of value.matchAll(PLACEHOLDER)) found.add(match[1]);
    } else if (Array.isArray(value)) {
        for (const item of value) placeholdersIn(item, found);
    } else if (value !== null && typeof value === 'object') {
        for (const item of Object.values(value)) placeholdersIn(item, found);
    }
    return found;
}

/**
 * Validates a parameters document against schemas/site-template.json. `template` is filled in
 * from the template name when the document leaves it out; a different value is an error.
 */
export function validateSiteParameters(templateName: string, document: unknown, dataDir = DATA_DIR): SiteParameters {
    if (document === null || typeof document !== 'object' || Array.isArray(document)) {
        throw new SiteParameterError(templateName, [{ parameter: '', value: document, message: `must be a mapping of parameter names to values, but is ${describeValue(document)}; start from flows/templates/${templateName}.example.yaml.` }]);
    }
    const params = { template: templateName, ...(document as Record<string, unknown>) };
    if (params.template !== templateName) {
        throw new SiteParameterError(templateName, [{ parameter: 'template', value: params.template, message: `is ${describeValue(params.template)} but the command names template ${templateName}; remove the field or name the same template.` }]);
    }
    const problems: ParameterProblem[] = compileSchema('site-template')
        .check(params)
        .map((problem) => ({ parameter: problem.field, value: problem.value, message: problem.message }));
    if (problems.length > 0) throw new SiteParameterError(templateName, problems);

    const site = params as SiteParameters;
    const seen = new Set<string>();
    site.assets.forEach((asset, index) => {
        if (seen.has(asset.assetId)) {
            problems.push({ parameter: `assets[${index}].assetId`, value: asset.assetId, message: `asset id "${asset.assetId}" is listed twice; give each asset one entry.` });
        }
        seen.add(asset.assetId);
        if (asset.file !== undefined) {
            const path = isAbsolute(asset.file) ? asset.file : resolve(dataDir, asset.file);
            if (!existsSync(path)) {
                problems.push({ parameter: `assets[${index}].file`, value: asset.file, message: `file ${path} was not found; give a CSV path relative to ${dataDir}.` });
            }
        }
    });
    if (problems.length > 0) throw new SiteParameterError(templateName, problems);
    return site;
}

type Values = Record<string, unknown>;

function siteValues(site: SiteParameters): Values {
    return {
        operator: site.operator,
        siteId: site.siteId,
        siteName: site.siteName ?? site.siteId,
        deviceId: site.deviceId,
        certId: site.certId ?? `cert-${site.deviceId}`,
        keyFile: site.keyFile ?? `keys/${site.deviceId}.key`,
        endpoint: site.endpoint,
        samplingInterval: site.samplingInterval ?? 1000,
        publishingInterval: site.publishingInterval ?? 1000,
    };
}

function assetValues(asset: AssetParameters): Values {
    const tags = asset.tags ?? [];
    return {
        'asset.assetId': asset.assetId,
        'asset.name': asset.name ?? asset.assetId,
        'asset.file': asset.file,
        'asset.readerItems': tags.map((tag) => ({ nodeId: tag.nodeId, tag: tag.tag })),
        'asset.tagMap': tags.map((tag) => {
            const mapping: Values = { tag: tag.tag, metric: tag.metric, unit: tag.unit };
            if (tag.scale !== undefined) mapping.scale = tag.scale;
            if (tag.offset !== undefined) mapping.offset = tag.offset;
            return mapping;
        }),
    };
}

function valueText(value: unknown): string {
    return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** Replaces the placeholders in every string of `value`; see the substitution scheme above. */
function substitute(value: unknown, values: Values, where: string): unknown {
    if (typeof value === 'string') {
        const lookup = (name: string): unknown => {
            if (!(name in values) || values[name] === undefined) {
                throw new ConfigError(`Placeholder {{${name}}} in ${where} has no value; set the parameter ${name} in the parameters file.`);
            }
            return values[name];
        };
        const whole = WHOLE_PLACEHOLDER.exec(value);
        if (whole) {
            const found = lookup(whole[1]);
            return typeof found === 'object' && found !== null ? JSON.stringify(found) : found;
        }
        return value.replace(PLACEHOLDER, (_match, name: string) => valueText(lookup(name)));
    }
    if (Array.isArray(value)) return value.map((item) => substitute(item, values, where));
    if (value !== null && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, values, where)]));
    }
    return value;
}

/** Returns the generated flow nodes of a site, not yet in canonical order. */
export function instantiateTemplate(template: SiteTemplate, site: SiteParameters): FlowNode[] {
    const global = siteValues(site);
    const repeated = new Set(template.nodes.filter((node) => node[REPEAT_KEY] !== undefined).map((node) => node.id));
    for (const node of template.nodes) {
        if (node[REPEAT_KEY] !== undefined && node[REPEAT_KEY] !== 'assets') {
            throw new ConfigError(`Template ${template.template} node ${node.id} repeats over "${String(node[REPEAT_KEY])}"; only "assets" is supported.`);
        }
    }
    const singleId = (id: string): string => `${site.siteId}-${id}`;
    const copyId = (id: string, assetId: string): string => `${site.siteId}-${id}-${assetId}`;
    const mapTarget = (target: unknown, asset: AssetParameters | undefined): string[] => {
        const id = String(target);
        if (!repeated.has(id)) return [singleId(id)];
        if (asset) return [copyId(id, asset.assetId)];
        return site.assets.map((each) => copyId(id, each.assetId));
    };

    const output: FlowNode[] = [];
    const emit = (node: FlowNode, asset: AssetParameters | undefined, index: number): void => {
        const values = asset ? { ...global, ...assetValues(asset) } : global;
        const { [REPEAT_KEY]: _repeat, id, z, wires, ...rest } = node;
        const where = `template ${template.template} node ${id}`;
        const generated: FlowNode = {
            id: asset ? copyId(id, asset.assetId) : singleId(id),
            type: node.type,
            ...(substitute(rest, values, where) as Values),
        };
        if (z !== undefined) generated.z = singleId(String(z));
        if (asset && typeof node.y === 'number') generated.y = node.y + index * REPEAT_SPACING;
        if (Array.isArray(wires)) {
            generated.wires = wires.map((port: unknown) => (Array.isArray(port) ? port.flatMap((target) => mapTarget(target, asset)) : port));
        }
        if (asset) assetIndexOf.set(generated, index);
        output.push(generated);
    };
    for (const node of template.nodes) {
        if (repeated.has(node.id)) site.assets.forEach((asset, index) => emit(node, asset, index));
        else emit(node, undefined, 0);
    }
    return output;
}

/**
 * Checks the generated nodes with the parsers that ul-tag-map and ul-opcua-reader run at deploy,
 * so a metric or node id that they reject is reported now, with the asset it belongs to.
 */
function checkGeneratedNodes(template: string, site: SiteParameters, nodes: FlowNode[], dataDir: string): void {
    const problems: ParameterProblem[] = [];
    for (const node of nodes) {
        const index = assetIndexOf.get(node);
        if (index === undefined) continue;
        const asset = site.assets[index];
        try {
            const config: Record<string, unknown> = node;
            if (node.type === 'ul-tag-map') parseTagMapConfig(config);
            if (node.type === 'ul-opcua-reader') parseOpcUaReaderConfig(config, dataDir);
        } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            problems.push({ parameter: `assets[${index}]`, value: asset.assetId, message: `${node.type} of asset ${asset.assetId} rejects the generated settings: ${err.message}` });
        }
    }
    if (problems.length > 0) throw new SiteParameterError(template, problems);
}

export interface GenerateOptions {
    /** Folder of the templates; defaults to flows/templates/. */
    templatesDir?: string;
    /** Folder that relative replay files start from; defaults to the project's data folder. */
    dataDir?: string;
}

/**
 * Generates the edge flow of a site: validates the parameters, fills in the template and returns
 * the flow text in canonical form. Throws SiteParameterError for bad parameters and ConfigError
 * for a missing or broken template.
 */
export function generateSiteFlow(templateName: string, parameters: unknown, options: GenerateOptions = {}): string {
    const dataDir = options.dataDir ?? DATA_DIR;
    const template = loadTemplate(templateName, options.templatesDir);
    const site = validateSiteParameters(template.template, parameters, dataDir);
    const nodes = instantiateTemplate(template, site);
    checkGeneratedNodes(template.template, site, nodes, dataDir);
    return formatFlows(nodes);
}
