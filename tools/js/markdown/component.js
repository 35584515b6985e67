// The `markdown` component's entry module for componentize-js: exports the
// tools of tools.js as the `warden:tool/tool` interface.
import { exportTool } from '../sdk/bridge.js';
import { toolbox } from './tools.js';

export const tool = exportTool(toolbox, {
  warmUp: [
    ['markdown.render', {
      markdown: '# Title\n\nSome *emphasis*, **strong**, `code`, a [link](https://example.com) and "quotes" -- '
        + 'https://example.org\n\n- one\n- two\n\n1. first\n\n> quoted\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n'
        + '```js\nlet x = 1;\n```\n\n<b>raw</b> ~~struck~~\n',
      linkify: true,
      typographer: true,
    }],
    ['markdown.render', { markdown: '# Title\n\ntext' }],
    ['markdown.outline', { markdown: '# One\n## Two `x`\n# One' }],
  ],
});
