import MarkdownIt from 'markdown-it';

/**
 * Markdown of chat messages as safe HTML: raw HTML in the text is shown as text, links only to
 * `http(s):`/`mailto:` (markdown-it drops `javascript:`, `vbscript:`, `file:` and `data:` links), and
 * no images (a remote image would tell its server who reads the transcript, and when).
 */
const markdown = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false });
markdown.disable(['image']);
markdown.validateLink = (url: string) => /^(https?:|mailto:|#)/i.test(url.trim());

const defaultLinkOpen =
  markdown.renderer.rules['link_open'] ??
  ((tokens, index, options, _env, self) => self.renderToken(tokens, index, options));
markdown.renderer.rules['link_open'] = (tokens, index, options, env, self) => {
  const token = tokens[index];
  token?.attrSet('rel', 'nofollow noopener noreferrer');
  return defaultLinkOpen(tokens, index, options, env, self);
};

/** Rendered Markdown (already escaped, so it goes into a page with `raw`). */
export function renderMarkdown(text: string): string {
  return markdown.render(text);
}
