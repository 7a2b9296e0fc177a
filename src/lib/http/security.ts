/** Security headers: helmet with a Content-Security-Policy that allows no inline script. */
import helmet from 'helmet';

export function securityHeaders(opts: { hsts: boolean }) {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'font-src': ["'self'"],
        'connect-src': ["'self'"],
        'frame-src': ["'self'"],
        'object-src': ["'none'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'self'"],
        'upgrade-insecure-requests': opts.hsts ? [] : null,
      },
    },
    strictTransportSecurity: opts.hsts,
    crossOriginEmbedderPolicy: false,
  });
}
