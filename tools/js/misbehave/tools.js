// `jsmisbehave`: a JavaScript component that breaks its limits on purpose,
// for the tests that prove the sandbox holds against a JS engine in wasm.
import { Toolbox, defineTool, log, z } from '../sdk/index.js';

const spin = defineTool({
  name: 'jsmisbehave.spin',
  description: 'Loops forever: ends at the call\'s timeout or when its fuel runs out.',
  inputSchema: z.object({}),
  handler() {
    let count = 0;
    for (;;) {
      count += 1;
    }
  },
});

const hog = defineTool({
  name: 'jsmisbehave.hog',
  description: 'Allocates memory until the call\'s memory limit refuses more.',
  inputSchema: z.object({ chunkBytes: z.number().int().min(1).default(1 << 20) }),
  handler({ chunkBytes }) {
    const kept = [];
    for (;;) {
      kept.push(new Uint8Array(chunkBytes).fill(1));
    }
  },
});

const fail = defineTool({
  name: 'jsmisbehave.fail',
  description: 'Throws a RangeError with `message`.',
  inputSchema: z.object({ message: z.string() }),
  handler({ message }) {
    throw new RangeError(message);
  },
});

const flood = defineTool({
  name: 'jsmisbehave.flood',
  description: 'Sends `count` log messages.',
  inputSchema: z.object({ count: z.number().int().min(0) }),
  handler({ count }) {
    for (let index = 0; index < count; index += 1) {
      log('info', `message ${index}`);
    }
    return `sent ${count} log messages`;
  },
});

export const toolbox = new Toolbox([spin, hog, fail, flood]);
