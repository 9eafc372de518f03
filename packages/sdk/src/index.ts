export { RunToolsError } from './errors.ts';
