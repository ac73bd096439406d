export * from './config';
export * from './commands';
export * from './events';
export * from './http-errors';
