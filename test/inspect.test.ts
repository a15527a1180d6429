// `augment inspect`: the text tables, and report.html checked in headless Chromium (Debian): it
// loads with no console errors, every audio element decodes, every image loads.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { chromium } from "playwright-core";
import { cli, noiseSignal, speechLike, tempDir, writeNemoCorpus, writeWav } from "./helpers/fixtures.js";

const CHROMIUM = process.env.AUGMENT_TEST_CHROMIUM ?? "/usr/bin/chromium";

describe("inspect", () => {
  it("prints tables and writes a report that a browser loads cleanly", async () => {
    const d = tempDir("augment-inspect-");
    writeNemoCorpus(path.join(d, "c"), Array.from({ length: 5 }, (_, i) => ({ id: `s-u${i}`, speaker: "s", text: `text <${i}> & "quotes"`, lang: i % 2 ? "de" : "en", samples: speechLike(12000, 22050, 120, i + 1), sampleRate: 22050 })));
    writeWav(path.join(d, "n/babble/b.wav"), noiseSignal(5 * 16000, 3), 16000);
    writeFileSync(path.join(d, "r.yaml"), "inputs: [{format: nemo, path: c/manifest.json}]\nnoise_banks: [{name: n, path: n}]\ncopies: 2\nchain:\n  - speed: {factors: [0.9, 1.1]}\n  - noise: {bank: n, snr_db: [0, 20]}\noutput: {path: out}\n");
    expect(cli(["run", "r.yaml", "--quiet"], d).code).toBe(0);
    const r = cli(["inspect", "out", "--items", "4"], d);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^en\s+6\s/m);
    expect(r.stdout).toMatch(/^de\s+4\s/m);
    expect(r.stdout).toMatch(/achieved SNR \(noise op, measured\):\n(\s+[\d.-]+ … +[\d.-]+ dB .*\n)+/);
    const reportDir = path.join(d, "out/report");
    const html = readFileSync(path.join(reportDir, "report.html"), "utf8");
    expect((html.match(/<section>/g) ?? []).length).toBe(4);
    expect(html).toContain("text &#60;1&#62; &#38; &#34;quotes&#34;");

    if (!existsSync(CHROMIUM)) {
      console.warn(`SKIPPED: browser check of report.html (no ${CHROMIUM}; apt-get install chromium)`);
      return;
    }
    const server = createServer((req, res) => {
      const file = path.join(reportDir, decodeURIComponent(new URL(req.url!, "http://x").pathname));
      if (!file.startsWith(reportDir) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      const type = { ".html": "text/html", ".png": "image/png", ".flac": "audio/flac", ".wav": "audio/wav" }[path.extname(file)] ?? "application/octet-stream";
      res.writeHead(200, { "content-type": type }).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(String(e)));
      await page.goto(`http://127.0.0.1:${port}/report.html`, { waitUntil: "load" });
      const result = await page.evaluate(async () => {
        const ctx = new AudioContext();
        const audio = [];
        for (const el of Array.from(document.querySelectorAll("audio"))) {
          const buf = await (await fetch(el.src)).arrayBuffer();
          const decoded = await ctx.decodeAudioData(buf);
          audio.push(decoded.duration);
        }
        const images = Array.from(document.querySelectorAll("img")).map((img) => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0);
        return { audio, images };
      });
      expect(problems).toEqual([]);
      expect(result.audio).toHaveLength(8); // clean + augmented per item
      for (const s of result.audio) expect(s).toBeGreaterThan(0.4);
      expect(result.images).toHaveLength(8);
      expect(result.images.every(Boolean)).toBe(true);
    } finally {
      await browser.close();
      server.close();
    }
  });
});
