import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toolbox } from '../tools.js';

const render = (markdown, extra = {}) => toolbox.call('markdown.render', { markdown, ...extra });

test('renders CommonMark with tables', () => {
  const result = render('# Title\n\n*em* and `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n');
  assert.equal(result.isError, false);
  const { html } = result.structuredContent;
  assert.match(html, /<h1>Title<\/h1>/);
  assert.match(html, /<em>em<\/em> and <code>code<\/code>/);
  assert.match(html, /<table>[\s\S]*<td>2<\/td>/);
});

test('raw HTML and script URLs never come through', () => {
  const { html } = render([
    '<script>alert(1)</script>',
    '<img src=x onerror="alert(1)">',
    '<a href="#" onclick="steal()">x</a>',
    '[click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=)',
    '![img](vbscript:msgbox)',
  ].join('\n\n')).structuredContent;
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<img src=x/i);
  assert.doesNotMatch(html, /<a [^>]*onclick/i);
  assert.doesNotMatch(html, /href="(javascript|data|vbscript):/i);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});

test('linkify and typographer are opt-in', () => {
  assert.doesNotMatch(render('see https://example.com').structuredContent.html, /<a /);
  assert.match(render('see https://example.com', { linkify: true }).structuredContent.html,
    /<a href="https:\/\/example.com">/);
  assert.match(render('"quoted" -- dash', { typographer: true }).structuredContent.html, /“quoted” – dash/);
});

test('refuses what is not Markdown text', () => {
  assert.equal(toolbox.call('markdown.render', { markdown: 42 }).isError, true);
  assert.equal(toolbox.call('markdown.render', {}).isError, true);
});

test('outlines headings with GitHub anchors', () => {
  const result = toolbox.call('markdown.outline', {
    markdown: '# Intro\n## Set-up `cargo`\n### Deep\n# Intro\n## Ünïcode Heading!',
    maxLevel: 2,
  });
  assert.deepEqual(result.structuredContent.headings, [
    { level: 1, text: 'Intro', anchor: 'intro' },
    { level: 2, text: 'Set-up cargo', anchor: 'set-up-cargo' },
    { level: 1, text: 'Intro', anchor: 'intro-1' },
    { level: 2, text: 'Ünïcode Heading!', anchor: 'ünïcode-heading' },
  ]);
});
