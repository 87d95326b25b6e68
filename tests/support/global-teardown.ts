export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __embeddedMongo__?: { stop(): Promise<void> } }).__embeddedMongo__;
  await server?.stop();
}
