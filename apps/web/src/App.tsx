import { HearthProvider, useAuth } from '@hearth/react';
import { AuthForm } from './AuthForm';
import { Workspace } from './Workspace';

function Root() {
  const auth = useAuth();
  if (auth.status === 'loading') return <p className="muted auth">Loading…</p>;
  // The form signs in through this same hook, so the page re-renders here when it has.
  return auth.user ? <Workspace /> : <AuthForm auth={auth} />;
}

/** The API is this page's own origin: the server serves the app, and `pnpm dev` proxies to it. */
export function App() {
  return (
    <HearthProvider url={window.location.origin}>
      <Root />
    </HearthProvider>
  );
}
