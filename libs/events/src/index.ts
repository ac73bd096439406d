export * from './envelope';
export * from './primitives';
export * from './catalogue';
export * from './codec';
