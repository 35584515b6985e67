// The bridge to Warden's `warden:tool` interfaces, for the component's entry
// module only: componentize-js resolves `warden:tool/host@0.1.1` to the
// component's import, which exists nowhere else.
import * as wit from 'warden:tool/host@0.1.1';
import { z } from 'zod';
import { ClientError, RecordingHost, installHost } from './host.js';

// zod compiles a parser for each object schema on its first use (with `new
// Function`); every call starts from the snapshot in a fresh instance, so
// that compilation would be paid on every call. Its interpreter instead.
z.config({ jitless: true });

class WitHost {
  log(level, message) {
    wit.log(level, message);
  }

  reportProgress(done, total, message) {
    wit.progress(done, total, message);
  }

  askClient(requests) {
    const answers = wit.askClient(requests.map((request) => ({
      kind: request.kind,
      params: JSON.stringify(request.params),
      key: request.key,
      optional: Boolean(request.optional),
    })));
    return answers.map((answer) => (answer.tag === 'ok'
      ? JSON.parse(answer.val)
      : new ClientError(answer.val.tag, answer.val.val)));
  }
}

function witContent(item) {
  switch (item.type) {
    case 'text':
      return { tag: 'text', val: String(item.text) };
    case 'image':
    case 'audio': {
      const bytes = Uint8Array.from(atob(item.data), (char) => char.charCodeAt(0));
      return { tag: item.type, val: { data: bytes, mimeType: item.mimeType } };
    }
    default:
      return { tag: 'text', val: JSON.stringify(item) };
  }
}

/** Runs each `[name, args]` of `warmUp` once, with a RecordingHost, and
 * fails the build if one fails. The build snapshots the engine after the
 * entry module ran, so whatever these calls compiled and cached (functions
 * SpiderMonkey compiles on first call, regular expressions, lazily built
 * tables) is in the snapshot, and no call pays for it again. */
function warm(toolbox, warmUp) {
  const previous = installHost(new RecordingHost());
  try {
    for (const [name, args] of warmUp) {
      const result = toolbox.call(name, args);
      if (result.isError) {
        throw new Error(`warm-up call of ${name} failed: ${result.content.map((item) => item.text).join(' ')}`);
      }
    }
  } finally {
    installHost(previous);
  }
}

/** The `tool` interface of a component serving `toolbox`: the entry module
 * exports it as `export const tool = exportTool(toolbox, { warmUp })`.
 * `warmUp` lists representative calls, `[name, args]`, made once at build
 * time (see `warm`). */
export function exportTool(toolbox, { warmUp = [] } = {}) {
  warm(toolbox, warmUp);
  installHost(new WitHost());
  return {
    listTools() {
      return toolbox.list().map((tool) => ({
        name: tool.name,
        title: tool.title,
        description: tool.description,
        inputSchema: JSON.stringify(tool.inputSchema),
        outputSchema: tool.outputSchema === undefined ? undefined : JSON.stringify(tool.outputSchema),
        annotations: {
          readOnly: tool.annotations.readOnly,
          destructive: tool.annotations.destructive,
          idempotent: tool.annotations.idempotent,
          openWorld: tool.annotations.openWorld,
        },
      }));
    },
    callTool(name, args) {
      const result = toolbox.call(name, args);
      return {
        content: result.content.map(witContent),
        structuredContent: result.structuredContent === undefined
          ? undefined
          : JSON.stringify(result.structuredContent),
        isError: Boolean(result.isError),
      };
    },
  };
}
