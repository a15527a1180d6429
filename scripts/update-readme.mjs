// Regenerates the recipe reference in README.md from the schemas (run: npm run docs).
import { readFileSync, writeFileSync } from "node:fs";
import { withReference } from "../dist/recipe/reference.js";

const file = new URL("../README.md", import.meta.url);
const before = readFileSync(file, "utf8");
const after = withReference(before);
if (after !== before) writeFileSync(file, after);
console.log(after === before ? "README.md reference is current" : "README.md reference updated");
