/** Light or dark: the system's preference until the person picks one (kept in localStorage). */
import { createContext, useCallback, useContext, useEffect, useState } from 'react';

export type Theme = 'light' | 'dark';
const THEME_ITEM = 'starminer.console.theme';

function initialTheme(): Theme {
  try {
    const saved = window.localStorage.getItem(THEME_ITEM);
    if (saved === 'light' || saved === 'dark') return saved;
  } catch {
    // no storage: follow the system
  }
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function useTheme(): { theme: Theme; toggle(): void } {
  const [theme, setTheme] = useState<Theme>(initialTheme);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    document.documentElement.style.colorScheme = theme;
  }, [theme]);
  const toggle = useCallback(() => {
    setTheme((t) => {
      const next: Theme = t === 'dark' ? 'light' : 'dark';
      try {
        window.localStorage.setItem(THEME_ITEM, next);
      } catch {
        // kept for this page only
      }
      return next;
    });
  }, []);
  return { theme, toggle };
}

export const ThemeContext = createContext<Theme>('light');
/** Whether charts draw for the dark theme. */
export const useDark = (): boolean => useContext(ThemeContext) === 'dark';
