export { FakeGitHub } from './fake-github.ts';
export { FakeGmail } from './fake-gmail.ts';
export { type FakeAnswer, FakeService, type ReceivedRequest } from './fake-service.ts';
export { FakeSlack } from './fake-slack.ts';
export { FakeStripe } from './fake-stripe.ts';
export { FakeTwilio } from './fake-twilio.ts';
export type {
  RecordedMessage,
  RecordedRequest,
  ScriptedTurn,
  TestModelServerOptions,
} from './test-model-server.ts';
export { TestModelServer } from './test-model-server.ts';
