// node-opcua takes about two seconds to load and logs a notice on load, so it is loaded on first
// use: a runtime without OPC UA nodes never pays for it.
type NodeOpcUa = typeof import('node-opcua');

let loaded: NodeOpcUa | undefined;

export function loadOpcUa(): NodeOpcUa {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded ??= require('node-opcua') as NodeOpcUa;
    return loaded;
}
