export {
  AbortedError,
  type Clock,
  type PollOptions,
  PollTimeoutError,
  pollUntil,
  SYSTEM_CLOCK,
  sleep,
  type TimerHandle,
} from './clock';
export { DomainError, type DomainErrorOptions } from './domain-error';
export {
  formatHostPort,
  type HostPort,
  HostPortError,
  hostOf,
  hostPort,
  listenAddress,
  parseHostPort,
} from './host-port';
export { type Logger, type LogMethod, SILENT_LOGGER } from './logger';
export { ManualClock } from './manual-clock';
export { writeFileAtomic } from './write-file-atomic';
