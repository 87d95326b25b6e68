import MarkdownIt from 'markdown-it';

/** Content Markdown → HTML. Raw HTML in content is not rendered, so content cannot inject markup. */
const md = new MarkdownIt({ html: false, linkify: false, typographer: true });

export function renderMarkdown(source: string): string {
  return md.render(source);
}
