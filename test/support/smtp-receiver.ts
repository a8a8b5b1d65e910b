// A minimal SMTP server on 127.0.0.1 for tests: it accepts every message and records the commands
// and the message data, or rejects every recipient with 550.
import { createServer, type Server } from 'node:net';

export interface SmtpLog {
    commands: string[];
    /** Each message as received after DATA, with lines joined by \n. */
    data: string[];
}

export interface SmtpReceiver {
    server: Server;
    port: number;
    log: SmtpLog;
    close(): Promise<void>;
}

/** Starts the receiver on a free loopback port. */
export function startSmtpServer(rejectRecipients = false): Promise<SmtpReceiver> {
    const log: SmtpLog = { commands: [], data: [] };
    const server = createServer((socket) => {
        let buffer = '';
        let inData = false;
        let message = '';
        socket.write('220 localhost test SMTP\r\n');
        socket.on('data', (chunk) => {
            buffer += chunk.toString('utf8');
            let newline: number;
            while ((newline = buffer.indexOf('\r\n')) >= 0) {
                const line = buffer.slice(0, newline);
                buffer = buffer.slice(newline + 2);
                if (inData) {
                    if (line === '.') {
                        inData = false;
                        log.data.push(message);
                        message = '';
                        socket.write('250 2.0.0 queued\r\n');
                    } else {
                        message += `${line}\n`;
                    }
                    continue;
                }
                log.commands.push(line);
                const verb = line.slice(0, 4).toUpperCase();
                if (verb === 'EHLO' || verb === 'HELO') socket.write('250 localhost\r\n');
                else if (verb === 'MAIL') socket.write('250 2.1.0 ok\r\n');
                else if (verb === 'RCPT') socket.write(rejectRecipients ? '550 5.1.1 mailbox unavailable\r\n' : '250 2.1.5 ok\r\n');
                else if (verb === 'DATA') {
                    inData = true;
                    socket.write('354 end with .\r\n');
                } else if (verb === 'QUIT') {
                    socket.end('221 bye\r\n');
                } else socket.write('250 ok\r\n');
            }
        });
    });
    return new Promise((resolve) => {
        server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            resolve({
                server,
                port: typeof address === 'object' && address ? address.port : 0,
                log,
                close: () => new Promise((done) => server.close(() => done())),
            });
        });
    });
}
