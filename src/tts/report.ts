// `augment voices [LANG]`: what the installed engine can speak, from the engine itself.
import { table } from "../run/report.js";
import { Espeak, ESPEAK_PACKAGE } from "./espeak.js";
import { ESPEAK_DATA_VERSION } from "./voice-data.js";
import { nearestNames, voicesFor } from "./voices.js";

export class UnknownLanguageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownLanguageError";
  }
}

export async function voicesReport(language?: string): Promise<string> {
  const engine = await Espeak.create();
  const all = engine.listVoices();
  const variants = engine.listVariants();
  const voices = voicesFor(language, all);
  if (language !== undefined && voices.length === 0) {
    const near = nearestNames(language, all.flatMap((v) => v.languages));
    throw new UnknownLanguageError(`espeak-ng has no voice for language "${language}" (nearest: ${near.join(", ")})`);
  }
  const lines = [
    `espeak-ng in process (${ESPEAK_PACKAGE} ${ESPEAK_DATA_VERSION}): ${all.length} language voices, ${variants.length} variants`,
    "",
    table(
      voices.map((v) => [v.languages.join(" "), v.identifier, v.name]),
      ["language codes", "voice", "name"],
      true,
    ),
    "",
    `variants (a voice is <language>[+<variant>], e.g. ${language ?? "sw"}+${variants[0]?.name ?? "f1"}; m/f: the gender the variant states):`,
    variants.map((v) => (v.gender ? `${v.name} (${v.gender})` : v.name)).join(", "),
  ];
  if (language !== undefined) lines.push("", `default speaker pool of \`language: ${language}\`: ${language} and ${language}+<each variant> (${variants.length + 1} voices)`);
  return lines.join("\n");
}
