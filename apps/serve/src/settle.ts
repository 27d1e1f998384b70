/**
 * When is a request over? `res` emits 'finish' once the response is handed to the socket, and
 * 'close' when the socket closes — but only for the response that currently owns the socket.
 * A request pipelined behind another on the same keep-alive connection has no socket yet, so
 * if the connection closes first (e.g. after a 400 with `Connection: close`), neither event
 * ever fires for it. {@link onSettled} also watches the connection itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Requests of a connection not settled yet (one 'close' listener per connection). */
const pendingByConnection = new WeakMap<Socket, Set<() => void>>();

/**
 * Call `settle(true)` once the response to `req` has finished, or `settle(false)` once when its
 * connection closes before that (client gone, or the server closed it). Called exactly once.
 */
export function onSettled(req: IncomingMessage, res: ServerResponse, settle: (finished: boolean) => void): void {
  let done = false;
  const socket = req.socket as Socket | null;
  const pending = socket && typeof socket.once === 'function' ? connectionSet(socket) : undefined;
  const fire = (finished: boolean) => {
    if (done) return;
    done = true;
    pending?.delete(gone);
    settle(finished);
  };
  const gone = () => fire(res.writableFinished);
  res.once('finish', () => fire(true));
  res.once('close', gone);
  pending?.add(gone);
}

function connectionSet(socket: Socket): Set<() => void> {
  let pending = pendingByConnection.get(socket);
  if (!pending) {
    const set = new Set<() => void>();
    pendingByConnection.set(socket, set);
    socket.once('close', () => {
      for (const gone of [...set]) gone();
      set.clear();
    });
    pending = set;
  }
  return pending;
}
