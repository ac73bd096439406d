import { ALL_COMMANDS, COMMAND_SUBJECT_PREFIX, COMMON_COMMAND_ERRORS, ERRORS } from './index';

describe('the command catalogue', () => {
  it('gives every command one subject, cmd.<service>.<verb>, and no two commands the same', () => {
    const subjects = ALL_COMMANDS.map((c) => c.subject);
    expect(new Set(subjects).size).toBe(subjects.length);
    for (const c of ALL_COMMANDS) expect(c.subject).toBe(`${COMMAND_SUBJECT_PREFIX}.${c.service}.${c.verb}`);
  });

  it('lists only error codes of the catalogue, none of them one every command answers anyway', () => {
    for (const c of ALL_COMMANDS) {
      for (const code of c.errors) {
        expect(ERRORS[code]).toBeDefined();
        expect(COMMON_COMMAND_ERRORS).not.toContain(code);
      }
    }
  });

  it.each(ALL_COMMANDS.map((c) => [c.subject, c] as const))('%s refuses a payload with a field it does not know', (_subject, c) => {
    const parsed = c.payload.safeParse({ surprise: true });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain('surprise');
  });
});
