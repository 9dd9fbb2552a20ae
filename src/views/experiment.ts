// An experiment's result as a person reads it: its rows as a table and its conclusion; its figures
// as SVG files (ECharts, rendered on the server) and its result as JSON in an --out folder.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ChalkInstance } from "chalk";
import type { ExperimentRun } from "../experiments/run.js";
import type { Figure, Row } from "../experiments/types.js";
import { table } from "./table.js";

function cell(value: Row[string]): string {
  if (value === null || value === undefined) return "-";
  if (Array.isArray(value)) return value.join(" → ");
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
  return String(value);
}

export function experimentView(run: ExperimentRun, colour: ChalkInstance): string {
  const out = table(run.columns.map((column) => column.title ?? column.key), colour);
  for (const row of run.result.results) out.push(run.columns.map((column) => (column.format ? column.format(row[column.key] ?? null, row) : cell(row[column.key] ?? null))));
  return `${colour.bold(run.result.experiment)}\n${out.toString()}\n${run.result.conclusion}`;
}

export function experimentListView(entries: { name: string; summary: string }[], colour: ChalkInstance): string {
  const out = table(["experiment", "what it measures"], colour);
  for (const entry of entries) out.push([entry.name, entry.summary]);
  return out.toString();
}

/** One figure as an SVG document, drawn by ECharts' server-side renderer. */
export async function figureSvg(figure: Figure, size = { width: 900, height: 450 }): Promise<string> {
  const echarts = await import("echarts");
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width: size.width, height: size.height });
  try {
    // Without a canvas ECharts estimates text widths; a generous gap keeps legend entries apart
    // whatever font the SVG is finally drawn with.
    const legend = figure.option.legend ? { itemGap: 30, ...(figure.option.legend as object) } : undefined;
    chart.setOption({
      animation: false,
      backgroundColor: "#ffffff",
      textStyle: { fontFamily: "DejaVu Sans, Helvetica, Arial, sans-serif" },
      title: { text: figure.title, left: "center", textStyle: { fontSize: 14 } },
      grid: { top: 70, left: 80, right: 40, bottom: 60 },
      ...figure.option,
      ...(legend ? { legend } : {}),
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** The SVG as a PNG (resvg), or undefined where its prebuilt renderer is not available. */
async function svgToPng(svg: string): Promise<Buffer | undefined> {
  try {
    const { Resvg } = await import("@resvg/resvg-js");
    return new Resvg(svg, { font: { loadSystemFonts: true }, background: "#ffffff" }).render().asPng();
  } catch {
    return undefined;
  }
}

/** result.json and an SVG and a PNG per figure in `dir`; returns the files written. */
export async function writeExperimentFiles(dir: string, run: ExperimentRun): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written = [join(dir, "result.json")];
  await writeFile(written[0]!, JSON.stringify(run.result, null, 2) + "\n");
  for (const figure of run.figures) {
    const svg = await figureSvg(figure);
    const file = join(dir, `${figure.name}.svg`);
    await writeFile(file, svg);
    written.push(file);
    const png = await svgToPng(svg);
    if (png) {
      await writeFile(join(dir, `${figure.name}.png`), png);
      written.push(join(dir, `${figure.name}.png`));
    }
  }
  return written;
}
