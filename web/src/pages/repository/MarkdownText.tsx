import { Anchor, Title, Typography, type TitleOrder } from '@mantine/core';
import type { ReactNode } from 'react';
import Markdown from 'react-markdown';

function headingLevels(text: string): number {
  let min = 6;
  for (const match of text.matchAll(/^ {0,3}(#{1,6})\s/gm)) min = Math.min(min, match[1].length);
  if (/^[^\n]+\n=+\s*$/m.test(text)) min = 1;
  else if (min > 2 && /^[^\n-][^\n]*\n-{2,}\s*$/m.test(text)) min = 2;
  return min;
}

/**
 * Markdown from a user (a description, a chart's README): headings are moved down so the
 * document's top level becomes `top` (the page keeps its one h1 and its heading order).
 */
export function MarkdownText({ children, top = 3 }: { children: string; top?: TitleOrder }) {
  const shift = top - headingLevels(children);
  const heading = (level: number) =>
    function Heading({ children: content }: { children?: ReactNode }) {
      const order = Math.min(6, Math.max(top, level + shift)) as TitleOrder;
      return <Title order={order}>{content}</Title>;
    };
  return (
    <Typography>
      <Markdown
        components={{
          h1: heading(1),
          h2: heading(2),
          h3: heading(3),
          h4: heading(4),
          h5: heading(5),
          h6: heading(6),
          a: ({ href, children: content }) => (
            <Anchor href={href} target="_blank" rel="noopener noreferrer" style={{ textDecoration: 'underline' }}>
              {content}
            </Anchor>
          ),
        }}
      >
        {children}
      </Markdown>
    </Typography>
  );
}
