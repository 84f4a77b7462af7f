export * from './errors.ts';
export * from './ids.ts';
export * from './storage.ts';
export * from './storage-rules.ts';
export * from './session.ts';
export * from './transcript/summary.ts';
export * from './transcript/scanner.ts';
export * from './transcript/usage.ts';
