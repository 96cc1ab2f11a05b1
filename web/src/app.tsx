/**
 * The app: who is signed in (GET /api/me), the sign-in page when nobody is,
 * otherwise the shell with its pages and the tab's live feed.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, setUnauthenticatedHandler } from './api/http.js';
import { LiveFeed } from './api/live.js';
import type { Me } from './api/types.js';
import { Shell } from './components/shell.js';
import { Loading } from './components/ui.js';
import { SignIn } from './pages/sign-in.js';
import { navigate } from './lib/router.js';
import { SessionContext, type Session } from './lib/session.js';

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const live = useMemo(() => new LiveFeed(), []);

  useEffect(() => {
    setUnauthenticatedHandler(() => setMe(null));
    api.get<Me>('/api/me', { expect401: true }).then(setMe, () => setMe(null));
  }, []);

  useEffect(() => {
    if (me) live.start();
    else live.stop();
  }, [me, live]);

  const session = useMemo<Session | undefined>(
    () =>
      me
        ? {
            me,
            live,
            signOut: async () => {
              await api.post('/api/auth/logout', undefined, { expect401: true }).catch(() => undefined);
              setMe(null);
              navigate('/');
            },
            refresh: async () => setMe(await api.get<Me>('/api/me')),
          }
        : undefined,
    [me, live],
  );

  if (me === undefined) return <Loading />;
  if (!session) return <SignIn onSignedIn={setMe} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell />
    </SessionContext.Provider>
  );
}
