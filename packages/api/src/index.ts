export * from './http/create-app.ts';
export * from './http/api-keys.ts';
export * from './config/api-config.ts';
export * from './storage/open-storage.ts';
export * from './node/start-server.ts';
export * from './logger.ts';
export * from './storage/embedded/open-embedded-storage.ts';
export * from './http/app-env.ts';
