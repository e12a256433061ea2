import { useCallback, useEffect, useState } from 'react';

export type Route = 'chat' | 'usage';

const routeOf = (pathname: string): Route => (pathname.replace(/\/+$/, '') === '/usage' ? 'usage' : 'chat');

/** Two pages, so the History API is all the router needed; the server answers /usage with the app. */
export function useRoute(): [Route, (route: Route) => void] {
  const [route, setRoute] = useState<Route>(() => routeOf(window.location.pathname));
  useEffect(() => {
    const onPop = () => setRoute(routeOf(window.location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((next: Route) => {
    const path = next === 'usage' ? '/usage' : '/';
    if (window.location.pathname !== path) window.history.pushState(null, '', path);
    setRoute(next);
  }, []);
  return [route, navigate];
}
