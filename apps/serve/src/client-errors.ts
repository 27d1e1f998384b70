/**
 * Node's `clientError` (a request that never reached fastify: headers too large, malformed
 * HTTP, a request not received within the timeout): one JSON error in the server's shape with
 * `Connection: close`, so keep-alive clients drop the connection instead of reusing a socket
 * that is about to close (ECONNRESET), then the socket is closed once the answer is written.
 */
import type { Socket } from 'node:net';
import { type ErrorBody, reason } from './errors.js';

/** The error answered for a client error code (Node's `err.code`). */
export function clientErrorBody(errorCode: string | undefined, timeoutMs: number): ErrorBody {
  switch (errorCode) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        error: reason(431),
        message: 'the request headers are too large (Node limit --max-http-header-size, 16 KiB by default)',
        statusCode: 431,
        code: 'HEADERS_TOO_LARGE',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        error: reason(408),
        message: `the request was not received within this server's ${timeoutMs} ms timeout (timeoutMs)`,
        statusCode: 408,
        code: 'REQUEST_TIMEOUT',
      };
    default:
      return { error: reason(400), message: 'malformed HTTP request', statusCode: 400, code: 'BAD_HTTP_REQUEST' };
  }
}

/** A `clientError` listener answering {@link clientErrorBody} with `Connection: close`; `onAnswer` sees each status sent. */
export function clientErrorHandler(timeoutMs: number, onAnswer: (socket: Socket, statusCode: number) => void) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const response = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || response?.headersSent) {
      socket.destroy();
      return;
    }
    const body = clientErrorBody(error.code, timeoutMs);
    const text = JSON.stringify(body);
    onAnswer(socket, body.statusCode);
    socket.write(
      `HTTP/1.1 ${body.statusCode} ${body.error}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
    socket.destroySoon();
  };
}
