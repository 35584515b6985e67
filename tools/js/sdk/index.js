// Warden tools in JavaScript: `defineTool` turns a handler and its zod (or
// JSON Schema) input and output schemas into an MCP tool; a `Toolbox` holds
// a component's tools and runs them as Warden does, under Node for tests
// and inside the component (see bridge.js).
import { z } from 'zod';

export { z };
export {
  ClientError, LOG_LEVELS, RecordingHost, askClient, elicit, installHost, listRoots, log,
  progress, recording, sample,
} from './host.js';

const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** Throw it to end a call as a tool error (`isError: true`) whose text is the
 * message. Any other exception does the same, prefixed with its name. */
export class ToolError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ToolError';
  }
}

/** What SpiderMonkey throws when an allocation fails. */
const OUT_OF_MEMORY = 'out of memory';

const isZod = (schema) => schema !== null && typeof schema === 'object'
  && typeof schema.safeParse === 'function';

function jsonSchemaOf(schema, io, what) {
  if (schema === undefined) {
    return undefined;
  }
  const json = isZod(schema) ? z.toJSONSchema(schema, { io }) : schema;
  if (json === null || typeof json !== 'object' || json.type !== 'object') {
    throw new TypeError(`${what} must be an object schema (type "object")`);
  }
  return json;
}

/** One tool: `name` (`[A-Za-z0-9_.-]{1,128}`), `description`, `inputSchema`
 * and optional `outputSchema` (zod object schemas, or JSON Schema objects),
 * optional `title` and `annotations` (`readOnly`, `destructive`,
 * `idempotent`, `openWorld`), and `handler(args)`, which returns a string
 * (text), an object (structured content), or throws. */
export function defineTool({
  name, title, description, inputSchema, outputSchema, annotations = {}, handler,
}) {
  if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
    throw new TypeError(`tool name ${JSON.stringify(name)} must match [A-Za-z0-9_.-]{1,128}`);
  }
  if (typeof description !== 'string' || description.length === 0) {
    throw new TypeError(`tool ${name} needs a description`);
  }
  if (typeof handler !== 'function') {
    throw new TypeError(`tool ${name} needs a handler function`);
  }
  return Object.freeze({
    name,
    title,
    description,
    annotations: { ...annotations },
    input: isZod(inputSchema) ? inputSchema : undefined,
    inputSchema: jsonSchemaOf(inputSchema ?? { type: 'object' }, 'input', `${name}: inputSchema`),
    outputSchema: jsonSchemaOf(outputSchema, 'output', `${name}: outputSchema`),
    handler,
  });
}

function describeIssue(issue) {
  const path = issue.path.length > 0 ? issue.path.join('.') : 'arguments';
  return `${path}: ${issue.message}`;
}

function errorResult(message) {
  return { content: [{ type: 'text', text: message }], isError: true };
}

function outputResult(output) {
  if (typeof output === 'string') {
    return { content: [{ type: 'text', text: output }], isError: false };
  }
  if (output && typeof output === 'object' && Array.isArray(output.content)) {
    return { isError: false, ...output };
  }
  let text;
  try {
    text = JSON.stringify(output);
  } catch (error) {
    return errorResult(`the tool's output is not JSON: ${error.message}`);
  }
  if (text === undefined) {
    return { content: [], isError: false };
  }
  const structured = output !== null && typeof output === 'object' && !Array.isArray(output);
  return {
    content: [{ type: 'text', text }],
    structuredContent: structured ? JSON.parse(text) : undefined,
    isError: false,
  };
}

/** The tools of one component. `call(name, args)` runs one as Warden does
 * for `tools/call` and returns `{ content, structuredContent, isError }`. */
export class Toolbox {
  constructor(tools = []) {
    this.tools = new Map();
    for (const tool of tools) {
      this.add(tool);
    }
  }

  add(tool) {
    if (this.tools.has(tool.name)) {
      throw new TypeError(`tool ${tool.name} is defined twice`);
    }
    this.tools.set(tool.name, tool);
    return this;
  }

  list() {
    return [...this.tools.values()];
  }

  call(name, args) {
    const tool = this.tools.get(name);
    if (tool === undefined) {
      return errorResult(`unknown tool ${name}`);
    }
    let input = args;
    if (typeof input === 'string') {
      try {
        input = JSON.parse(input);
      } catch (error) {
        return errorResult(`invalid arguments: not JSON (${error.message})`);
      }
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return errorResult('invalid arguments: must be a JSON object');
    }
    if (tool.input !== undefined) {
      const parsed = tool.input.safeParse(input);
      if (!parsed.success) {
        return errorResult(`invalid arguments: ${parsed.error.issues.map(describeIssue).join('; ')}`);
      }
      input = parsed.data;
    }
    let output;
    try {
      output = tool.handler(input);
    } catch (error) {
      if (error === OUT_OF_MEMORY) {
        // The engine ran out of memory: nothing it does next can be trusted,
        // so the call ends (as `memory_limit` in a component).
        throw error;
      }
      if (error instanceof ToolError) {
        return errorResult(error.message);
      }
      const kind = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      return errorResult(`${kind}: ${message}`);
    }
    if (output !== null && typeof output === 'object' && typeof output.then === 'function') {
      return errorResult('the tool handler returned a Promise: handlers must be synchronous');
    }
    return outputResult(output);
  }
}
