import { useCallback, useEffect, useRef, useState } from 'react';
import { isAbort } from './api';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  /** true until the first answer (or error) */
  loading: boolean;
  /** when the data was last read (ms since the epoch) */
  at: number | undefined;
  refresh(): void;
}

/**
 * Reads `load` now and then every `intervalMs` after each answer (never two at once), while
 * `enabled`; a change of `key` starts over (the data of the old key is dropped). Unmounting aborts
 * the read in flight.
 */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number, key: string, enabled = true): Polled<T> {
  const [state, setState] = useState<{ key: string; data: T | undefined; error: unknown; at: number | undefined; loading: boolean }>({ key, data: undefined, error: undefined, at: undefined, loading: true });
  const loadRef = useRef(load);
  loadRef.current = load;
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const data = await loadRef.current(controller.signal);
        if (controller.signal.aborted) return;
        setState({ key, data, error: undefined, at: Date.now(), loading: false });
      } catch (error) {
        if (controller.signal.aborted || isAbort(error)) return;
        setState((s) => ({ key, data: s.key === key ? s.data : undefined, error, at: s.key === key ? s.at : undefined, loading: false }));
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void run(), intervalMs);
    };
    setState((s) => (s.key === key ? s : { key, data: undefined, error: undefined, at: undefined, loading: true }));
    void run();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [key, intervalMs, enabled, tick]);
  const refresh = useCallback(() => setTick((t) => t + 1), []);
  const current = state.key === key;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, loading: !current || state.loading, at: current ? state.at : undefined, refresh };
}

/** `value`, changed only after it stayed the same for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}
