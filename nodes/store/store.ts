// Config node for the database: the embedded engine (PGlite) or a PostgreSQL server. Every node
// and the runtime API that open the same data folder or connection string share one instance.
import type { Node, NodeAPI, NodeDef } from 'node-red';

import { toError } from '../../lib/errors';
import { runtimeContext } from '../../lib/runtime-context';
import { describeStoreSpec, openStore, storeSpecFromSettings, type StoreHandle, type StoreSpec } from '../../lib/store';
import { setStatus, type StatusState } from '../shared/status';

interface StoreConfig extends NodeDef {
    engine: string;
    dataDir: string;
    connection: string;
}

export interface StoreConfigNode extends Node {
    /** Resolved engine and location; undefined when the configuration is invalid. */
    spec?: StoreSpec;
    /**
     * Returns the shared store, opening it on first use. The handle belongs to this config node:
     * users must not close it.
     */
    getStore(): Promise<StoreHandle>;
    /** Adds a node to those that show the connection state in their badge. */
    register(user: Node): void;
    /** Removes a node; the store closes only after every registered user has deregistered. */
    deregister(user: Node): void;
}

/** How long closing waits for users to flush and deregister; Node-RED allows 15 s per node. */
const USERS_CLOSE_WAIT_MS = 12_000;

export default function register(RED: NodeAPI): void {
    function StoreConfigNodeConstructor(this: StoreConfigNode, config: StoreConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const users = new Set<Node>();
        let usersGone: (() => void) | undefined;
        let state: { state: StatusState; text: string } = { state: 'disconnected', text: RED._('ul-store.status.not-open') };
        let opening: Promise<StoreHandle> | undefined;
        let configError: Error | undefined;

        const show = (next: StatusState, text: string): void => {
            state = { state: next, text };
            for (const user of users) setStatus(user, next, text);
        };

        try {
            const baseDir = runtimeContext(RED.settings).dataDir ?? process.cwd();
            node.spec = storeSpecFromSettings(config, baseDir);
        } catch (error) {
            configError = toError(error);
            node.error(configError.message);
            state = { state: 'failed', text: RED._('ul-store.status.not-configured') };
        }

        node.getStore = () => {
            if (configError) return Promise.reject(configError);
            if (!opening) {
                const spec = node.spec as StoreSpec;
                show('connecting', RED._('ul-store.status.connecting'));
                opening = openStore(spec);
                opening.then(
                    () => {
                        node.log(RED._('ul-store.log.opened', { store: describeStoreSpec(spec) }));
                        show('connected', spec.engine);
                    },
                    (error: unknown) => {
                        // Allow the next getStore() to try again, for example once the server is up.
                        opening = undefined;
                        node.error(toError(error).message);
                        show('failed', RED._('ul-store.status.open-failed'));
                    },
                );
            }
            return opening;
        };

        node.register = (user) => {
            users.add(user);
            setStatus(user, state.state, state.text);
        };

        node.deregister = (user) => {
            users.delete(user);
            if (users.size === 0) usersGone?.();
        };

        node.on('close', (_removed: boolean, done: () => void) => {
            let timer: NodeJS.Timeout | undefined;
            const allGone = users.size === 0
                ? Promise.resolve()
                : new Promise<void>((resolve) => {
                    usersGone = resolve;
                    timer = setTimeout(resolve, USERS_CLOSE_WAIT_MS);
                });
            void allGone
                .then(async () => {
                    clearTimeout(timer);
                    const store = await opening?.catch(() => undefined);
                    await store?.close();
                })
                .catch((error: unknown) => node.warn(RED._('ul-store.errors.close-failed', { error: toError(error).message })))
                .finally(done);
        });
    }

    RED.nodes.registerType('ul-store', StoreConfigNodeConstructor);
}
