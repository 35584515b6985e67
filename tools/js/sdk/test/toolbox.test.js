import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ClientError, ToolError, Toolbox, askClient, defineTool, listRoots, log, progress, recording, z,
} from '../index.js';

const sum = defineTool({
  name: 'demo.sum',
  title: 'Sum',
  description: 'Adds numbers.',
  inputSchema: z.object({
    values: z.array(z.number()).describe('The numbers.'),
    scale: z.number().default(1),
  }),
  outputSchema: z.object({ total: z.number(), count: z.number().int() }),
  annotations: { readOnly: true },
  handler({ values, scale }) {
    if (values.length === 0) {
      throw new ToolError('nothing to add');
    }
    progress(1, 1, 'added');
    log('info', `added ${values.length}`);
    return { total: values.reduce((a, b) => a + b, 0) * scale, count: values.length };
  },
});

const roots = defineTool({
  name: 'demo.roots',
  description: 'Asks the client for its roots.',
  inputSchema: z.object({}),
  handler() {
    const [answer] = askClient([listRoots()]);
    if (answer instanceof ClientError) {
      throw new ToolError(`no roots: ${answer.message}`);
    }
    return answer.roots.map((root) => root.uri).join(', ');
  },
});

const broken = defineTool({
  name: 'demo.broken',
  description: 'Fails.',
  inputSchema: { type: 'object' },
  handler: () => null.missing,
});

const toolbox = new Toolbox([sum, roots, broken]);

test('schemas come from zod', () => {
  assert.deepEqual(sum.inputSchema.properties.values, {
    type: 'array', items: { type: 'number' }, description: 'The numbers.',
  });
  assert.deepEqual(sum.inputSchema.required, ['values']);
  assert.deepEqual(sum.outputSchema.required, ['total', 'count']);
  assert.deepEqual(broken.inputSchema, { type: 'object' });
});

test('a call returns structured content and text', () => {
  let result;
  const host = recording(() => {
    result = toolbox.call('demo.sum', '{"values": [1, 2.5], "scale": 2}');
  });
  assert.equal(result.isError, false);
  assert.deepEqual(result.structuredContent, { total: 7, count: 2 });
  assert.equal(result.content[0].text, '{"total":7,"count":2}');
  assert.deepEqual(host.progress, [{ done: 1, total: 1, message: 'added' }]);
  assert.deepEqual(host.logs, [{ level: 'info', message: 'added 2' }]);
});

test('errors are tool errors with the message', () => {
  assert.equal(toolbox.call('demo.sum', { values: [] }).content[0].text, 'nothing to add');
  const invalid = toolbox.call('demo.sum', { values: ['x'] });
  assert.equal(invalid.isError, true);
  assert.match(invalid.content[0].text, /^invalid arguments: values\.0: /);
  assert.match(toolbox.call('demo.broken', {}).content[0].text, /^TypeError: /);
  assert.equal(toolbox.call('demo.nope', {}).isError, true);
  assert.equal(toolbox.call('demo.sum', '[1]').content[0].text, 'invalid arguments: must be a JSON object');
});

test('client requests are answered in order', () => {
  let result;
  const host = recording(() => {
    result = toolbox.call('demo.roots', {});
  }, [{ roots: [{ uri: 'file:///a' }, { uri: 'file:///b' }] }]);
  assert.equal(result.content[0].text, 'file:///a, file:///b');
  assert.equal(host.requests[0].kind, 'list-roots');
  recording(() => {
    result = toolbox.call('demo.roots', {});
  });
  assert.match(result.content[0].text, /^no roots: unsupported: /);
});

test('definitions are checked', () => {
  assert.throws(() => defineTool({ name: 'bad name', description: 'x', handler() {} }), /must match/);
  assert.throws(() => defineTool({ name: 'a.b', description: '', handler() {} }), /description/);
  assert.throws(() => defineTool({
    name: 'a.b', description: 'x', inputSchema: z.string(), handler() {},
  }), /object schema/);
  assert.throws(() => new Toolbox([sum, sum]), /defined twice/);
  assert.throws(() => log('loud', 'x'), /log level/);
});

test('an engine out of memory is not turned into a result', () => {
  const oom = defineTool({
    name: 'demo.oom',
    description: 'Runs out of memory.',
    handler() {
      throw 'out of memory'; // eslint-disable-line no-throw-literal
    },
  });
  assert.throws(() => new Toolbox([oom]).call('demo.oom', {}), (error) => error === 'out of memory');
});
