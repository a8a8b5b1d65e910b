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
//   `{{asset.<field>}}` naming the fields of that entry. A node with `"@repeat": "polls"` is
//   emitted once per Modbus read request that the registers of all assets need (see
//   lib/register-map/polls.ts), with `{{poll.<field>}}`. Copy i moves down by REPEAT_SPACING.
// - Ids: a node gets `<siteId>-<template id>`, and a repeated node `<siteId>-<template id>-<key>`,
//   where the key is the asset id or the poll key (such as u1-holding-0), so generating the same
//   site twice gives the same ids. `z`, wires, the wires of subflow ports and the `subflow:<id>`
//   type of subflow instances are mapped the same way. A wire between two nodes repeated over the
//   same list joins the copies of the same entry. Any other wire to a repeated node goes to
//   every copy.
// Parameters are validated with schemas/site-template.json, then the generated tag map, OPC UA,
// register map and compression settings are checked with the parsers that the nodes use at
// deploy, and a local rules file is loaded as ul-rules loads it.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

import { parseCompressionConfig } from '../compression';
import { ConfigError } from '../errors';
import { parseOpcUaReaderConfig } from '../opcua/config';
import { DATA_DIR, FLOWS_DIR } from '../paths';
import { CONTRIB_DATA_TYPES, planPolls, pollKey, type PollRequest } from '../register-map/polls';
import { parseRegisterMapConfig, type RawRegisterEntry } from '../register-map/registers';
import { loadRulesFile, resolveRulesPath, RulesFileError } from '../rules/load';
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
const REPEAT_LISTS = ['assets', 'polls'] as const;
type RepeatList = (typeof REPEAT_LISTS)[number];
const SUBFLOW_TYPE_PREFIX = 'subflow:';

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

/** One Modbus register or coil of an asset; the fields of a ul-register-map entry in camel case. */
export interface ModbusRegisterParameter {
    function: string;
    address: number;
    type?: string;
    wordOrder?: string;
    scale?: number;
    offset?: number;
    unitId?: number;
    metric: string;
    unit: string;
}

export interface AssetParameters {
    assetId: string;
    name?: string;
    file?: string;
    tags?: OpcUaTagParameter[];
    registers?: ModbusRegisterParameter[];
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
    host?: string;
    port?: number;
    unitId?: number;
    pollInterval?: number;
    rulesFile?: string;
    heartbeat?: number;
    maxErrors?: Record<string, unknown>;
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
    problems.push(...checkRegisterMap(site), ...checkRulesFile(site), ...checkCompression(site));
    if (problems.length > 0) throw new SiteParameterError(templateName, problems);
    return site;
}

/** Converts a register parameter of an asset into a ul-register-map entry. */
function registerEntry(assetId: string, register: ModbusRegisterParameter): RawRegisterEntry {
    const entry: RawRegisterEntry = {};
    if (register.unitId !== undefined) entry.unit_id = register.unitId;
    entry.function = register.function;
    entry.address = register.address;
    if (register.type !== undefined) entry.type = register.type;
    if (register.wordOrder !== undefined) entry.word_order = register.wordOrder;
    if (register.scale !== undefined) entry.scale = register.scale;
    if (register.offset !== undefined) entry.offset = register.offset;
    entry.asset_id = assetId;
    entry.metric = register.metric;
    entry.unit = register.unit;
    return entry;
}

/** Lists the register map entries of the site: the registers of every asset in order, each with its parameter path. */
function registerEntries(site: SiteParameters): { parameter: string; value: ModbusRegisterParameter; entry: RawRegisterEntry }[] {
    return site.assets.flatMap((asset, assetIndex) =>
        (asset.registers ?? []).map((register, index) => ({
            parameter: `assets[${assetIndex}].registers[${index}]`,
            value: register,
            entry: registerEntry(asset.assetId, register),
        })),
    );
}

/** Checks the site's registers as ul-register-map does at deploy; names the register at fault. */
function checkRegisterMap(site: SiteParameters): ParameterProblem[] {
    const entries = registerEntries(site);
    if (entries.length === 0) return [];
    try {
        parseRegisterMapConfig({ operator: site.operator, unitId: site.unitId ?? DEFAULT_UNIT_ID, registers: entries.map((item) => item.entry) });
        return [];
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const position = err.context.register;
        const at = typeof position === 'number' ? entries[position - 1] : undefined;
        return [{ parameter: at?.parameter ?? 'assets', value: at?.value, message: `ul-register-map rejects the generated settings: ${err.message}` }];
    }
}

/** Checks the compression settings as ul-compress does at deploy. */
function checkCompression(site: SiteParameters): ParameterProblem[] {
    const problems: ParameterProblem[] = [];
    for (const parameter of ['maxErrors', 'heartbeat'] as const) {
        if (site[parameter] === undefined) continue;
        try {
            parseCompressionConfig({ [parameter]: site[parameter] });
        } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            problems.push({ parameter, value: site[parameter], message: `ul-compress rejects the generated settings: ${err.message}` });
        }
    }
    return problems;
}

