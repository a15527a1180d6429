// `augment inspect OUT`: tables of what a run produced (hours per group, per op, histograms of the
// measured SNRs and RT60s, speed factors) and report.html: a sample of items, each with its clean
// and augmented audio, their spectrograms (PNG rendered here) and the ops applied.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { decodeAudio, floatToInt16, toMono } from "../audio/decode.js";
import { encodePng } from "../audio/png.js";
import { spectrogramImage } from "../audio/spectrogram.js";
import { encodeWav } from "../audio/wav.js";
import { loadSource } from "../engine/load.js";
import { hashString, hashWords } from "../plan/rng.js";
import { writeFileAtomic } from "../writers/atomic.js";
import { readRecords, type ItemRecord } from "../writers/manifest.js";
import { readTarMember } from "../writers/tar.js";
import { table } from "./report.js";
import { RunError, splitDir } from "./run.js";
import { INDEX_FILE, PLAN_FILE, readJson, type IndexFile, type PlanFile } from "./state.js";

export interface InspectOptions {
  /** Items in the report (default 12). */
  items?: number;
  seed?: number;
  /** Folder for report.html and its media (default OUT/report). */
  reportDir?: string;
}

function histogram(values: number[], binWidth: number, unit: string): string {
  if (!values.length) return "  (none)";
  const lo = Math.floor(Math.min(...values) / binWidth) * binWidth;
  const counts = new Map<number, number>();
  for (const v of values) {
    const b = Math.floor((v - lo) / binWidth + 1e-9); // values on a bin edge belong to the bin above
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  const max = Math.max(...counts.values());
  const last = Math.max(...counts.keys());
  const rows: string[] = [];
  for (let b = 0; b <= last; b++) {
    const n = counts.get(b) ?? 0;
    const from = lo + b * binWidth;
    rows.push(`  ${from.toFixed(2).padStart(7)} … ${(from + binWidth).toFixed(2).padStart(7)} ${unit}  ${"█".repeat(Math.round((40 * n) / max)).padEnd(40)} ${n}`);
  }
  return rows.join("\n");
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function inspect(outDir: string, opts: InspectOptions = {}): Promise<{ text: string; report: string }> {
  const plan = await readJson<PlanFile>(path.join(outDir, PLAN_FILE));
  const index = await readJson<IndexFile>(path.join(outDir, INDEX_FILE));
  if (!plan || !index) throw new RunError(`${outDir}: not a finished augment output (no ${!plan ? PLAN_FILE : INDEX_FILE}); after sharded runs, run \`augment merge\``, 2);
  const want = opts.items ?? 12;
  const seed = opts.seed ?? 0;
  const byLang = new Map<string, { items: number; s: number }>();
  const byOp = new Map<string, { items: number; s: number }>();
  const snr: number[] = [];
  const rt60: number[] = [];
  const speed: number[] = [];
  let chosen: Array<{ key: number; rec: ItemRecord; file: string }> = [];
  let total = 0;
  let totalS = 0;
  for (const s of plan.shards) {
    const e = index.shards[String(s.index)];
    if (!e) throw new RunError(`shard ${s.index} missing from ${INDEX_FILE}`);
    for await (const rec of readRecords(path.join(outDir, e.records))) {
      const m = rec.meta;
      total++;
      totalS += m.duration;
      const lang = m.language ?? "(none)";
      const l = byLang.get(lang) ?? { items: 0, s: 0 };
      l.items++;
      l.s += m.duration;
      byLang.set(lang, l);
      for (const op of m.ops.length ? m.ops : [{ op: "(clean)" }]) {
        const o = byOp.get(op.op) ?? { items: 0, s: 0 };
        o.items++;
        o.s += m.duration;
        byOp.set(op.op, o);
        const measured = (op as { measured?: Record<string, unknown> }).measured ?? {};
        if (op.op === "noise" && typeof measured.snr_db === "number") snr.push(measured.snr_db);
        const rt = measured.rt60_t30_s ?? measured.rt60_s;
        if (op.op === "reverb" && typeof rt === "number" && Number.isFinite(rt)) rt60.push(rt);
        if (op.op === "speed" && typeof op.factor === "number") speed.push(op.factor);
      }
      // The `want` items with the smallest seeded hash: a uniform sample in one pass.
      const key = hashWords(seed >>> 0, hashString(m.id));
      if (chosen.length < want || key < chosen[chosen.length - 1].key) {
        chosen.push({ key, rec, file: e.files.find((f) => f.endsWith(".tar") || f.endsWith(".parquet")) ?? "" });
        chosen.sort((a, b) => a.key - b.key);
        chosen = chosen.slice(0, want);
      }
    }
  }
  const h = (s: number) => (s / 3600).toFixed(3);
  const text = [
    `${outDir}: ${total} items, ${h(totalS)} h, ${plan.shards.length} shards (${plan.splits.join(", ")})`,
    "",
    table([...byLang].sort().map(([k, v]) => [k, v.items, h(v.s)]), ["language", "items", "hours"]),
    "",
    table([...byOp].sort().map(([k, v]) => [k, v.items, h(v.s)]), ["op", "items", "hours"]),
    "",
    "achieved SNR (noise op, measured):",
    histogram(snr, 2.5, "dB"),
    "",
    "RT60 of the RIRs used (reverb op, measured T30):",
    histogram(rt60, 0.1, "s"),
    "",
    "speed factors:",
    histogram(speed, 0.05, "×"),
  ].join("\n");

  // The report: media next to report.html, referenced relatively so the folder can be copied.
  const reportDir = opts.reportDir ?? path.join(outDir, "report");
  const sections: string[] = [];
  for (const { rec, file } of chosen) {
    const m = rec.meta;
    const audioPath = path.join(splitDir(outDir, plan.splits, m.split ?? "", plan.output.format), rec.audio);
    if (file.endsWith(".parquet")) {
      sections.push(`<section><h2>${esc(m.id)}</h2><p class="missing">audio is inside ${esc(file)}; read it with the datasets library</p></section>`);
      continue;
    }
    const bytes = file ? await readTarMember(path.join(outDir, file), rec.audio) : new Uint8Array(await readFile(audioPath));
    const ext = path.extname(rec.audio).slice(1);
    const aug = toMono(await decodeAudio(bytes, rec.audio), "mix");
    await writeFileAtomic(path.join(reportDir, `${m.id}.${ext}`), bytes);
    await writeFileAtomic(path.join(reportDir, `${m.id}.png`), encodePng(spectrogramImage(aug, m.sampling_rate)));
    let clean = "";
    try {
      const src = await loadSource({ path: m.source.audio, offsetS: m.source.offset_s, durationS: m.source.offset_s !== undefined ? m.source.duration : undefined, ...(m.source.synth ? { synth: m.source.synth } : {}) }, m.source.channel ?? "mix", m.sampling_rate);
      await writeFileAtomic(path.join(reportDir, `${m.id}-clean.wav`), encodeWav(floatToInt16(src.samples), m.sampling_rate));
      await writeFileAtomic(path.join(reportDir, `${m.id}-clean.png`), encodePng(spectrogramImage(src.samples, m.sampling_rate)));
      clean = `<figure><figcaption>clean (source)</figcaption><audio controls preload="metadata" src="${esc(`${m.id}-clean.wav`)}"></audio><img alt="spectrogram of the clean source" src="${esc(`${m.id}-clean.png`)}"></figure>`;
    } catch (err: any) {
      clean = `<p class="missing">clean source not readable here: ${esc(String(err?.message ?? err))}</p>`;
    }
    const ops = m.ops.map((o) => `<li><code>${esc(JSON.stringify(o))}</code></li>`).join("") || "<li>(clean copy)</li>";
    sections.push(`<section>
<h2>${esc(m.id)}</h2>
<p class="text">${esc(m.text)}</p>
<p class="facts">${esc([m.language, m.speaker, m.split, `${m.duration.toFixed(2)} s`, `${m.sampling_rate} Hz`].filter(Boolean).join(" · "))}</p>
<div class="pair">${clean}<figure><figcaption>augmented</figcaption><audio controls preload="metadata" src="${esc(`${m.id}.${ext}`)}"></audio><img alt="spectrogram of the augmented audio" src="${esc(`${m.id}.png`)}"></figure></div>
<ul class="ops">${ops}</ul>
</section>`);
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>augment report: ${esc(path.basename(outDir))}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1400px}
section{border-top:1px solid #ccc;padding:1em 0}
.pair{display:flex;gap:2em;flex-wrap:wrap}
figure{margin:0}
figure img{display:block;max-width:640px;height:160px;image-rendering:pixelated;margin-top:.5em}
audio{width:320px}
.text{font-size:16px}
.facts{color:#555}
pre{background:#f6f6f6;padding:1em;overflow:auto}
code{font-size:12px}
.missing{color:#a00}
</style></head><body>
<h1>augment report</h1>
<p>${esc(`${total} items · ${h(totalS)} h · recipe ${plan.recipe} · seed ${plan.seed} · plan ${plan.plan_hash.slice(0, 12)}`)}</p>
<pre>${esc(text)}</pre>
${sections.join("\n")}
</body></html>
`;
  const report = path.join(reportDir, "report.html");
  await writeFileAtomic(report, html);
  return { text, report };
}
