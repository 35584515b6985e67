// Type-checked, never run, by tools/build-polyglot --test: the kit's types
// accept a tool as the README writes it, and reject a wrong one.
import { Toolbox, ToolError, defineTool, log, z } from './index.js';

const greet = defineTool({
  name: 'hello.greet',
  description: 'Greets someone.',
  inputSchema: z.object({ name: z.string().describe('Who to greet.') }),
  outputSchema: z.object({ message: z.string() }),
  annotations: { readOnly: true },
  handler({ name }) {
    if (name.trim() === '') throw new ToolError('name is blank');
    log('info', `greeting ${name}`);
    return { message: `Hello, ${name}!` };
  },
});

const toolbox = new Toolbox([greet]);
const result = toolbox.call('hello.greet', { name: 'Ada' });
const failed: boolean = result.isError;

defineTool({
  name: 'hello.wrong',
  description: 'Returns the wrong shape.',
  inputSchema: z.object({ count: z.number() }),
  outputSchema: z.object({ message: z.string() }),
  // @ts-expect-error: the output's `message` must be a string.
  handler: ({ count }) => ({ message: count }),
});

export { failed };
