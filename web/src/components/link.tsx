import type { ComponentChildren } from 'preact';
import { followLink } from '../lib/router.js';

export function Link(props: {
  href: string;
  children: ComponentChildren;
  class?: string;
  'aria-current'?: 'page' | undefined;
  'data-testid'?: string;
}) {
  const { href, children, ...rest } = props;
  return (
    <a href={href} onClick={(e) => followLink(e, href)} {...rest}>
      {children}
    </a>
  );
}
