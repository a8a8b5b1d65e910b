// Node-RED settings shared by the edge and cloud runtimes. The runtime host adds the HTTP
// server, the identity hooks and the runtime context; everything else is decided here.
import { join } from 'node:path';

import { canonicalFlowStorage } from './lib/flows/storage';
import type { RuntimeContext } from './lib/runtime-context';

export type RuntimeRole = 'edge' | 'cloud';

/** A Node-RED editor user: `*` may deploy, `read` may only look. */
export interface EditorUser {
    username: string;
    permissions: '*' | 'read';
}

export interface SettingsInput {
    role: RuntimeRole;
    projectRoot: string;
    dataDir: string;
    /** Secret that encrypts the flow credentials file. */
    credentialSecret: string;
    /** Node-RED `logging` setting; the runtime passes a handler that writes its own log format. */
    logging: Record<string, unknown>;
    context: RuntimeContext;
    /** Looks up an editor user; undefined disables editor login (not recommended). */
    editorUser?: (username: string) => Promise<EditorUser | null>;
    authenticateEditorUser?: (username: string, password: string) => Promise<EditorUser | null>;
}

export function buildSettings(input: SettingsInput): Record<string, unknown> {
    const { role } = input;
    return {
        userDir: join(input.dataDir, 'node-red', role),
        // UL_FLOWS_DIR points a runtime at a copy of the flow files, so that deploys in tests or
        // trials do not rewrite the versioned files.
        flowFile: join(process.env.UL_FLOWS_DIR || join(input.projectRoot, 'flows'), `${role}.json`),
        flowFilePretty: true,
        storageModule: canonicalFlowStorage,
        credentialSecret: input.credentialSecret,
        // The cloud runtime serves the API and the dashboard at the root, so its editor moves aside.
        httpAdminRoot: role === 'cloud' ? '/editor' : '/',
        httpNodeRoot: '/',
        httpStatic: false,
        disableEditor: false,
        adminAuth:
            input.editorUser && input.authenticateEditorUser
                ? { type: 'credentials', users: input.editorUser, authenticate: input.authenticateEditorUser }
                : undefined,
        logging: input.logging,
        // A regulator's runtime never reaches outside hosts on its own: no update checks, no
        // palette installs from the registry.
        telemetry: { enabled: false },
        diagnostics: { enabled: true, ui: false },
        externalModules: { autoInstall: false, palette: { allowInstall: false, allowUpload: false }, modules: { allowInstall: false } },
        functionExternalModules: false,
        editorTheme: {
            page: { title: `Upstream Live ${role}` },
            header: { title: `Upstream Live — ${role}` },
            projects: { enabled: false },
            tours: false,
            palette: { categories: ['upstream live', 'common', 'function', 'network', 'sequence', 'parser', 'storage'] },
        },
        upstreamLive: input.context,
    };
}
