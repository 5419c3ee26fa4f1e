// A node:test reporter that writes one line per skipped test (file, name, reason) to its
// destination. test/run-tests.mjs runs it beside the spec reporter and turns any line into a
// failure unless LIFEBOAT_ALLOW_SKIP=1: a missing tool or a missing privilege must never let a
// suite "pass" by skipping.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, name, file } = event.data;
    if (skip === undefined || skip === false) continue;
    const reason = typeof skip === 'string' ? skip : 'skipped';
    yield `${JSON.stringify({ file: file ?? '', name, reason })}\n`;
  }
}
