/** The signed-in user, their rights, and the tab's live feed, shared through context. */
import { createContext } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';
import type { LiveFeed, LiveOf, LiveType } from '../api/live.js';
import type { Me, Role } from '../api/types.js';

export interface Session {
  me: Me;
  live: LiveFeed;
  signOut: () => Promise<void>;
  /** Reload /api/me (after enrolling TOTP, for instance). */
  refresh: () => Promise<void>;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in tree');
  return session;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether the user's role reaches `role`; the API checks again on every write. */
export function can(me: Me, role: Role): boolean {
  return RANK[me.role] >= RANK[role];
}

export function isPlatformAdmin(me: Me): boolean {
  return me.tenantId === null && me.role === 'admin';
}

/** Calls `handler` for each live message of `type` while the component is mounted. */
export function useLive<T extends LiveType>(type: T, handler: (message: LiveOf<T>) => void): void {
  const { live } = useSession();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => live.on(type, (m) => ref.current(m)), [live, type]);
}
