export { type ApiDocsOptions, DEFAULT_API_DOCS_OPTIONS, installApiDocs } from './api-docs';
export {
  type AppConfigFieldOptions,
  type AppConfigFileOptions,
  type AppConfigSpec,
  type LoadedAppConfig,
  loadAppConfig,
} from './app-config';
export { AppError, type AppErrorOptions, COMMON_ERROR_CODES } from './app-error';
export {
  CommandLineError,
  type CommandLineSpec,
  convertFlagValue,
  type FlagDefinition,
  type FlagType,
  type FlagValue,
  formatHelp,
  type ParsedCommandLine,
  parseCommandLine,
} from './command-line';
export { ConfigError, loadConfig, mergeConfigLayers, readConfigFile, setPath } from './config';
export { createHttpServer, DEFAULT_HTTP_SERVER_OPTIONS, type HttpServerOptions } from './create-http-server';
export {
  DEFAULT_ERROR_ENVELOPE,
  type ErrorEnvelope,
  type NormalizedHttpError,
  normalizeError,
  type RenderedError,
} from './error-envelope';
export {
  type GracefulShutdown,
  type GracefulShutdownOptions,
  installGracefulShutdown,
} from './graceful-shutdown';
export { createLogger, type Logger, type LoggerOptions } from './logger';
export { findUndocumentedRoutes, type RegisteredRoute, registeredRoutes } from './route-coverage';
export { NO_BODY, NO_QUERY } from './route-schemas';
export { runMain } from './run-main';
export {
  type FastifyPluginAsyncZod,
  hasZodFastifySchemaValidationErrors,
  type ZodTypeProvider,
} from './type-provider';
export { type ZodCheckDefinition, type ZodDefinition, zodDefinitionOf } from './zod-definition';
