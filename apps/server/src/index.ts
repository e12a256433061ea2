export { createHearth, type Hearth, type HearthOverrides, storeLocationFor } from './compose';
export { type Config, ConfigError, type ConfigInput, configSchema, loadConfig } from './config';
export { listen, type RunningServer } from './listen';
export { createLogger, type Logger } from './logger';
export {
  SERVER_NODE_FLAGS,
  type ServerProcess,
  type ServerProcessOptions,
  serverDir,
  startServerProcess,
  stopServerProcess,
} from './server-process';
