// Counts the hand-overs of bus messages between Node-RED nodes through the runtime's message
// hooks, so that no node in a flow has to count its outputs. Each time Node-RED delivers a message
// that carries a delivery to a node (one event per wire, after cloning), the delivery gains a
// reference. The reference is released when that node calls done() for the message, or the
// delivery fails when the node calls done(err). A delivery therefore settles only after every
// branch of the flow has finished with it, including fan-out over several wires, and it settles
// at once when its output is not wired.
//
// NOTE: this relies on Node-RED 4 running the preDeliver hooks synchronously inside node.send(),
// before the sending node can call done(). An asynchronous preDeliver hook added by another
// plugin would break that order. Nodes that build new messages must copy the delivery onto them
// (carryDelivery), and a node that never calls done() keeps its deliveries pending.
//
// A preRoute hook also lets messages marked with markShared skip Node-RED's copy per wire.
import { deliveryOf } from './delivery';

interface SendEvent {
    msg: unknown;
    destination: { id: string };
    /** Whether Node-RED copies the message for this wire; true for every wire after the first. */
    cloneMessage?: boolean;
}

interface CompleteEvent {
    msg: unknown;
    error?: unknown;
    node: { id: string };
}

/** The part of Node-RED's hooks registry (RED.hooks) this module uses. */
export interface MessageHooks {
    // `any`: each hook receives its own event type, and RED.hooks declares one overload per hook.
    add(hookName: string, handler: (event: any) => void): void;
    has(hookName: string): boolean;
    remove(hookName: string): void;
}

const LABEL = 'ul-bus-delivery';

// Deliveries handed over and not yet completed, per message object and destination node id. A
// node only releases what was delivered to it, so messages that Node-RED passes to Catch, Status
// and Complete nodes outside the wires (without a preDeliver event) release nothing.
const handedOver = new WeakMap<object, Map<string, number>>();

// Messages that every wire receives as the same object (markShared).
const sharedMessages = new WeakSet<object>();

/**
 * Marks a message so that Node-RED hands the same object to every wire instead of a deep copy to
 * each wire after the first. Only for nodes whose wired nodes never change their input: a change
 * made by one of them would reach the others.
 */
export function markShared<T extends object>(msg: T): T {
    sharedMessages.add(msg);
    return msg;
}

function noteDelivered(event: SendEvent): void {
    const delivery = deliveryOf(event.msg);
    if (!delivery) return;
    const msg = event.msg as object;
    let byNode = handedOver.get(msg);
    if (!byNode) {
        byNode = new Map();
        handedOver.set(msg, byNode);
    }
    byNode.set(event.destination.id, (byNode.get(event.destination.id) ?? 0) + 1);
    delivery.retain();
}

function noteCompleted(event: CompleteEvent): void {
    const delivery = deliveryOf(event.msg);
    if (!delivery) return;
    const byNode = handedOver.get(event.msg as object);
    const count = byNode?.get(event.node.id) ?? 0;
    if (!byNode || count === 0) return;
    if (count === 1) byNode.delete(event.node.id);
    else byNode.set(event.node.id, count - 1);

    if (event.error === undefined || event.error === null) delivery.release();
    else delivery.fail(event.error instanceof Error ? event.error : new Error(String(event.error)));
}

/** Registers the hooks once per process; later calls do nothing. */
export function installDeliveryTracking(hooks: MessageHooks): void {
    if (hooks.has(`preDeliver.${LABEL}`)) return;
    // One parameter and no return value: Node-RED then runs the hook synchronously.
    hooks.add(`preDeliver.${LABEL}`, (event: SendEvent) => {
        noteDelivered(event);
    });
    hooks.add(`onComplete.${LABEL}`, (event: CompleteEvent) => {
        noteCompleted(event);
    });
    hooks.add(`preRoute.${LABEL}`, (event: SendEvent) => {
        if (event.cloneMessage && sharedMessages.has(event.msg as object)) event.cloneMessage = false;
    });
}

/** Removes the hooks; for tests. */
export function uninstallDeliveryTracking(hooks: MessageHooks): void {
    hooks.remove(`*.${LABEL}`);
}
