import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { Account, StarMinerClient } from '@starminer/sdk';
import { requesterClient } from './api';

/** sessionStorage: the key lasts as long as this tab, and goes with it. */
const API_KEY_ITEM = 'starminer.console.apiKey';
const ACCOUNT_REFRESH_MS = 10_000;

export interface Session {
  apiKey: string | null;
  account: Account | null;
  /** a client with the API key (or none, for public reads) */
  client: StarMinerClient;
  /** a client without a key: the public market */
  publicClient: StarMinerClient;
  signIn(apiKey: string): Promise<void>;
  signOut(): void;
  refreshAccount(): void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

function storedKey(): string | null {
  try {
    return window.sessionStorage.getItem(API_KEY_ITEM);
  } catch {
    return null;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [apiKey, setApiKey] = useState<string | null>(storedKey);
  const [account, setAccount] = useState<Account | null>(null);
  const [tick, setTick] = useState(0);
  const client = useMemo(() => requesterClient(apiKey ?? undefined), [apiKey]);
  const publicClient = useMemo(() => requesterClient(), []);

  // the org and its balance, now and every few seconds while signed in
  useEffect(() => {
    if (!apiKey) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async (): Promise<void> => {
      try {
        setAccount(await client.getAccount({ signal: controller.signal }));
      } catch {
        // a passing failure keeps the last figures; a refused key shows on the next sign-in
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void read(), ACCOUNT_REFRESH_MS);
    };
    void read();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [apiKey, client, tick]);

  const signIn = useCallback(async (key: string) => {
    const trimmed = key.trim();
    const acc = await requesterClient(trimmed).getAccount();
    try {
      window.sessionStorage.setItem(API_KEY_ITEM, trimmed);
    } catch {
      // storage refused (a private window): the key lasts until reload
    }
    setAccount(acc);
    setApiKey(trimmed);
  }, []);

  const signOut = useCallback(() => {
    try {
      window.sessionStorage.removeItem(API_KEY_ITEM);
    } catch {
      // nothing stored
    }
    setApiKey(null);
    setAccount(null);
  }, []);

  const refreshAccount = useCallback(() => setTick((t) => t + 1), []);
  const value = useMemo<Session>(() => ({ apiKey, account, client, publicClient, signIn, signOut, refreshAccount }), [apiKey, account, client, publicClient, signIn, signOut, refreshAccount]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
