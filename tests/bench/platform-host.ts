/**
 * The built-in LTI platform served on its own, in its own process, for `npm run bench`: one platform
 * instance per tool under test (each with its own database and issuer), plus a small control API the
 * bench driver uses (register, seed learners, key-set latency, counters).
 *
 * Environment: PORT, MONGODB_BASE_URI (no database name), TOOLS = "name=url,name=url".
 */
import express from 'express';
import { engine } from 'express-handlebars';
import mongoose from 'mongoose';
import { createDevPlatform, devPlatformDirectory, type DevPlatform } from '../../src/devplatform';
import { createLogger } from '../../src/shared/logger';
import { fromRoot } from '../../src/shared/paths';
import { viewHelpers } from '../../src/web/view-helpers';

interface Hosted {
  name: string;
  platform: DevPlatform;
  connection: mongoose.Connection;
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT);
  const base = process.env.MONGODB_BASE_URI ?? '';
  const tools = (process.env.TOOLS ?? '').split(',').map((pair) => pair.split('=') as [string, string]);
  const logger = createLogger((process.env.LOG_LEVEL ?? 'warn') as 'warn');
  const platformUrl = `http://127.0.0.1:${port}`;
  let jwksDelayMs = 0;

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.engine(
    'hbs',
    engine({
      extname: '.hbs',
      defaultLayout: 'main',
      layoutsDir: fromRoot('views', 'layouts'),
      partialsDir: fromRoot('views', 'partials'),
      helpers: viewHelpers,
    }),
  );
  app.set('view engine', 'hbs');
  app.set('views', fromRoot('views'));
  // The platform is not what is measured: compile its templates once.
  app.enable('view cache');

  const hosted: Hosted[] = [];
  for (const [name, toolUrl] of tools) {
    const connection = await mongoose.createConnection(`${base}/bench_platform_${name}`).asPromise();
    const platform = createDevPlatform({ connection, toolUrl, platformUrl: `${platformUrl}/${name}`, logger });
    hosted.push({ name, platform, connection });
    // Key-set latency knob: an LMS whose JWKS endpoint is slow (e.g. 100 ms across the internet).
    app.use(`/${name}/:shape/jwks`, (_req, _res, next) => {
      if (jwksDelayMs > 0) setTimeout(next, jwksDelayMs);
      else next();
    });
    app.use(`/${name}`, platform.router);
  }
  const find = (name: unknown): Hosted => {
    const h = hosted.find((x) => x.name === name);
    if (!h) throw new Error(`no platform ${String(name)}`);
    return h;
  };

  const control = express.Router();
  control.use(express.json());
  control.post('/jwks-delay', (req, res) => {
    jwksDelayMs = Number(req.body.ms ?? 0);
    res.json({ jwksDelayMs });
  });
  control.post('/register', async (req, res, next) => {
    try {
      const h = find(req.body.tool);
      await h.platform.registerWithTool();
      res.json({ canvas: await h.platform.registration('canvas'), moodle: await h.platform.registration('moodle') });
    } catch (error) {
      next(error);
    }
  });
  // Adds n learners (bench-0 … bench-n-1) to a course, so passback and launches cover many people.
  control.post('/seed-learners', async (req, res, next) => {
    try {
      const h = find(req.body.tool);
      const shape = String(req.body.shape) as 'canvas' | 'moodle';
      const contextId = String(req.body.contextId);
      const n = Number(req.body.n);
      const db = h.connection.db!;
      const users = [];
      const enrollments = [];
      for (let i = 0; i < n; i += 1) {
        const userId = `bench-${shape}-${i}`;
        users.push({
          updateOne: {
            filter: { _id: `${shape}:${userId}` },
            update: {
              $set: {
                shape,
                userId,
                key: userId,
                loginHint: userId,
                name: `Bench Coach ${i}`,
                givenName: 'Bench',
                familyName: `Coach ${i}`,
                email: `bench.coach${i}@example.edu`,
                siteAdmin: false,
              },
            },
            upsert: true,
          },
        });
        enrollments.push({
          updateOne: {
            filter: { _id: `${contextId}:${userId}` },
            update: { $set: { shape, contextId, userId, role: 'learner', status: 'Active', position: 1000 + i } },
            upsert: true,
          },
        });
      }
      await db.collection('devplatform_users').bulkWrite(users as never, { ordered: false });
      await db.collection('devplatform_enrollments').bulkWrite(enrollments as never, { ordered: false });
      res.json({ seeded: n });
    } catch (error) {
      next(error);
    }
  });
  control.get('/stats', async (req, res, next) => {
    try {
      const h = find(req.query.tool);
      const contextId = typeof req.query.contextId === 'string' ? req.query.contextId : undefined;
      const db = h.connection.db!;
      const filter = contextId ? { contextId } : {};
      res.json({
        jwks: h.platform.stats.jwksRequests(),
        tokens: h.platform.stats.tokenRequests(),
        lineItems: await db.collection('devplatform_lineitems').countDocuments(filter),
        scores: await db.collection('devplatform_scores').countDocuments(filter),
        results: await db.collection('devplatform_results').countDocuments(filter),
      });
    } catch (error) {
      next(error);
    }
  });
  control.post('/reset-stats', (req, res) => {
    find(req.body.tool).platform.stats.reset();
    res.json({ ok: true });
  });
  control.get('/directory', (_req, res) => {
    res.json(devPlatformDirectory());
  });
  app.use('/control', control);
  app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: error.message });
  });

  app.listen(port, '127.0.0.1', () => {
    process.stdout.write(`platform listening on ${platformUrl}\n`);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`platform host failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
