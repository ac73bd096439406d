export { withJobId, currentJobId, currentTraceId } from './log-context';
