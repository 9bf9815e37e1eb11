// A real OpenID provider for gatehouse's end-to-end tests: panva's
// OpenID-certified oidc-provider (the version pinned in package-lock.json),
// configured from a JSON file and served on 127.0.0.1 only.
//
// Usage: node provider.mjs CONFIG.json
//
// The Go harness (internal/idptest) writes CONFIG.json and starts this
// script. The contract between them:
//
//   - An HTTP server is bound to 127.0.0.1 on a port the kernel picks, and
//     only then is the Provider made, with issuer http://127.0.0.1:PORT.
//   - When it is ready, exactly one line goes to stdout: {"issuer":"..."}.
//     Everything else (oidc-provider's warnings, request errors) goes to
//     stderr.
//   - It exits when its stdin closes, so it never outlives the test process
//     that started it, and on SIGTERM or SIGINT.
//
// CONFIG.json:
//
//   {
//     "clients": [{"client_id", "client_secret"?, "token_endpoint_auth_method"?,
//                  "redirect_uris", "application_type", "grant_types"?,
//                  "response_types"?}, ...],   // oidc-provider client metadata
//     "users":   [{"login", "sub", "email", "email_verified", "name"}, ...],
//     "jwks":    {"keys": [private JWK, ...]}, // the ID token signing keys
//     "ttl":     {"IdToken": 3600, ...}        // optional, seconds
//   }
//
// Sign-in uses oidc-provider's development interactions: its own login form
// (fields "login" and "password") and consent page. The form accepts any
// password; the login must be a configured user's login or sub, and is
// turned into that user's sub before oidc-provider sees it, because
// oidc-provider takes the typed login as the account ID, and the account ID
// is the ID token's sub. An unknown login gets a 400 page that says so.
//
// Redirect URIs of native clients (application_type "native") that use
// http on a loopback host (127.0.0.1, [::1], localhost) match with any
// port, as RFC 8252 section 7.3 asks: oidc-provider 9 compares them with
// the port removed. Web clients' redirect URIs match exactly.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import * as querystring from 'node:querystring';

import Provider from 'oidc-provider';

function log(...args) {
  console.error('idptest provider:', ...args);
}

function fail(message) {
  log(message);
  process.exit(1);
}

if (process.argv.length !== 3) {
  fail('usage: node provider.mjs CONFIG.json');
}

let config;
try {
  config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (err) {
  fail(`cannot read the configuration ${process.argv[2]}: ${err.message}`);
}

const users = config.users ?? [];
const bySub = new Map(users.map((u) => [u.sub, u]));

// findUser resolves what a person typed into the login form: a login or a sub.
function findUser(login) {
  return users.find((u) => u.login === login) ?? bySub.get(login);
}

// Stop when the Go test that started us goes away, whichever way it goes.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}

let handler;
const server = createServer((req, res) => handler(req, res));
server.on('clientError', (err, socket) => socket.destroy(err));

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: config.clients ?? [],
    jwks: config.jwks,
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // The ID token of the code flow carries the scopes' claims too, not
    // only the UserInfo endpoint.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: true },
    },
    pkce: { required: () => true },
    ...(config.ttl ? { ttl: config.ttl } : {}),
    async findAccount(_ctx, id) {
      const user = bySub.get(id);
      if (!user) {
        return undefined;
      }
      return {
        accountId: user.sub,
        async claims() {
          return {
            sub: user.sub,
            email: user.email,
            email_verified: user.email_verified,
            name: user.name,
          };
        },
      };
    },
  });

  provider.on('server_error', (_ctx, err) => log('server error:', err));

  // The dev login form's "login" field becomes the account ID as typed;
  // map it to the user's sub here, and refuse unknown logins in plain words.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)
        && ctx.is('application/x-www-form-urlencoded')) {
      const chunks = [];
      for await (const chunk of ctx.req) {
        chunks.push(chunk);
      }
      const form = querystring.parse(Buffer.concat(chunks).toString('utf8'));
      if (form.prompt === 'login') {
        const user = findUser(String(form.login ?? ''));
        if (!user) {
          ctx.status = 400;
          ctx.type = 'text/plain';
          ctx.body = `idptest: no user with login or sub ${JSON.stringify(form.login)}`;
          return undefined;
        }
        form.login = user.sub;
      }
      // oidc-provider reads an already-read body from req.body.
      ctx.req.body = querystring.stringify(form);
    }
    return next();
  });

  // oidc-provider checks a client's metadata when the client is first
  // used; check them all now, so that a bad one fails the start.
  for (const { client_id: id } of config.clients ?? []) {
    try {
      if (!await provider.Client.find(id)) {
        fail(`client ${JSON.stringify(id)} not found`);
      }
    } catch (err) {
      fail(`client ${JSON.stringify(id)}: ${err.error_description ?? err.message}`);
    }
  }

  handler = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

server.on('error', (err) => fail(`cannot serve on 127.0.0.1: ${err.message}`));
