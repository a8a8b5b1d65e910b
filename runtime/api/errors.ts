// Turns errors thrown by body parsers and routes into the API's JSON error shape, so that a
// caller never receives an HTML page with a stack trace.
import { randomUUID } from 'node:crypto';

import type { ErrorRequestHandler } from 'express';

import type { Logger } from '../logging';
import { sendError } from './http';

interface HttpError extends Error {
    type?: string;
    status?: number;
    length?: number;
    limit?: number;
}

export function apiErrorHandler(logger: Logger): ErrorRequestHandler {
    return (err: HttpError, req, res, next) => {
        if (res.headersSent) {
            next(err);
            return;
        }
        if (err.type === 'entity.parse.failed') {
            sendError(res, 400, 'invalid_json', `The request body is not valid JSON (${err.message}); send a JSON object.`);
            return;
        }
        if (err.type === 'entity.too.large') {
            const limitMb = err.limit ? (err.limit / 1024 / 1024).toFixed(0) : 'the';
            sendError(res, 413, 'payload_too_large', `The request body of ${err.length ?? 'unknown'} bytes exceeds the limit of ${limitMb} MB; split it into smaller requests.`);
            return;
        }
        if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
            sendError(res, err.status, 'bad_request', err.message);
            return;
        }
        const id = randomUUID();
        logger.error('API request failed', { request_id: id, method: req.method, path: req.path, error: err });
        sendError(res, 500, 'internal_error', `The request failed inside the server; the log has the details under request id ${id}.`);
    };
}
