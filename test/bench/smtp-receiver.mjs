// A minimal SMTP server on 127.0.0.1 for benchmarks. It accepts every message without TLS or
// authentication and records, for each one, the time at which it accepted the message (the end
// of DATA, just before its 250 reply), the subject and the raw message (headers and body).
import { createServer } from 'node:net';

/**
 * Returns the headers of a message as a map of lower-case names to values, with folded lines
 * joined. Encoded words (RFC 2047) are left as they are.
 */
export function parseHeaders(message) {
    const end = message.indexOf('\n\n');
    const lines = (end >= 0 ? message.slice(0, end) : message).split('\n');
    const headers = new Map();
    let name;
    for (const line of lines) {
        if (/^[ \t]/.test(line) && name) {
            headers.set(name, `${headers.get(name)} ${line.trim()}`);
            continue;
        }
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        name = line.slice(0, colon).trim().toLowerCase();
        headers.set(name, line.slice(colon + 1).trim());
    }
    return headers;
}

/**
 * Starts the receiver on a free loopback port. `messages` grows as messages arrive. Each entry is
 * `{ acceptedAt, subject, data }`, with `acceptedAt` from performance.now() in this process.
 */
export function startSmtpReceiver() {
    const messages = [];
    const sockets = new Set();
    const server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        // A client that drops the connection must not stop the benchmark.
        socket.on('error', () => socket.destroy());
        let buffer = '';
        let inData = false;
        let data = '';
        socket.write('220 127.0.0.1 benchmark SMTP receiver\r\n');
        socket.on('data', (chunk) => {
            buffer += chunk.toString('utf8');
            let newline;
            while ((newline = buffer.indexOf('\r\n')) >= 0) {
                const line = buffer.slice(0, newline);
                buffer = buffer.slice(newline + 2);
                if (inData) {
                    if (line === '.') {
                        const acceptedAt = performance.now();
                        inData = false;
                        messages.push({ acceptedAt, subject: parseHeaders(data).get('subject') ?? '', data });
                        data = '';
                        socket.write('250 2.0.0 accepted\r\n');
                    } else {
                        // SMTP doubles a leading dot in the message text (dot-stuffing).
                        data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
                    }
                    continue;
                }
                const verb = line.slice(0, 4).toUpperCase();
                if (verb === 'EHLO' || verb === 'HELO') socket.write('250 127.0.0.1\r\n');
                else if (verb === 'DATA') {
                    inData = true;
                    socket.write('354 end data with <CR><LF>.<CR><LF>\r\n');
                } else if (verb === 'QUIT') socket.end('221 2.0.0 bye\r\n');
                else socket.write('250 2.0.0 ok\r\n');
            }
        });
    });
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            resolve({
                port: server.address().port,
                messages,
                close: () =>
                    new Promise((done) => {
                        for (const socket of sockets) socket.destroy();
                        server.close(() => done());
                    }),
            });
        });
    });
}
