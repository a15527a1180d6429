// Plain-text tables for `augment plan` and the end of `augment run`.
import type { Plan } from "../plan/plan.js";
import type { Recipe } from "../recipe/schema.js";
import type { RunSummary } from "./run.js";

/** A plain-text table; the first and last columns are left-aligned when `textLast` is set. */
export function table(rows: Array<Array<string | number>>, header: string[], textLast = false): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  const last = header.length - 1;
  const fmt = (r: string[]) =>
    r.map((v, c) => (c === 0 || (textLast && c === last) ? v.padEnd(c === last ? 0 : widths[c]) : v.padStart(widths[c]))).join("  ");
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(fmt)].join("\n");
}

const h = (s: number) => (s / 3600).toFixed(3);

export function planReport(recipe: Recipe, plan: Plan, sourceCount: number, skipped: number): string {
  const byLang = new Map<string, { items: number; inS: number; outS: number }>();
  const byOp = new Map<string, { items: number; outS: number }>();
  let inS = 0;
  let outS = 0;
  for (const it of plan.items) {
    const lang = it.utt.language ?? "(none)";
    const l = byLang.get(lang) ?? { items: 0, inS: 0, outS: 0 };
    l.items++;
    l.inS += it.utt.durationS ?? 0;
    l.outS += it.estDurationS;
    byLang.set(lang, l);
    inS += it.utt.durationS ?? 0;
    outS += it.estDurationS;
    const names = it.ops.length ? it.ops.map((o) => o.op) : ["(clean)"];
    for (const op of new Set(names)) {
      const o = byOp.get(op) ?? { items: 0, outS: 0 };
      o.items++;
      o.outS += it.estDurationS;
      byOp.set(op, o);
    }
  }
  const estBytes = plan.shards.reduce((n, s) => n + s.estBytes, 0);
  const synthOutS = plan.items.reduce((n, it) => n + (it.utt.audio.synth ? it.estDurationS : 0), 0);
  const lines = [
    `recipe ${recipe.file}: ${sourceCount} source utterances (${skipped} skipped), ${plan.items.length} output items in ${plan.shards.length} shards`,
    `audio: ${h(outS)} h out from ${h(inS)} h of sources${synthOutS > 0 ? ` (${h(synthOutS)} h of it synthetic speech)` : ""}; estimated output size ${(estBytes / 1e6).toFixed(1)} MB (${recipe.output.audio})`,
    "",
    table([...byLang.entries()].sort().map(([k, v]) => [k, v.items, h(v.outS)]), ["language", "items", "hours"]),
    "",
    table([...byOp.entries()].sort().map(([k, v]) => [k, v.items, h(v.outS), ((100 * v.items) / Math.max(1, plan.items.length)).toFixed(1) + "%"]), ["op", "items", "hours", "share"]),
  ];
  for (const w of plan.warnings) lines.push(`note: ${w}`);
  const range = ([lo, hi]: [number, number]) => (lo === hi ? String(lo) : `${lo}-${hi}`);
  if (plan.balance && plan.balance.some((g) => g.syntheticUtterances > 0)) {
    // Real and synthetic hours side by side: what the corpus has, what the plan makes of each.
    lines.push(
      "",
      `balance by ${recipe.balance!.by} (${recipe.balance!.strategy}), real audio first, synthetic speech filling the rest:`,
      table(
        plan.balance.map((g) => [
          g.group,
          g.utterances,
          g.sourceHours.toFixed(3),
          g.syntheticUtterances,
          g.syntheticHours.toFixed(3),
          g.targetHours.toFixed(3),
          g.plannedRealHours.toFixed(3),
          g.plannedSyntheticHours.toFixed(3),
          g.plannedHours.toFixed(3),
          g.utterances ? range([g.minCopies, g.maxCopies]) : "-",
          g.syntheticCopies ? range(g.syntheticCopies) : "-",
        ]),
        ["group", "real utts", "real h before", "synth utts", "synth h avail", "target", "real h after", "synth h after", "hours after", "copies/real", "copies/synth"],
      ),
    );
  } else if (plan.balance) {
    lines.push(
      "",
      `balance by ${recipe.balance!.by} (${recipe.balance!.strategy}):`,
      table(
        plan.balance.map((g) => [g.group, g.utterances, g.sourceHours.toFixed(3), g.targetHours.toFixed(3), g.plannedHours.toFixed(3), g.minCopies === g.maxCopies ? String(g.minCopies) : `${g.minCopies}-${g.maxCopies}`]),
        ["group", "utterances", "hours before", "target", "hours after", "copies/utt"],
      ),
    );
    for (const g of plan.balance) if (g.warning) lines.push(`warning: ${g.warning}`);
  }
  return lines.join("\n");
}

function fmtNum(v: unknown): string {
  return typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v);
}

export function runReport(s: RunSummary): string {
  const hours = s.hours as { input: number; output: number };
  const lines = [
    table(
      [
        ["items written", s.items.written],
        ["items failed", s.items.errors],
        ["shards", String(s.shards) + (s.items.resumed_shards ? ` (${s.items.resumed_shards} resumed)` : "")],
        ["hours in / out", `${hours.input.toFixed(3)} / ${hours.output.toFixed(3)}`],
        ["wall time", `${(s.wall_s as number).toFixed(1)} s`],
        ["speed", `${(s.x_realtime as number).toFixed(1)}x realtime, ${(s.audio_hours_per_wall_s as number).toFixed(4)} audio-h/s`],
      ],
      ["run", "value"],
      true,
    ),
  ];
  const ops = s.ops as Record<string, Record<string, any>>;
  const rows: string[][] = [];
  for (const [op, st] of Object.entries(ops)) {
    const details = Object.entries(st)
      .filter(([k, v]) => !["applied", "counts", "crossfade_ms", "measured.samples_in", "measured.rir_samples"].includes(k) && v && typeof v === "object" && "mean" in v)
      .slice(0, 3)
      .map(([k, v]) => `${k} ${fmtNum(v.min)}..${fmtNum(v.max)} (mean ${fmtNum(v.mean)})`);
    rows.push([op, String(st.applied), details.join("; ")]);
  }
  if (rows.length) lines.push("", table(rows, ["op", "applied", "values"], true));
  return lines.join("\n");
}
