// A real Better Auth server configured like Tenure's main app (user table `users`, uuid ids,
// snake_case columns), for the payout service's interop test and benchmark.
// Env: DATABASE_URL, BETTER_AUTH_SECRET, PORT. Prints "listening <port>" when ready.
import http from "node:http";
import crypto from "node:crypto";
import pg from "pg";
import { betterAuth } from "better-auth";
import { bearer } from "better-auth/plugins";
import { toNodeHandler } from "better-auth/node";

const port = Number(process.env.PORT || 0);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

export const auth = betterAuth({
  database: pool,
  secret: process.env.BETTER_AUTH_SECRET,
  baseURL: process.env.BETTER_AUTH_URL || `http://127.0.0.1:${port}`,
  trustedOrigins: ["http://127.0.0.1", "http://localhost"],
  emailAndPassword: { enabled: true, autoSignIn: true, requireEmailVerification: false },
  user: {
    modelName: "users",
    fields: { emailVerified: "email_verified", createdAt: "created_at", updatedAt: "updated_at" },
  },
  session: {
    modelName: "session",
    fields: {
      expiresAt: "expires_at", createdAt: "created_at", updatedAt: "updated_at",
      ipAddress: "ip_address", userAgent: "user_agent", userId: "user_id",
    },
  },
  account: {
    modelName: "account",
    fields: {
      accountId: "account_id", providerId: "provider_id", userId: "user_id",
      accessToken: "access_token", refreshToken: "refresh_token", idToken: "id_token",
      accessTokenExpiresAt: "access_token_expires_at", refreshTokenExpiresAt: "refresh_token_expires_at",
      createdAt: "created_at", updatedAt: "updated_at",
    },
  },
  verification: {
    modelName: "verification",
    fields: { expiresAt: "expires_at", createdAt: "created_at", updatedAt: "updated_at" },
  },
  // Ids supplied by us (UUID strings): users.id is uuid, session.id and account.id are text
  // without defaults, as in production.
  advanced: { database: { generateId: () => crypto.randomUUID() } },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  plugins: [bearer()],
});

const server = http.createServer(toNodeHandler(auth));
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => server.close(() => pool.end().then(() => process.exit(0))));
}
