/**
 * What `npm start` warns about before it serves: the registry listening beyond this machine
 * without HTTPS in front of it, and links meant for other people (the certificate's QR code)
 * that would point to this machine. The app itself speaks plain HTTP; HTTPS comes from a reverse
 * proxy, which PUBLIC_URL, SECURE_COOKIES and TRUST_PROXY describe. Pure: settings in, lines out.
 */
import type { Config } from '../src/config';

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

export function exposureWarnings(c: Pick<Config, 'host' | 'port' | 'publicUrl' | 'secureCookies' | 'trustProxy'>): string[] {
  if (isLoopbackHost(c.host)) return [];
  const where = `HOST=${c.host}`;
  if (!c.publicUrl.toLowerCase().startsWith('https://')) {
    return [
      `WARNING: serving to the network (${where}, port ${c.port}) without HTTPS (PUBLIC_URL is ${c.publicUrl}): ` +
        'passwords, session cookies and API tokens cross the network readable by anyone on the way. ' +
        'Put a TLS-terminating reverse proxy in front and set PUBLIC_URL=https://…, SECURE_COOKIES=true and TRUST_PROXY, ' +
        'or set HOST=127.0.0.1 to serve this machine only.',
    ];
  }
  const warnings: string[] = [];
  if (!c.secureCookies) {
    warnings.push(`WARNING: ${where} behind ${c.publicUrl}, but cookies are sent without the Secure flag: set SECURE_COOKIES=true (NODE_ENV=production does too).`);
  }
  if (!c.trustProxy) {
    warnings.push(
      `WARNING: ${where} behind ${c.publicUrl}, but TRUST_PROXY is not set: every client will seem to come from the proxy's ` +
        'address and share its per-address limits (sign-in, sign-up, live streams). Set TRUST_PROXY to the number of proxies in front (e.g. 1).',
    );
  }
  return warnings;
}

/**
 * Certificates carry a QR code to PUBLIC_URL/verify/<number>, and receipts a link to the filing:
 * with PUBLIC_URL unset (or on a loopback address) they point to localhost, which works for no
 * one who scans or types them elsewhere. A certificate keeps the address it was rendered with.
 */
export function publicUrlWarnings(c: Pick<Config, 'publicUrl'>, env: Readonly<Record<string, string | undefined>> = {}): string[] {
  let host: string;
  try {
    host = new URL(c.publicUrl).hostname;
  } catch {
    return [];
  }
  if (!isLoopbackHost(host)) return [];
  const setting = env.PUBLIC_URL ? `PUBLIC_URL is ${c.publicUrl}` : `PUBLIC_URL is not set (so ${c.publicUrl})`;
  return [
    `WARNING: ${setting}: the QR codes on registration certificates and the links on receipts point to this machine, ` +
      'and nobody else can open them. Set PUBLIC_URL to the address the public reaches the registry at (e.g. https://registry.example.cn) ' +
      'before registering contracts: a certificate keeps the address it was made with.',
  ];
}
