import { describe, expect, it } from 'vitest';
import { loadGatewayConfig, messageLimits } from './config';

describe("the gateway's settings", () => {
  it('default to localhost:8080 with the local origins and the rate limit on', () => {
    const config = loadGatewayConfig({});
    expect([config.gatewayHost, config.gatewayPort, config.gatewayRateLimit, config.gatewayRateWindowSeconds]).toEqual(['localhost', 8080, 300, 60]);
    expect(config.gatewayCorsOrigins).toContain('http://localhost:8080');
  });

  it('read a comma-separated origin list, frozen', () => {
    const config = loadGatewayConfig({ NST_GATEWAY_CORS_ORIGINS: 'https://a.example, https://b.example', NST_GATEWAY_PORT: '9090' });
    expect(config.gatewayCorsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(Object.isFrozen(config.gatewayCorsOrigins)).toBe(true);
    expect(config.gatewayPort).toBe(9090);
  });

  it('refuse a port out of range, naming the variable', () => {
    expect(() => loadGatewayConfig({ NST_GATEWAY_PORT: 'eighty' })).toThrow(/NST_GATEWAY_PORT="eighty" must be a whole number/);
    expect(() => loadGatewayConfig({ NST_GATEWAY_PORT: '70000' })).toThrow(/at most 65535/);
  });

  it('size messages from the core upload and chunk settings', () => {
    expect(messageLimits(loadGatewayConfig({ NST_MAX_UPLOAD_BYTES: '1000000' })).maxRequestBytes).toBe(1_000_000 + 64 * 1024);
  });
});
