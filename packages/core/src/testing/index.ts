export * from './transcript-builder.ts';
