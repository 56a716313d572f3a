/**
 * A tiny History-API router for the dashboard under `/ui/`: the server answers every client
 * route with index.html, so `/ui/devices/vin-1` can be bookmarked and reloaded.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui';

const listeners = new Set<() => void>();

/** The current route: the path below `/ui` and the query string. */
export function currentRoute(): { path: string; search: URLSearchParams } {
  const path = location.pathname.startsWith(BASE)
    ? location.pathname.slice(BASE.length) || '/'
    : '/';
  return { path, search: new URLSearchParams(location.search) };
}

/** Go to a route below `/ui` (`/devices?model=gw-200`). */
export function navigate(to: string, replace = false): void {
  const url = `${BASE}${to}`;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const listener of listeners) listener();
  if (!replace) window.scrollTo(0, 0);
}

/** Re-render on every navigation. */
export function useRoute(): { path: string; search: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = () => setTick((n) => n + 1);
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return currentRoute();
}

/** A link inside the dashboard: a real `<a href>` (keyboard, middle click) without reloads. */
export function Link(
  props: { to: string; children: ComponentChildren } & Omit<
    JSX.HTMLAttributes<HTMLAnchorElement>,
    'href'
  >,
) {
  const { to, children, ...rest } = props;
  return (
    <a
      {...rest}
      href={`${BASE}${to}`}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
