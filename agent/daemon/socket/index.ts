// The control socket server, in rooms: listener, connection, decode, dispatch, streaming and the
// admission glue over policy/socket-admission.
export { SOCKET_LIMITS } from '../../../policy/socket-admission.js';
export type { Handlers, RequestContext } from './dispatch.js';
export { SocketServer, type SocketServerOptions } from './server.js';
