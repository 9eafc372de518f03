export type {
  RecordedMessage,
  RecordedRequest,
  ScriptedTurn,
  TestModelServerOptions,
} from './test-model-server.ts';
export { TestModelServer } from './test-model-server.ts';
