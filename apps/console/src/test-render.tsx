import type { ReactNode } from 'react';
import { act } from 'react';
import { createRoot } from 'react-dom/client';

// React's act() environment: renders and effects settle before a test reads the DOM.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/** Renders into a fresh container of the test's DOM (happy-dom) and returns it. */
export const render = (node: ReactNode): HTMLElement => {
  const container = document.createElement('div');
  document.body.replaceChildren(container);
  act(() => createRoot(container).render(node));
  return container;
};

export const texts = (root: ParentNode, selector: string) =>
  [...root.querySelectorAll(selector)].map((element) => element.textContent?.trim());
