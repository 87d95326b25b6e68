const Sequencer = require('@jest/test-sequencer').default;

/**
 * The longest files start first, in this order, so no worker ends the run alone with one of them: a fresh
 * clone (CI) has no timings from a previous run, and jest would order by file size. jest's own order
 * (failed first, then longest last time) decides among the rest.
 */
const heavyFirst = [
  'tests/reliability/launch-load.test.ts',
  'tests/grading/crash-points.test.ts',
  'tests/admin/cli.test.ts',
  'tests/curriculum/score-model-flow.test.ts',
  'tests/foundation/embedded-shared.test.ts',
  'tests/browser/faculty.browser.test.ts',
  'tests/security/fuzz.test.ts',
  'tests/grading/faults.test.ts',
];

class HeavyFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const rank = (test) => {
      const index = heavyFirst.findIndex((p) => test.path.replace(/\\/g, '/').endsWith(p));
      return index < 0 ? heavyFirst.length : index;
    };
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = HeavyFirstSequencer;
