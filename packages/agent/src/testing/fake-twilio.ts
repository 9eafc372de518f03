import { bodyFields, type FakeAnswer, FakeService, type ReceivedRequest } from './fake-service.ts';

export interface FakeTwilioMessage {
  sid: string;
  from: string;
  to: string;
  body: string;
  status: string;
  direction: 'inbound' | 'outbound-api';
  date_sent: string;
}

export interface FakeTwilioCall {
  sid: string;
  from: string;
  to: string;
  twiml: string;
  status: string;
}

/**
 * A loopback stand-in for Twilio's REST API (`https://api.twilio.com/2010-04-01/Accounts/{Sid}/
 * Messages.json`, `Calls.json`), as documented: HTTP Basic with the account SID and auth token
 * (401 with code 20003 otherwise), form-encoded bodies with capitalised fields (`To`, `From`,
 * `Body`, `Twiml`), JSON answers in snake case, lists paged by `PageSize` and `PageToken` with
 * `next_page_uri`, errors as `{ code, message, more_info, status }` (21211 for a bad number, 21610 for one that opted out),
 * and rate limits as 429 with code 20429 (`rateLimited()`).
 */
export class FakeTwilio extends FakeService {
  readonly accountSid: string;
  readonly authToken: string;
  readonly messages: FakeTwilioMessage[] = [];
  readonly calls: FakeTwilioCall[] = [];
  /** Numbers that answered STOP: Twilio refuses to text them (error 21610). */
  readonly optedOut = new Set<string>();
  #next = 1;
  #clock = Date.UTC(2026, 0, 5, 9, 0, 0);

