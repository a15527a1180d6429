// The PNG writer read back by an independent decoder (Pillow), its own reader, the CRC, and the
// RIR figure and contact sheet layouts.
import { describe, expect, it } from "vitest";
import { measureRir } from "../src/audio/acoustics.js";
import { contactSheet, crc32, decodePng, encodePng, rirFigure, rirImage } from "../src/audio/png.js";
import { simulateRoom } from "../src/rooms/simulate.js";
import { pythonJson } from "./helpers/python.js";

const READ_PY = String.raw`
import io, json, sys
from PIL import Image
img = Image.open(io.BytesIO(sys.stdin.buffer.read()))
img.load()
px = img.convert("RGB")
print(json.dumps({"mode": img.mode, "size": img.size, "text": {k: v for k, v in img.info.items() if isinstance(v, str)},
                  "pixels": [list(px.getpixel((x, y))) for (x, y) in json.loads(sys.argv[1])]}))
`;

interface Read {
  mode: string;
  size: [number, number];
  text: Record<string, string>;
  pixels: number[][];
}

describe("encodePng", () => {
  it("CRC-32 of the check string is 0xCBF43926", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("Pillow reads RGB and grayscale images pixel for pixel, with tEXt", () => {
    const width = 37;
    const height = 23;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([(x * 7) & 255, (y * 11) & 255, (x * y) & 255], 3 * (y * width + x));
    const points = [
      [0, 0],
      [36, 0],
      [5, 17],
      [36, 22],
    ];
    const png = encodePng({ width, height, data }, { text: { Title: "test figure", Description: "a; b" } });
    const read = pythonJson<Read>(READ_PY, [JSON.stringify(points)], Buffer.from(png));
    expect(read.mode).toBe("RGB");
    expect(read.size).toEqual([width, height]);
    expect(read.text.Title).toBe("test figure");
    expect(read.text.Description).toBe("a; b");
    points.forEach(([x, y], k) => expect(read.pixels[k]).toEqual([(x * 7) & 255, (y * 11) & 255, (x * y) & 255]));
    const gray = encodePng({ width, height, data }, { channels: 1 });
    const readGray = pythonJson<Read>(READ_PY, [JSON.stringify(points)], Buffer.from(gray));
    expect(readGray.mode).toBe("L");
    points.forEach(([x, y], k) => {
      const v = Math.round((((x * 7) & 255) + ((y * 11) & 255) + ((x * y) & 255)) / 3);
      expect(readGray.pixels[k]).toEqual([v, v, v]);
    });
    // Own reader round trip.
    const back = decodePng(png);
    expect(back.width).toBe(width);
    expect(Buffer.from(back.data).equals(Buffer.from(data))).toBe(true);
  });

  it("rejects bad sizes and corrupt files", () => {
    expect(() => encodePng({ width: 0, height: 1, data: new Uint8Array(0) })).toThrow(/positive integers/);
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(5) })).toThrow(/5 bytes for 2 × 2/);
    const png = encodePng({ width: 2, height: 2, data: new Uint8Array(12) });
    png[20] ^= 1;
    expect(() => decodePng(png)).toThrow(/CRC mismatch/);
  });
});

describe("RIR figures", () => {
  const [h] = simulateRoom({
    dims_m: [6, 4, 3],
    absorption: 0.12,
    source_m: [1.5, 1.2, 1.6],
    mics_m: [[4.2, 2.9, 1.2]],
    sample_rate: 16000,
    c_m_s: 343,
    transition_s: 0.08,
    length_s: 1,
    seed: 2,
  });
  const measured = measureRir(h, 16000);

  it("draws the waveform and the EDC panels, readable by Pillow, numbers in tEXt", () => {
    const png = rirFigure(h, 16000, measured, "room 6 x 4 x 3 m");
    const read = pythonJson<Read>(READ_PY, ["[]"], Buffer.from(png));
    expect(read.size).toEqual([480, 300]);
    expect(read.text.Title).toBe("room 6 x 4 x 3 m");
    expect(read.text.Description).toMatch(/^T30 \d\.\d+ s; T20 .*; direct path \d+ samples; time ticks every 0\.2 s/);
    const img = rirImage(h, 16000, measured);
    const count = (y0: number, y1: number, rgb: number[]) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = 0; x < img.width; x++) if (rgb.every((c, k) => img.data[3 * (y * img.width + x) + k] === c)) n++;
      return n;
    };
    expect(count(0, 135, [40, 90, 190])).toBeGreaterThan(400); // waveform in the top panel
    expect(count(135, 300, [40, 90, 190])).toBe(0);
    expect(count(135, 300, [210, 40, 40])).toBeGreaterThan(100); // T30 line in the bottom panel
    expect(count(135, 300, [30, 30, 30])).toBeGreaterThan(300); // EDC + frame
  });

  it("tiles figures into a contact sheet", () => {
    const small = rirImage(h, 16000, measured, { width: 120, height: 80 });
    const sheet = decodePng(contactSheet([small, small, encodePng(small), small, small], 2, { gap: 4 }));
    expect(sheet.width).toBe(2 * 120 + 3 * 4);
    expect(sheet.height).toBe(3 * 80 + 4 * 4);
    // Tile (1, 1) equals the figure.
    const x0 = 4 + 124;
    const y0 = 4 + 84;
    for (const [x, y] of [[0, 0], [60, 40], [119, 79]]) {
      const a = 3 * ((y0 + y) * sheet.width + x0 + x);
      const b = 3 * (y * 120 + x);
      expect([...sheet.data.subarray(a, a + 3)]).toEqual([...small.data.subarray(b, b + 3)]);
    }
    expect(() => contactSheet([], 3)).toThrow(/at least one/);
  });
});
