import { describe, expect, it } from "vitest";
import { IdRegistry, MAX_ID_BYTES, safeId, utteranceId } from "../src/sources/ids.js";

const ALPHABET = /^[A-Za-z0-9-][A-Za-z0-9_-]*$/;

describe("safeId", () => {
  it("keeps safe ids unchanged", () => {
    expect(safeId("1089-134686-0000")).toBe("1089-134686-0000");
    expect(safeId("spk1_utt-2")).toBe("spk1_utt-2");
  });

  it("maps other characters to _ and collapses runs", () => {
    expect(safeId("a.b.c")).toBe("a_b_c");
    expect(safeId("dir/sub dir/x.y")).toBe("dir_sub_dir_x_y");
    expect(safeId("a..//b")).toBe("a_b");
    expect(safeId("José Ü")).toBe("Jos_");
    expect(safeId("a__b")).toBe("a_b");
    expect(safeId("x😀y")).toBe("x_y");
  });

  it("drops leading _ and never yields webdataset's __x__ pattern", () => {
    expect(safeId("__key__")).toBe("key_");
    expect(safeId(".hidden")).toBe("hidden");
    expect(safeId("_")).toMatch(/^[0-9a-f]{8}$/);
  });

  it("gives an all-non-ASCII name a stable hash", () => {
    const a = safeId("你好");
    expect(a).toMatch(/^[0-9a-f]{8}$/);
    expect(safeId("你好")).toBe(a);
    expect(safeId("再见")).not.toBe(a);
  });

  it("truncates to 100 bytes with a hash that keeps distinct ids distinct", () => {
    const long = "x".repeat(150);
    const a = safeId(`${long}a`);
    const b = safeId(`${long}b`);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(MAX_ID_BYTES);
    expect(Buffer.byteLength(b)).toBeLessThanOrEqual(MAX_ID_BYTES);
    expect(a).not.toBe(b);
    expect(a).toMatch(ALPHABET);
    expect(safeId(`${long}a`)).toBe(a);
    expect(a.startsWith("x".repeat(80))).toBe(true);
    expect(safeId("y".repeat(100))).toBe("y".repeat(100));
    expect(safeId("y".repeat(101))).toHaveLength(MAX_ID_BYTES);
  });
});

describe("utteranceId", () => {
  it("keeps ids that already start with <spk>-", () => {
    expect(utteranceId("1089", "1089-134686-0000")).toEqual({ speaker: "1089", id: "1089-134686-0000" });
  });

  it("prefixes the speaker otherwise", () => {
    expect(utteranceId("spk1", "utt1")).toEqual({ speaker: "spk1", id: "spk1-utt1" });
    // `spk10-…` does not start with `spk1-`.
    expect(utteranceId("spk1", "spk10-u")).toEqual({ speaker: "spk1", id: "spk1-spk10-u" });
    expect(utteranceId("John Smith", "a.wav")).toEqual({ speaker: "John_Smith", id: "John_Smith-a_wav" });
  });

  it("uses the utterance id as speaker when the speaker is unknown", () => {
    expect(utteranceId("", "clip.01")).toEqual({ speaker: "clip_01", id: "clip_01" });
    expect(utteranceId("  ", "u")).toEqual({ speaker: "u", id: "u" });
  });

  it("keeps Kaldi's utt2spk `u u` as is", () => {
    expect(utteranceId("u1", "u1")).toEqual({ speaker: "u1", id: "u1" });
  });

  it("stays within 100 bytes and keeps the speaker prefix", () => {
    const { speaker, id } = utteranceId("s".repeat(80), "u".repeat(120));
    expect(speaker.length).toBeLessThanOrEqual(48);
    expect(id.startsWith(`${speaker}-`)).toBe(true);
    expect(Buffer.byteLength(id)).toBeLessThanOrEqual(MAX_ID_BYTES);
    expect(id).toMatch(ALPHABET);
    const other = utteranceId("s".repeat(80), `${"u".repeat(119)}v`);
    expect(other.id).not.toBe(id);
  });
});

describe("IdRegistry", () => {
  it("reports a repeated identity as a duplicate", () => {
    const r = new IdRegistry();
    expect(r.claim("u1", "s", "u1")).toEqual({ speaker: "s", id: "s-u1" });
    expect(r.claim("u1", "s", "u1")).toBeNull();
    expect(r.hasIdentity("u1")).toBe(true);
    expect(r.hasIdentity("u2")).toBe(false);
  });

  it("keeps ids unique when different sources meet after sanitising", () => {
    const r = new IdRegistry();
    const a = r.claim("a.b", "", "a.b")!;
    const b = r.claim("a_b", "", "a_b")!;
    const c = r.claim("a/b", "", "a/b")!;
    expect(a.id).toBe("a_b");
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    for (const x of [a, b, c]) {
      expect(x.id).toMatch(ALPHABET);
      // Unknown speaker: speaker follows the (disambiguated) id.
      expect(x.speaker).toBe(x.id);
    }
    const d = r.claim("/x/spk/a.wav", "spk", "a")!;
    const e = r.claim("/y/spk/a.wav", "spk", "a")!;
    expect(d.id).toBe("spk-a");
    expect(e.id).toMatch(/^spk-a_[0-9a-f]{8}$/);
    expect(e.speaker).toBe("spk");
  });
});
