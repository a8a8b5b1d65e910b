// Node-RED storage module that saves flows in the canonical form of lib/flows/canonical.ts, so a
// deploy that changes one property of one node changes only that line in `git diff`. A node moved
// above or below a neighbour also moves its block, because entries sort by position. Everything
// else, including reading flows, is Node-RED 4.1's own localfilesystem module.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { hostname } from 'node:os';

import { canonicalNodes, formatFlows } from './canonical';
import type { FlowNode } from './model';

/** The part of Node-RED's runtime settings that decides where the flow file is. */
interface StorageSettings {
    userDir?: string;
    flowFile?: string;
    readOnly?: boolean;
    editorTheme?: { projects?: { enabled?: boolean } };
}

/** The functions of a Node-RED storage module (@node-red/runtime/lib/storage/index.js). */
export interface NodeRedStorageModule {
    init(settings: StorageSettings, runtime: unknown): Promise<void>;
    getFlows(): Promise<FlowNode[]>;
    saveFlows(flows: FlowNode[], user?: unknown): Promise<void>;
    getCredentials(): Promise<unknown>;
    saveCredentials(credentials: unknown): Promise<void>;
    getSettings(): Promise<unknown>;
    saveSettings(settings: unknown): Promise<void>;
    getSessions(): Promise<unknown>;
    saveSessions(sessions: unknown): Promise<void>;
    getLibraryEntry(type: string, path: string): Promise<unknown>;
    saveLibraryEntry(type: string, path: string, meta: unknown, body: unknown): Promise<void>;
}

const requireFromHere = createRequire(__filename);
const localfilesystem = requireFromHere('@node-red/runtime/lib/storage/localfilesystem') as NodeRedStorageModule;
// Node-RED writes its flow file with this function. It copies the target to the backup path,
// writes and fsyncs a temporary file, then renames it over the target.
const fileUtil = requireFromHere('@node-red/runtime/lib/storage/localfilesystem/util') as {
    writeFile(path: string, content: string, backupPath?: string): Promise<void>;
};

let storageSettings: StorageSettings = {};
let flowPath: string | undefined;

/**
 * Resolves the flow file as Node-RED 4.1 does in @node-red/runtime/lib/storage/localfilesystem/projects/index.js.
 * An absolute flowFile stays as is, and `./name` starts from the working folder. Another relative
 * path starts from the working folder when the file exists there, else from userDir. Without a
 * flowFile the file is `flows_<hostname>.json` in userDir.
 */
export function resolveFlowPath(settings: StorageSettings, cwd = process.cwd()): string {
    const userDir = settings.userDir ?? cwd;
    const flowFile = settings.flowFile;
    if (!flowFile) return join(userDir, `flows_${hostname()}.json`);
    if (isAbsolute(flowFile)) return flowFile;
    if (flowFile.startsWith('./')) return join(cwd, flowFile);
    return existsSync(join(cwd, flowFile)) ? join(cwd, flowFile) : join(userDir, flowFile);
}

function backupPath(path: string): string {
    return join(dirname(path), `.${basename(path)}.backup`);
}

async function init(settings: StorageSettings, runtime: unknown): Promise<void> {
    await localfilesystem.init(settings, runtime);
    storageSettings = settings;
    flowPath = resolveFlowPath(settings);
}

/** Writes the flows in canonical form: canonical entry and key order, 4-space JSON, final newline. */
async function saveFlows(flows: FlowNode[], user?: unknown): Promise<void> {
    if (storageSettings.readOnly) return;
    if (storageSettings.editorTheme?.projects?.enabled || flowPath === undefined) {
        // NOTE: with Node-RED projects the flow file lives in the active project, whose path only
        // localfilesystem tracks. The entries are still in canonical order, but the text has no
        // final newline, so `flows check` reports a layout difference.
        return localfilesystem.saveFlows(canonicalNodes(flows), user);
    }
    await fileUtil.writeFile(flowPath, formatFlows(flows), backupPath(flowPath));
}

/** The storage module for the `storageModule` setting. */
export const canonicalFlowStorage: NodeRedStorageModule = {
    init,
    getFlows: () => localfilesystem.getFlows(),
    saveFlows,
    getCredentials: () => localfilesystem.getCredentials(),
    saveCredentials: (credentials) => localfilesystem.saveCredentials(credentials),
    getSettings: () => localfilesystem.getSettings(),
    saveSettings: (settings) => localfilesystem.saveSettings(settings),
    getSessions: () => localfilesystem.getSessions(),
    saveSessions: (sessions) => localfilesystem.saveSessions(sessions),
    getLibraryEntry: (type, path) => localfilesystem.getLibraryEntry(type, path),
    saveLibraryEntry: (type, path, meta, body) => localfilesystem.saveLibraryEntry(type, path, meta, body),
};

export default canonicalFlowStorage;
