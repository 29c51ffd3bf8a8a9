import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, type ReactNode } from 'react';
import { api, ApiError } from '../api/client';
import type { CurrentUser } from '../api/types';

interface Session {
  user: CurrentUser | null;
  loading: boolean;
  signIn(principal: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  refresh(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

async function currentUser(): Promise<CurrentUser | null> {
  try {
    return await api.get<CurrentUser>('/users/current');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

/** Who is signed in, from /users/current; null for an anonymous visitor. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const query = useQuery({ queryKey: ['session'], queryFn: currentUser, staleTime: 60_000 });
  const session: Session = {
    user: query.data ?? null,
    loading: query.isPending,
    async signIn(principal, password) {
      await api.signIn(principal, password);
      client.clear();
      await query.refetch();
    },
    async signOut() {
      if (query.data?.oidc_user_meta) {
        // An OIDC user leaves through the server, which may end the provider's session too
        // (oidc_logout) and comes back to /sign-in: a full-page navigation that never returns.
        window.location.assign('/c/oidc/logout');
        return new Promise<never>(() => {});
      }
      await api.signOut();
      // The signed-in pages unmount once the session is gone; clearing the cache now would make
      // them refetch without a session first. Signing in clears it.
      client.setQueryData(['session'], null);
    },
    async refresh() {
      await query.refetch();
    },
  };
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
