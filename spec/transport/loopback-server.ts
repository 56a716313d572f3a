/**
 * Loopback HTTP(S) servers for transport tests: listen on 127.0.0.1, port 0, count requests and
 * connections, and tear down every socket on close so no test leaks a handle.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export type Handler = (
  request: http.IncomingMessage,
  response: http.ServerResponse,
  index: number,
) => void;

export interface Loopback {
  /** `http://127.0.0.1:PORT` (or https), no trailing slash. */
  readonly origin: string;
  readonly server: http.Server | https.Server;
  /** Requests received so far, in order. */
  readonly requests: http.IncomingMessage[];
  /** Connections accepted so far (TLS: completed handshakes). */
  readonly connections: number;
  /** Resolves when every socket accepted so far has closed. */
  allSocketsClosed(): Promise<void>;
  close(): Promise<void>;
}

/** Start a server; the handler gets the request index (0-based) to script sequences. */
export async function startLoopback(
  handler: Handler,
  tls?: https.ServerOptions,
): Promise<Loopback> {
  const requests: http.IncomingMessage[] = [];
  const sockets = new Set<Socket>();
  const closedPromises: Promise<void>[] = [];
  const server =
    tls === undefined
      ? http.createServer((req, res) => handler(req, res, requests.push(req) - 1))
      : https.createServer(tls, (req, res) => handler(req, res, requests.push(req) - 1));
  const state: { connections: number } = { connections: 0 };
  server.on(tls === undefined ? 'connection' : 'secureConnection', () => {
    state.connections++;
  });
  // Track raw TCP sockets (also for TLS) so close() can destroy them.
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    closedPromises.push(new Promise((resolve) => socket.once('close', () => resolve())));
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    server,
    requests,
    get connections() {
      return state.connections;
    },
    allSocketsClosed: async () => {
      await Promise.all(closedPromises);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A promise resolved when the response's underlying connection closes. */
export function connectionClosed(response: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (response.socket === null || response.socket.destroyed) resolve();
    else response.socket.once('close', () => resolve());
  });
}
