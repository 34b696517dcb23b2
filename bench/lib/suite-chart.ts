/** The suite's chart: median time per case and framework as grouped bars (log scale), SVG + PNG. */
import { writeFileSync } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg, svgToPng } from '../../src/index.js';
import { isMeasured, PEERS } from './suite-harness.js';
import { allCases, type SuiteResult } from './suite-report.js';

export function suiteChartSpec(r: SuiteResult): TopLevelSpec {
  // The ceiling's time is that of an arbitrary amount of work: it has no place among run times.
  const cases = allCases(r).filter((c) => c.name !== 'FMA ceiling');
  const data = cases.flatMap((c) =>
    PEERS.flatMap((p) => {
      const x = c.results[p];
      return isMeasured(x) ? [{ case: c.name, peer: p, ms: x.medianMs, n: x.n }] : [];
    }),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `kdgpu bench suite: median ms per run (log scale; lower is faster)`, subtitle: `${r.adapter.description || r.adapter.architecture}, ${r.cpuCores} CPU cores, ${r.date.slice(0, 10)}` },
    width: Math.max(480, 70 * cases.length),
    height: 420,
    data: { values: data },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'case', type: 'nominal', title: null, sort: cases.map((c) => c.name), axis: { labelAngle: -30, labelLimit: 400 } },
      xOffset: { field: 'peer', sort: [...PEERS] },
      // Unstacked: stacking would put every bar's base at 0, which a log scale has no place for.
      y: { field: 'ms', type: 'quantitative', title: 'median ms per run', scale: { type: 'log' }, stack: null },
      color: { field: 'peer', type: 'nominal', title: 'framework', sort: [...PEERS] },
      tooltip: [{ field: 'case' }, { field: 'peer' }, { field: 'ms', format: '.3f' }, { field: 'n' }],
    },
  };
}

/** Writes `<base>.svg` and `<base>.png`; returns their paths. */
export async function writeSuiteChart(r: SuiteResult, base: string): Promise<string[]> {
  const svg = await renderSvg(suiteChartSpec(r));
  writeFileSync(`${base}.svg`, svg);
  writeFileSync(`${base}.png`, svgToPng(svg, { scale: 1.5 }));
  return [`${base}.svg`, `${base}.png`];
}
