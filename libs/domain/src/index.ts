export * from './errors';
export * from './decider';
export * from './gpu-catalogue';
export * from './job';
export * from './contract';
export * from './node';
export * from './account';
export * from './workloads';
