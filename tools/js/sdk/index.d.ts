// Types of the JavaScript tool kit (index.js), for authors who write their
// tools in TypeScript and for editors.
import type { z } from 'zod';

export { z } from 'zod';

/** Syslog severities, as MCP logging uses them. */
export type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'critical' | 'alert'
  | 'emergency';
export const LOG_LEVELS: readonly LogLevel[];

/** A request to the client: made by `sample`, `elicit` or `listRoots`. */
export interface ClientRequest {
  kind: 'sample' | 'elicit' | 'list-roots';
  params: Record<string, unknown>;
  key?: string;
  optional: boolean;
}

/** Why a request to the client has no answer (returned, not thrown). */
export class ClientError extends Error {
  constructor(kind: ClientError['kind'], message: string);
  kind: 'unsupported' | 'invalid' | 'refused' | 'unavailable';
  reason: string;
}

export type Answer = Record<string, unknown> | ClientError;

/** The host outside a component: what a tool logged, reported and asked. */
export class RecordingHost {
  constructor(answers?: Answer[]);
  logs: { level: LogLevel; message: string }[];
  progress: { done: number; total?: number; message?: string }[];
  requests: ClientRequest[];
}

export function installHost(host: unknown): unknown;
export function recording(body: (host: RecordingHost) => void, answers?: Answer[]): RecordingHost;
export function log(level: LogLevel, message: string): void;
export function progress(done: number, total?: number, message?: string): void;
export function sample(
  messages: Record<string, unknown>[],
  maxTokens: number,
  options?: { key?: string; optional?: boolean } & Record<string, unknown>,
): ClientRequest;
export function elicit(
  message: string,
  requestedSchema: Record<string, unknown>,
  options?: { key?: string; optional?: boolean },
): ClientRequest;
export function listRoots(options?: { key?: string; optional?: boolean }): ClientRequest;
export function askClient(requests: ClientRequest[]): Answer[];

/** Throw it to end a call as a tool error whose text is the message. */
export class ToolError extends Error {
  constructor(message: string);
}

/** A JSON Schema object. */
export type JsonSchema = Record<string, unknown> & { type?: string };

/** What a call returns. */
export interface CallResult {
  content: { type: string; text?: string; data?: string; mimeType?: string }[];
  structuredContent?: Record<string, unknown>;
  isError: boolean;
}

type Input<S> = S extends z.ZodType ? z.output<S> : Record<string, unknown>;
type Output<S> = S extends z.ZodType ? z.input<S> : unknown;

export interface ToolDefinition<I extends z.ZodType | JsonSchema, O extends z.ZodType | JsonSchema> {
  /** `[A-Za-z0-9_.-]{1,128}`, unique across the gateway. */
  name: string;
  title?: string;
  description: string;
  inputSchema?: I;
  outputSchema?: O;
  annotations?: { readOnly?: boolean; destructive?: boolean; idempotent?: boolean; openWorld?: boolean };
  /** Synchronous: returns text, an object (structured content) or a CallResult. */
  handler: (args: Input<I>) => Output<O> | string | CallResult | undefined;
}

export interface Tool {
  readonly name: string;
  readonly title?: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema?: JsonSchema;
}

export function defineTool<I extends z.ZodType | JsonSchema, O extends z.ZodType | JsonSchema>(
  definition: ToolDefinition<I, O>,
): Tool;

/** The tools of one component; `call` runs one as Warden does. */
export class Toolbox {
  constructor(tools?: Tool[]);
  add(tool: Tool): this;
  list(): Tool[];
  call(name: string, args: string | Record<string, unknown>): CallResult;
}
