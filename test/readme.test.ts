// The README's recipe reference is generated from the schemas; this fails when it drifts.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { withReference } from "../src/recipe/reference.js";

describe("README", () => {
  const readme = readFileSync(path.resolve(__dirname, "../README.md"), "utf8");
  it("has the current recipe reference (run `npm run docs` if this fails)", () => {
    expect(withReference(readme)).toBe(readme);
  });
  it("documents every op and input format", () => {
    for (const name of ["speed", "reverb", "noise", "gain", "nemo", "kaldi", "librispeech", "commonvoice", "folder", "lhotse"]) {
      expect(readme).toContain(`\`${name === "speed" || name === "reverb" || name === "noise" || name === "gain" ? name : `format: ${name}`}\``);
    }
  });
  it("starts with the two set-up commands", () => {
    const firstScreen = readme.split("\n").slice(0, 20).join("\n");
    expect(firstScreen).toContain("npm ci && npx augment run recipes/quickstart.yaml");
    expect(firstScreen).toContain("npm test");
  });
});
