/** `npm start` warns before serving the network without HTTPS. */
import { exposureWarnings, isLoopbackHost, publicUrlWarnings } from '../../scripts/exposure';
import { loadConfig } from '../../src/config';

const base = { port: 3000, publicUrl: 'http://localhost:3000', secureCookies: false, trustProxy: undefined };

it('knows loopback hosts from network ones', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) expect(isLoopbackHost(h)).toBe(true);
  for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'registry.example.cn', '128.0.0.1']) expect(isLoopbackHost(h)).toBe(false);
});

it('says nothing on loopback, even over plain HTTP', () => {
  expect(exposureWarnings({ ...base, host: '127.0.0.1' })).toEqual([]);
  expect(exposureWarnings({ ...base, host: 'localhost' })).toEqual([]);
});

it('warns when serving the network over plain HTTP', () => {
  const [line, ...rest] = exposureWarnings({ ...base, host: '0.0.0.0' });
  expect(line).toMatch(/WARNING: serving to the network \(HOST=0\.0\.0\.0, port 3000\) without HTTPS \(PUBLIC_URL is http:\/\/localhost:3000\)/);
  expect(rest).toEqual([]);
});

it('behind HTTPS, warns about cookies without Secure and a missing TRUST_PROXY, and is quiet when both are set', () => {
  const https = { ...base, host: '0.0.0.0', publicUrl: 'https://registry.example.cn' };
  const lines = exposureWarnings(https);
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/SECURE_COOKIES=true/);
  expect(lines[1]).toMatch(/TRUST_PROXY is not set/);
  expect(exposureWarnings({ ...https, secureCookies: true, trustProxy: '1' })).toEqual([]);
});

describe('PUBLIC_URL and the certificate QR code', () => {
  const env = { MONGODB_URI: 'mongodb://127.0.0.1/x', REDIS_URL: 'redis://127.0.0.1', SESSION_SECRET: 'x'.repeat(32), PORT: '3000' };

  it('warns when PUBLIC_URL is unset: the QR code would point to localhost', () => {
    const config = loadConfig(env);
    expect(config.publicUrl).toBe('http://localhost:3000');
    const lines = publicUrlWarnings(config, env);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^WARNING: PUBLIC_URL is not set \(so http:\/\/localhost:3000\): the QR codes on registration certificates/);
    expect(lines[0]).toMatch(/Set PUBLIC_URL/);
  });

  it('warns when PUBLIC_URL is set to a loopback address too', () => {
    const set = { ...env, PUBLIC_URL: 'http://127.0.0.1:8080' };
    const [line] = publicUrlWarnings(loadConfig(set), set);
    expect(line).toMatch(/^WARNING: PUBLIC_URL is http:\/\/127\.0\.0\.1:8080: /);
    expect(publicUrlWarnings({ publicUrl: 'http://[::1]:3000' }, { PUBLIC_URL: 'http://[::1]:3000' })).toHaveLength(1);
  });

  it('is quiet when PUBLIC_URL is the public address, whatever the host the app listens on', () => {
    const set = { ...env, PUBLIC_URL: 'https://registry.example.cn', HOST: '127.0.0.1' };
    expect(publicUrlWarnings(loadConfig(set), set)).toEqual([]);
    expect(publicUrlWarnings({ publicUrl: 'http://10.1.2.3:3000' }, { PUBLIC_URL: 'http://10.1.2.3:3000' })).toEqual([]);
  });
});
