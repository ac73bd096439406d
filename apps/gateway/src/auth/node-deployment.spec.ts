import { defaultPublicOrigins, PUBLIC_ORIGINS_MAX, publicOriginsSchema } from './node-deployment';

describe('GATEWAY_PUBLIC_ORIGIN', () => {
  it('given a comma-separated list, gives each origin normalized, once', () => {
    expect(publicOriginsSchema.parse('HTTPS://Gateway.Example.com:443/, http://gateway ,https://gateway.example.com')).toEqual(['https://gateway.example.com', 'http://gateway']);
  });

  it.each([['ftp://gateway'], ['gateway:8080'], [' , '], [Array.from({ length: PUBLIC_ORIGINS_MAX + 1 }, (_, i) => `http://g${i}`).join(',')]])('given %j, refuses', (raw) => {
    expect(publicOriginsSchema.safeParse(raw).success).toBe(false);
  });
});

describe('defaultPublicOrigins', () => {
  it.each([['127.0.0.1'], ['localhost'], ['0.0.0.0'], ['::'], ['::1']])('given the loopback or wildcard host %s, gives 127.0.0.1 and localhost at the bound port', (host) => {
    expect(defaultPublicOrigins(host, 41234)).toEqual(['http://127.0.0.1:41234', 'http://localhost:41234']);
  });

  it('given another host, gives it (an IPv6 literal in brackets)', () => {
    expect(defaultPublicOrigins('gateway.internal', 8080)).toEqual(['http://gateway.internal:8080']);
    expect(defaultPublicOrigins('fd00::5', 8080)).toEqual(['http://[fd00::5]:8080']);
  });
});
