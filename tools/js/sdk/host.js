// What a running tool can ask of Warden: log, report progress, ask the
// client. Inside a component these go to Warden's `host` interface
// (installed by `bridge.js`); under Node to a RecordingHost, so tool code
// calls the same functions in both places.

/** Syslog severities, as MCP logging uses them. */
export const LOG_LEVELS = Object.freeze([
  'debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency',
]);

const REQUEST_KINDS = Object.freeze(['sample', 'elicit', 'list-roots']);

/** Why a request to the client has no answer: `kind` is `unsupported`,
 * `invalid`, `refused` or `unavailable`. Returned in place of an answer, not thrown. */
export class ClientError extends Error {
  constructor(kind, message) {
    super(`${kind}: ${message}`);
    this.name = 'ClientError';
    this.kind = kind;
    this.reason = message;
  }
}

/** The host outside a component: keeps what a tool logs and reports, and
 * answers its client requests from `answers` in order (else `unsupported`). */
export class RecordingHost {
  constructor(answers = []) {
    this.logs = [];
    this.progress = [];
    this.requests = [];
    this.answers = [...answers];
  }

  log(level, message) {
    this.logs.push({ level, message });
  }

  reportProgress(done, total, message) {
    this.progress.push({ done, total, message });
  }

  askClient(requests) {
    this.requests.push(...requests);
    return requests.map(() => this.answers.length > 0
      ? this.answers.shift()
      : new ClientError('unsupported', 'no client outside a component'));
  }
}

let current = new RecordingHost();

/** Makes `host` the one the helpers talk to; returns the previous one. */
export function installHost(host) {
  const previous = current;
  current = host;
  return previous;
}

/** Runs `body` with a fresh RecordingHost (answering from `answers`) and
 * returns it, for unit tests. */
export function recording(body, answers = []) {
  const recorder = new RecordingHost(answers);
  const previous = installHost(recorder);
  try {
    body(recorder);
  } finally {
    installHost(previous);
  }
  return recorder;
}

/** Sends a log message to the client (MCP `notifications/message`). Past the
 * tool's `max_log_messages` the call fails. */
export function log(level, message) {
  if (!LOG_LEVELS.includes(level)) {
    throw new TypeError(`log level must be one of ${LOG_LEVELS.join(', ')}, not ${level}`);
  }
  current.log(level, String(message));
}

/** Reports progress to a client that asked for it; `done` should grow. */
export function progress(done, total, message) {
  current.reportProgress(Number(done), total === undefined ? undefined : Number(total), message);
}

/** A request for a completion from the client's model (`sampling/createMessage`). */
export function sample(messages, maxTokens, { key, optional = false, ...params } = {}) {
  return { kind: 'sample', params: { messages, maxTokens, ...params }, key, optional };
}

/** A request for input from the user (`elicitation/create`). */
export function elicit(message, requestedSchema, { key, optional = false } = {}) {
  return { kind: 'elicit', params: { message, requestedSchema }, key, optional };
}

/** A request for the client's roots (`roots/list`). */
export function listRoots({ key, optional = false } = {}) {
  return { kind: 'list-roots', params: {}, key, optional };
}

/** Sends `requests` to the client together and waits for every answer: one
 * per request, in order, each the client's result (an object) or a ClientError. */
export function askClient(requests) {
  for (const request of requests) {
    if (!REQUEST_KINDS.includes(request.kind)) {
      throw new TypeError(`client request kind must be one of ${REQUEST_KINDS.join(', ')}`);
    }
  }
  return current.askClient(requests);
}
