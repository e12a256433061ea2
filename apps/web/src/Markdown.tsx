import { memo, useMemo } from 'react';
import { renderMarkdown } from './markdown';

/** A message body: Markdown rendered to sanitised HTML (raw HTML in the text is shown as text). */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  // Safe to set: renderMarkdown escapes raw HTML and DOMPurify sanitises what Markdown made.
  return <div className="body" dangerouslySetInnerHTML={{ __html: html }} />;
});
