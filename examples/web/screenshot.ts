/**
 * Trains in the page (headless Chromium) and saves examples/web/screenshot.png, the picture the
 * README links. Default: the page's own recipe plus a T sweep of 10 epochs per temperature.
 *
 *   npx tsx examples/web/screenshot.ts ['?autorun=1&sweep=1&sweepEpochs=10'] [out.png]
 */
import { join } from 'node:path';
import { launchChromium, runPage } from './browser-driver.js';
import { startWebServer, WEB_DIR } from './server.js';

const query = process.argv[2] ?? '?autorun=1&sweep=1&sweepEpochs=10';
const out = process.argv[3] ?? join(WEB_DIR, 'screenshot.png');
const web = await startWebServer({ port: 0 });
const browser = await launchChromium({ webgpu: true });
try {
  const page = await browser.newPage({ viewport: { width: 1320, height: 900 } });
  const wantSweep = new URLSearchParams(query).get('sweep') === '1';
  const { report, errors } = await runPage(page, web.url + query, (r) => r.state === 'done' && (!wantSweep || r.sweep !== null), 60 * 60_000, console.log);
  if (report.state !== 'done') throw new Error(`page ended in state ${report.state}: ${report.error}`);
  if (errors.length) console.log(errors.join('\n'));
  await page.screenshot({ path: out, fullPage: true });
  console.log(`scratch ${report.run?.scratch.accuracy}, kd ${report.run?.kd.accuracy}, sweep ${JSON.stringify(report.sweep)}\n${out}`);
} finally {
  await browser.close();
  await web.close();
}
