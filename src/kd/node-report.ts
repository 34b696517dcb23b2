/** Node only: SVG → PNG with resvg, and writing a sweep's results and plots to a directory. */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../data/node-atomic-write.js';
import { join, resolve } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { plotMetricVsParam, plotTrainingCurves, type CurveMetric } from './plots.js';
import { historyToCsv, runsToCsv, runsToJson } from './report.js';
import type { SweepResult } from './sweep.js';

/** Sans-serif fonts that Linux distributions, macOS and Windows commonly ship, with their family names. */
const FALLBACK_FONTS: [path: string, family: string][] = [
  ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', 'DejaVu Sans'], // Debian, Ubuntu
  ['/usr/share/fonts/dejavu/DejaVuSans.ttf', 'DejaVu Sans'], // Fedora, Alpine
  ['/usr/share/fonts/TTF/DejaVuSans.ttf', 'DejaVu Sans'], // Arch
  ['/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf', 'Liberation Sans'],
  ['/Library/Fonts/Arial.ttf', 'Arial'],
  ['/System/Library/Fonts/Supplemental/Arial.ttf', 'Arial'],
  ['C:\\Windows\\Fonts\\arial.ttf', 'Arial'],
];

let fallback: [string, string] | null | undefined;
function fallbackFont(): [string, string] | null {
  if (fallback === undefined) fallback = FALLBACK_FONTS.find(([p]) => existsSync(p)) ?? null;
  return fallback;
}

/** Options for `svgToPng`. */
export interface SvgToPngOptions {
  /** Pixels per SVG unit. Default 1. */
  scale?: number;
  /** Default true. */
  loadSystemFonts?: boolean;
  /** Extra font files; default: the first of a few common sans-serif fonts that exists here. */
  fontFiles?: string[];
}

/**
 * Rasterizes an SVG (e.g. from plots.ts) to PNG bytes. Vega asks for `sans-serif`, which resvg
 * maps to a family that must exist, so it is pointed at the fallback font when there is one.
 * Without any font, text is left out rather than failing.
 */
export function svgToPng(svg: string, opts: SvgToPngOptions = {}): Uint8Array {
  const found = fallbackFont();
  const fontFiles = opts.fontFiles ?? (found ? [found[0]] : []);
  const family = opts.fontFiles === undefined && found ? found[1] : undefined;
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: opts.scale ?? 1 },
    font: {
      loadSystemFonts: opts.loadSystemFonts ?? true,
      fontFiles,
      ...(family ? { defaultFontFamily: family, sansSerifFamily: family } : {}),
    },
  });
  const png = resvg.render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** Options for `writeSweepOutputs`. */
export interface WriteSweepOptions {
  /** Also write a PNG of every SVG. Default true. */
  png?: boolean;
  /** Training-curve plots to draw (those no run has data for are skipped). Default val_accuracy and loss. */
  curves?: CurveMetric[];
}

/** Keeps a grid key usable in a file name. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/**
 * Writes results.json, results.csv, history.csv, a plot of test accuracy and macro F1 against
 * each grid key with more than one value, and training curves, each plot as .svg and .png.
 * Creates `dir` if needed. Returns the paths written.
 */
export async function writeSweepOutputs(result: SweepResult, dir: string, opts: WriteSweepOptions = {}): Promise<string[]> {
  const out = resolve(dir);
  await mkdir(out, { recursive: true });
  const written: string[] = [];
  const write = async (name: string, data: string | Uint8Array): Promise<void> => {
    const p = join(out, name);
    writeFileAtomic(p, data);
    written.push(p);
  };
  const writePlot = async (name: string, svg: string): Promise<void> => {
    await write(`${name}.svg`, svg);
    if (opts.png ?? true) await write(`${name}.png`, svgToPng(svg));
  };

  await write('results.json', runsToJson(result));
  await write('results.csv', runsToCsv(result.runs));
  await write('history.csv', historyToCsv(result.runs));
  if (result.runs.length === 0) return written;

  for (const [key, values] of Object.entries(result.grid)) {
    // A runner may record its config under other names; plot only keys the runs carry.
    const inRuns = result.runs.some((r) => key in r.config);
    if (values.length > 1 && inRuns) await writePlot(`metrics_vs_${slug(key)}`, await plotMetricVsParam(result.runs, { param: key }));
  }
  // With many runs, one colour per run is unreadable: colour by the first grid key that varies.
  const colorBy = Object.entries(result.grid).find(([k, v]) => v.length > 1 && result.runs.every((r) => k in r.config))?.[0];
  for (const metric of opts.curves ?? ['val_accuracy', 'loss']) {
    const has = result.runs.some((r) => r.history.some((h) => metric === 'loss' || h.val !== undefined));
    if (has) await writePlot(`curves_${metric}`, await plotTrainingCurves(result.runs, { metric, colorBy }));
  }
  return written;
}
