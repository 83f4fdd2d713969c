/**
 * Test helpers shared by the @again packages (private, never published). The PostgreSQL helpers
 * are in `@again/test-utils/postgres`, so that only the tests that need them load `pg`.
 *
 * @module
 */
export { createManualClock, type ManualClock, settle } from './clock.js';
export { type Gate, gate } from './gate.js';
export {
  type HoldingServer,
  type HoldingServerOptions,
  startHoldingServer,
} from './holding.js';
export { type Exit, forkScript, handled, has, type Worker } from './processes.js';
export {
  closedPort,
  delayed,
  type HttpsServerOptions,
  type ListeningServer,
  LOOPBACK,
  listen,
  okHandler,
  type RecordedRequest,
  type ServerOptions,
  startHttpServer,
  startHttpsServer,
  type TestHandler,
  type TestServer,
} from './servers.js';
export { createTempDir, type TempDir } from './temp-dir.js';
export { selfSignedCertificate, type TlsCredentials } from './tls.js';