/** Loads the local rules file as ul-rules does, so a broken file fails now rather than at deploy. */
function checkRulesFile(site: SiteParameters): ParameterProblem[] {
    if (site.rulesFile === undefined) return [];
    try {
        loadRulesFile(resolveRulesPath(site.rulesFile));
        return [];
    } catch (err) {
        if (!(err instanceof RulesFileError)) throw err;
        return err.message.split('\n').map((line) => ({ parameter: 'rulesFile', value: site.rulesFile, message: `the rules file is not usable: ${line}` }));
    }
}

type Values = Record<string, unknown>;

/** Modbus defaults: the standard TCP port, the common default unit id, one poll a second. */
const DEFAULT_MODBUS_PORT = 502;
const DEFAULT_UNIT_ID = 1;
const DEFAULT_POLL_INTERVAL_MS = 1000;
/** Compression heartbeat in seconds; the ul-compress default. */
const DEFAULT_HEARTBEAT_S = 60;

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
        host: site.host,
        port: site.port ?? DEFAULT_MODBUS_PORT,
        unitId: site.unitId ?? DEFAULT_UNIT_ID,
        pollInterval: site.pollInterval ?? DEFAULT_POLL_INTERVAL_MS,
        rulesFile: site.rulesFile,
        heartbeat: site.heartbeat ?? DEFAULT_HEARTBEAT_S,
        maxErrors: site.maxErrors ?? {},
        registerMap: registerEntries(site).map((item) => item.entry),
    };
}

/** Plans the read requests that cover the registers of every asset of the site. */
function sitePolls(site: SiteParameters): PollRequest[] {
    const entries = registerEntries(site).map((item) => item.entry);
    if (entries.length === 0) return [];
    return planPolls(parseRegisterMapConfig({ operator: site.operator, unitId: site.unitId ?? DEFAULT_UNIT_ID, registers: entries }).registers);
}

