// The tools of `markdown`, a Warden tool component in JavaScript: Markdown
// rendered to HTML by markdown-it, with raw HTML turned off so that a
// document's `<script>` elements and event-handler attributes come out as
// escaped text, and links to `javascript:`, `vbscript:`, `file:` and
// non-image `data:` URLs are refused (markdown-it's link validation).
import MarkdownIt from 'markdown-it';
import { Toolbox, defineTool, log, z } from '../sdk/index.js';

/** The largest document the tools take, in UTF-16 code units. */
export const MAX_MARKDOWN_LENGTH = 1_000_000;

const markdownText = z.string().max(MAX_MARKDOWN_LENGTH).describe('The Markdown document (CommonMark, with GitHub tables and strikethrough).');

/** One renderer per combination of options, made once (at build time, in
 * the component's snapshot) rather than per call. */
const renderers = new Map();

function renderer({ linkify, typographer }) {
  const key = `${linkify}/${typographer}`;
  let made = renderers.get(key);
  if (made === undefined) {
    made = new MarkdownIt('default', { html: false, linkify, typographer });
    renderers.set(key, made);
  }
  return made;
}
for (const linkify of [false, true]) {
  for (const typographer of [false, true]) {
    renderer({ linkify, typographer });
  }
}

const render = defineTool({
  name: 'markdown.render',
  title: 'Render Markdown',
  description: 'Renders a Markdown document (CommonMark with GitHub tables and strikethrough) '
    + 'to HTML. Raw HTML in the document is escaped, never passed through, and unsafe link '
    + 'URLs (javascript:, vbscript:, file:, non-image data:) are left as text.',
  inputSchema: z.object({
    markdown: markdownText,
    linkify: z.boolean().default(false).describe('Turn bare URLs into links.'),
    typographer: z.boolean().default(false).describe('Use typographic quotes and dashes.'),
  }),
  outputSchema: z.object({
    html: z.string().describe('The rendered HTML fragment.'),
  }),
  annotations: { readOnly: true, idempotent: true, openWorld: false },
  handler({ markdown, linkify, typographer }) {
    const html = renderer({ linkify, typographer }).render(markdown);
    log('debug', `rendered ${markdown.length} characters of Markdown to ${html.length} of HTML`);
    return { html };
  },
});

/** Whether `char` is kept in an anchor: a letter (of any script), a digit,
 * `_` or `-`. (No `\p{L}` regex: the component's engine is built without
 * Unicode property tables.) */
const keptInAnchor = (char) => /[0-9_-]/.test(char) || char.toLowerCase() !== char.toUpperCase();

/** A heading's text as a URL fragment, as GitHub makes them. */
function slug(text) {
  return [...text.toLowerCase().trim().replace(/\s+/g, '-')]
    .filter(keptInAnchor)
    .join('');
}

const outline = defineTool({
  name: 'markdown.outline',
  title: 'Outline Markdown',
  description: 'Lists the headings of a Markdown document in order, with their levels and '
    + 'the anchors GitHub would give them.',
  inputSchema: z.object({
    markdown: markdownText,
    maxLevel: z.number().int().min(1).max(6).default(6).describe('The deepest heading level to list.'),
  }),
  outputSchema: z.object({
    headings: z.array(z.object({
      level: z.number().int().min(1).max(6),
      text: z.string(),
      anchor: z.string(),
    })),
  }),
  annotations: { readOnly: true, idempotent: true, openWorld: false },
  handler({ markdown, maxLevel }) {
    const tokens = renderer({ linkify: false, typographer: false }).parse(markdown, {});
    const headings = [];
    const used = new Map();
    tokens.forEach((token, index) => {
      if (token.type !== 'heading_open') {
        return;
      }
      const level = Number(token.tag.slice(1));
      const text = tokens[index + 1].children
        .filter((child) => child.type === 'text' || child.type === 'code_inline')
        .map((child) => child.content)
        .join('');
      const base = slug(text);
      const seen = used.get(base) ?? 0;
      used.set(base, seen + 1);
      if (level <= maxLevel) {
        headings.push({ level, text, anchor: seen === 0 ? base : `${base}-${seen}` });
      }
    });
    return { headings };
  },
});

export const toolbox = new Toolbox([render, outline]);
