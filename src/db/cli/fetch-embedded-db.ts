import { defaultJarsDir, ensureJars } from '../embedded/embedded-mongo';

/** npm run db:fetch: downloads mongo-java-server's jars once, so later starts work offline. */
try {
  ensureJars();
  process.stdout.write(`embedded database jars ready in ${defaultJarsDir}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
}
