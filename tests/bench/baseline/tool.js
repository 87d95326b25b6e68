// @ts-check
/**
 * The baseline of `npm run bench`: the smallest honest ltijs 5.9.9 tool. Dynamic Registration, launch,
 * a one-line page, and competency scores through ltijs's own Grade service (13 line items per course,
 * created once, then Grade.submitScore per learner and competency).
 *
 * Environment: PORT, TOOL_URL, MONGODB_URI, LTI_KEY.
 */
const { Provider: lti } = require('ltijs');

const port = Number(process.env.PORT);
const toolUrl = String(process.env.TOOL_URL);
/** Latest id token per course, kept from launches: what ltijs's Grade service needs to reach the LMS. */
const tokens = new Map();

lti.setup(
  String(process.env.LTI_KEY),
  { url: String(process.env.MONGODB_URI) },
  {
    appRoute: '/lti/launch',
    loginRoute: '/lti/login',
    keysetRoute: '/lti/keys',
    dynRegRoute: '/lti/register',
    cookies: { secure: false, sameSite: 'Lax' },
    dynReg: { url: toolUrl, name: 'Baseline ltijs tool', autoActivate: true, useDeepLinking: false },
  },
);

lti.onConnect((token, _req, res) => {
  tokens.set(token.platformContext.context.id, token);
  return res.send(`<!doctype html><title>Baseline</title><p>Hello ${token.userInfo.name ?? token.user}</p>`);
});

lti.whitelist('/bench/passback');

/** Sends scores for every learner × competency with 8 requests in flight; creates missing line items first. */
lti.app.post('/bench/passback', async (req, res) => {
  try {
    const { contextId, users, competencies } = req.body;
    const token = tokens.get(contextId);
    if (!token) return res.status(409).json({ error: 'launch the course first' });
    const lineItems = new Map();
    for (const id of competencies) {
      const found = await lti.Grade.getLineItems(token, { resourceId: id });
      let item = found.lineItems[0];
      if (!item)
        item = await lti.Grade.createLineItem(token, { scoreMaximum: 100, label: `Competency ${id}`, resourceId: id, tag: 'competency' });
      lineItems.set(id, item.id);
    }
    const jobs = [];
    for (const userId of users) for (const id of competencies) jobs.push([userId, id]);
    let next = 0;
    let failed = 0;
    const stamp = Date.now();
    const sendOne = async () => {
      for (;;) {
        const i = next++;
        if (i >= jobs.length) return;
        const [userId, id] = jobs[i];
        try {
          await lti.Grade.submitScore(token, lineItems.get(id), {
            userId,
            scoreGiven: (i * 7) % 100,
            scoreMaximum: 100,
            activityProgress: 'InProgress',
            gradingProgress: 'FullyGraded',
            timestamp: new Date(stamp + i).toISOString(),
          });
        } catch {
          failed += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, sendOne));
    return res.json({ sent: jobs.length - failed, failed });
  } catch (error) {
    return res.status(500).json({ error: String(error) });
  }
});

// Exit cleanly on SIGTERM so node --cpu-prof writes its profile.
process.on('SIGTERM', () => process.exit(0));

lti.deploy({ port, silent: true }).then(
  () => process.stdout.write(`baseline listening on ${toolUrl}\n`),
  (error) => {
    process.stderr.write(`baseline failed: ${String(error)}\n`);
    process.exit(1);
  },
);