function pollValues(poll: PollRequest): Values {
    // Subflow instance properties are stored as text, as the editor writes them.
    return {
        'poll.key': pollKey(poll),
        'poll.name': `unit ${poll.unitId} ${poll.function} ${poll.address}-${poll.address + poll.quantity - 1}`,
        'poll.unitId': String(poll.unitId),
        'poll.dataType': CONTRIB_DATA_TYPES[poll.function],
        'poll.address': String(poll.address),
        'poll.quantity': String(poll.quantity),
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

/** One copy of a repeated node: its id suffix, its placeholder values and, for assets, the asset index. */
interface RepeatEntry {
    key: string;
    values: Values;
    assetIndex?: number;
}

function repeatEntries(list: RepeatList, site: SiteParameters): RepeatEntry[] {
    if (list === 'assets') return site.assets.map((asset, index) => ({ key: asset.assetId, values: assetValues(asset), assetIndex: index }));
    return sitePolls(site).map((poll) => ({ key: pollKey(poll), values: pollValues(poll) }));
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
    const repeatOf = new Map<string, RepeatList>();
    for (const node of template.nodes) {
        const list = node[REPEAT_KEY];
        if (list === undefined) continue;
        if (!REPEAT_LISTS.some((name) => name === list)) {
            throw new ConfigError(`Template ${template.template} node ${node.id} repeats over "${String(list)}"; use "assets" or "polls".`);
        }
        repeatOf.set(node.id, list as RepeatList);
    }
    const entryCache = new Map<RepeatList, RepeatEntry[]>();
    const entriesOf = (list: RepeatList): RepeatEntry[] => {
        let entries = entryCache.get(list);
        if (!entries) {
            entries = repeatEntries(list, site);
            entryCache.set(list, entries);
        }
        return entries;
    };
    const subflows = new Set(template.nodes.filter((node) => node.type === 'subflow').map((node) => node.id));

    const singleId = (id: string): string => `${site.siteId}-${id}`;
    const copyId = (id: string, key: string): string => `${site.siteId}-${id}-${key}`;
    const mapTarget = (target: unknown, list: RepeatList | undefined, entry: RepeatEntry | undefined): string[] => {
        const id = String(target);
        const targetList = repeatOf.get(id);
        if (!targetList) return [singleId(id)];
        if (entry && list === targetList) return [copyId(id, entry.key)];
        return entriesOf(targetList).map((each) => copyId(id, each.key));
    };
    const mapType = (type: string): string => {
        const subflowId = type.startsWith(SUBFLOW_TYPE_PREFIX) ? type.slice(SUBFLOW_TYPE_PREFIX.length) : undefined;
        return subflowId !== undefined && subflows.has(subflowId) ? `${SUBFLOW_TYPE_PREFIX}${singleId(subflowId)}` : type;
    };
    // A subflow's `in` and `out` ports list the nodes inside it that they connect, as { id, port }.
    const mapPorts = (ports: unknown): unknown => {
        if (!Array.isArray(ports)) return ports;
        return ports.map((port: unknown) => {
            const record = port as { wires?: unknown } | null;
            if (!record || !Array.isArray(record.wires)) return port;
            const wires = record.wires.flatMap((wire: unknown) => {
                const { id, ...rest } = wire as { id?: unknown };
                return mapTarget(id, undefined, undefined).map((target) => ({ id: target, ...rest }));
            });
            return { ...record, wires };
        });
    };

    const output: FlowNode[] = [];
    const emit = (node: FlowNode, list: RepeatList | undefined, entry: RepeatEntry | undefined, index: number): void => {
        const values = entry ? { ...global, ...entry.values } : global;
        const { [REPEAT_KEY]: _repeat, id, type, z, wires, ...rest } = node;
        const where = `template ${template.template} node ${id}`;
        const generated: FlowNode = {
            id: entry ? copyId(id, entry.key) : singleId(id),
            type: mapType(type),
            ...(substitute(rest, values, where) as Values),
        };
        if (node.type === 'subflow') {
            generated.in = mapPorts(node.in);
            generated.out = mapPorts(node.out);
        }
        if (z !== undefined) generated.z = singleId(String(z));
        if (entry && typeof node.y === 'number') generated.y = node.y + index * REPEAT_SPACING;
        if (Array.isArray(wires)) {
            generated.wires = wires.map((port: unknown) => (Array.isArray(port) ? port.flatMap((target) => mapTarget(target, list, entry)) : port));
        }
        if (entry?.assetIndex !== undefined) assetIndexOf.set(generated, entry.assetIndex);
        output.push(generated);
    };
    for (const node of template.nodes) {
        const list = repeatOf.get(node.id);
        if (list) entriesOf(list).forEach((entry, index) => emit(node, list, entry, index));
        else emit(node, undefined, undefined, 0);
    }
    return output;
}

const SUBFLOW_ENV_REFERENCE = /^\$\{(\w+)\}$/;

/** Returns an instance property's value as Node-RED 4 evaluates it for the nodes of the subflow. */
function subflowEnvValue(property: { type?: unknown; value?: unknown }): unknown {
    const text = String(property.value ?? '');
    if (property.type === 'num') return Number(text);
    if (property.type === 'bool') return text === 'true';
    if (property.type === 'json') {
        try {
            return JSON.parse(text);
        } catch {
            return text;
        }
    }
    return text;
}

/**
 * Returns the nodes of a subflow as one instance runs them: a string property that is exactly
 * `${NAME}` takes the instance's property NAME, or the subflow's default for it. Other references
 * stay as they are.
 */
function resolveSubflowInstance(instance: FlowNode, nodes: FlowNode[]): FlowNode[] {
    const subflowId = instance.type.slice(SUBFLOW_TYPE_PREFIX.length);
    const subflow = nodes.find((node) => node.id === subflowId && node.type === 'subflow');
    const env = new Map<string, unknown>();
    for (const list of [subflow?.env, instance.env]) {
        if (!Array.isArray(list)) continue;
        for (const property of list as { name?: unknown; type?: unknown; value?: unknown }[]) {
            if (typeof property.name === 'string') env.set(property.name, subflowEnvValue(property));
        }
    }
    return nodes
        .filter((node) => node.z === subflowId)
        .map((node) => {
            const resolved: FlowNode = { ...node };
            for (const [key, value] of Object.entries(node)) {
                const name = typeof value === 'string' ? SUBFLOW_ENV_REFERENCE.exec(value)?.[1] : undefined;
                if (name !== undefined && env.has(name)) resolved[key] = env.get(name);
            }
            return resolved;
        });
}

/**
 * Checks the generated nodes with the parsers that ul-tag-map and ul-opcua-reader run at deploy,
 * so a metric or node id that they reject is reported now, with the asset it belongs to. A subflow
 * instance repeated per asset has the nodes of its subflow checked with its instance properties.
 */
function checkGeneratedNodes(template: string, site: SiteParameters, nodes: FlowNode[], dataDir: string): void {
    const problems: ParameterProblem[] = [];
    for (const node of nodes) {
        const index = assetIndexOf.get(node);
        if (index === undefined) continue;
        const asset = site.assets[index];
        const checked = node.type.startsWith(SUBFLOW_TYPE_PREFIX) ? resolveSubflowInstance(node, nodes) : [node];
        for (const member of checked) {
            try {
                const config: Record<string, unknown> = member;
                if (member.type === 'ul-tag-map') parseTagMapConfig(config);
                if (member.type === 'ul-opcua-reader') parseOpcUaReaderConfig(config, dataDir);
            } catch (err) {
                if (!(err instanceof ConfigError)) throw err;
                problems.push({ parameter: `assets[${index}]`, value: asset.assetId, message: `${member.type} of asset ${asset.assetId} rejects the generated settings: ${err.message}` });
            }
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
