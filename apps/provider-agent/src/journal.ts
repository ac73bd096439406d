import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { DoneJournal } from './agent';

/** Finished job ids in a JSON file, written atomically (temp file + rename). */
export function fileJournal(file: string): DoneJournal {
  return {
    load: () => {
      if (!existsSync(file)) return [];
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
    },
    save: (ids) => {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(ids), { mode: 0o600 });
      renameSync(tmp, file);
    },
  };
}