  constructor(accountSid: string, authToken: string) {
    super();
    this.accountSid = accountSid;
    this.authToken = authToken;
    const account = '/2010-04-01/Accounts/:sid';
    this.on('POST', `${account}/Messages.json`, (r, p) =>
      this.#authed(r, p, (f) => {
        const invalid = this.#checkNumbers(f, 'Body');
        if (invalid) return invalid;
        if (this.optedOut.has(f.To as string)) {
          return {
            status: 400,
            json: twilioError(400, 21610, 'Attempt to send to unsubscribed recipient'),
          };
        }
        const message: FakeTwilioMessage = {
          sid: this.#sid('SM'),
          from: f.From as string,
          to: f.To as string,
          body: f.Body as string,
          status: 'queued',
          direction: 'outbound-api',
          date_sent: this.#date(),
        };
        this.messages.unshift(message);
        return { status: 201, json: this.#messageJson(message) };
      }),
    );
    this.on('GET', `${account}/Messages.json`, (r, p) =>
      this.#authed(r, p, () => {
        const to = r.query.get('To');
        const from = r.query.get('From');
        const items = this.messages.filter(
          (m) => (to === null || m.to === to) && (from === null || m.from === from),
        );
        const size = Math.min(Number(r.query.get('PageSize') ?? 50) || 50, 1000);
        const token = r.query.get('PageToken');
        const start = token ? Number(token.replace(/^PASM/, '')) : 0;
        const page = Number(r.query.get('Page') ?? 0);
        const slice = items.slice(start, start + size);
        const path = `/2010-04-01/Accounts/${this.accountSid}/Messages.json`;
        const filters = `${to ? `&To=${encodeURIComponent(to)}` : ''}${from ? `&From=${encodeURIComponent(from)}` : ''}`;
        return {
          json: {
            messages: slice.map((m) => this.#messageJson(m)),
            page,
            page_size: size,
            start,
            end: start + slice.length - 1,
            uri: `${path}?PageSize=${size}&Page=${page}${filters}`,
            first_page_uri: `${path}?PageSize=${size}&Page=0${filters}`,
            previous_page_uri: null,
            next_page_uri:
              start + size < items.length
                ? `${path}?PageSize=${size}&Page=${page + 1}&PageToken=PASM${start + size}${filters}`
                : null,
          },
        };
      }),
    );
    this.on('POST', `${account}/Calls.json`, (r, p) =>
      this.#authed(r, p, (f) => {
        const invalid = this.#checkNumbers(f, 'Twiml');
        if (invalid) return invalid;
        const call: FakeTwilioCall = {
          sid: this.#sid('CA'),
          from: f.From as string,
          to: f.To as string,
          twiml: f.Twiml as string,
          status: 'queued',
        };
        this.calls.push(call);
        return {
          status: 201,
          json: {
            sid: call.sid,
            account_sid: this.accountSid,
            from: call.from,
            to: call.to,
            status: call.status,
            direction: 'outbound-api',
            date_created: this.#date(),
            uri: `/2010-04-01/Accounts/${this.accountSid}/Calls/${call.sid}.json`,
          },
        };
      }),
    );
  }

  static async start(accountSid: string, authToken: string): Promise<FakeTwilio> {
    return new FakeTwilio(accountSid, authToken).start();
  }

  /** A message received on one of the account's numbers; returns its SID. */
  addInbound(from: string, to: string, body: string): string {
    const sid = this.#sid('SM');
    this.messages.unshift({
      sid,
      from,
      to,
      body,
      status: 'received',
      direction: 'inbound',
      date_sent: this.#date(),
    });
    return sid;
  }

  /** The next `times` requests answer 429 with Twilio's error 20429. */
  rateLimited(times = 1): void {
    for (let i = 0; i < times; i++) {
      this.answerNext({
        status: 429,
        json: twilioError(429, 20429, 'Too Many Requests'),
      });
    }
  }

  #authed(
    request: ReceivedRequest,
    params: Record<string, string>,
    handle: (fields: Record<string, unknown>) => FakeAnswer,
  ): FakeAnswer {
    const auth = String(request.headers.authorization ?? '');
    const [user, password] = auth.startsWith('Basic ')
      ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')
      : [];
    if (user !== this.accountSid || password !== this.authToken) {
      return { status: 401, json: twilioError(401, 20003, 'Authenticate') };
    }
    if (params.sid !== this.accountSid) {
      return {
        status: 404,
        json: twilioError(404, 20404, `The requested resource ${request.path} was not found`),
      };
    }
    return handle(bodyFields(request));
  }

  #checkNumbers(f: Record<string, unknown>, content: string): FakeAnswer | undefined {
    const e164 = /^\+[1-9]\d{6,14}$/;
    if (typeof f.To !== 'string' || !e164.test(f.To)) {
      return {
        status: 400,
        json: twilioError(400, 21211, `Invalid 'To' Phone Number: ${String(f.To ?? '')}`),
      };
    }
    if (typeof f.From !== 'string' || !e164.test(f.From)) {
      return {
        status: 400,
        json: twilioError(
          400,
          21212,
          `The 'From' number ${String(f.From ?? '')} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
        ),
      };
    }
    if (typeof f[content] !== 'string' || f[content] === '') {
      return {
        status: 400,
        json: twilioError(400, 21602, `A '${content}' parameter is required.`),
      };
    }
    return undefined;
  }

  #messageJson(m: FakeTwilioMessage) {
    return {
      sid: m.sid,
      account_sid: this.accountSid,
      from: m.from,
      to: m.to,
      body: m.body,
      status: m.status,
      direction: m.direction,
      num_segments: '1',
      date_sent: m.date_sent,
      date_created: m.date_sent,
      error_code: null,
      error_message: null,
      uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${m.sid}.json`,
    };
  }

  #sid(prefix: string): string {
    return `${prefix}${(this.#next++).toString(16).padStart(32, '0')}`;
  }

  /** Twilio's dates are RFC 2822. */
  #date(): string {
    this.#clock += 60_000;
    return new Date(this.#clock).toUTCString().replace('GMT', '+0000');
  }
}

function twilioError(status: number, code: number, message: string) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}
