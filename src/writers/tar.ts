// A minimal, reproducible ustar writer (FORMATS.md §0.2): regular-file members only, ASCII names
// ≤ 100 bytes, mode 0644, uid/gid 0, mtime 0, 512-byte padding, two zero blocks at the end.
// One writer serves WebDataset now and NeMo tarred / Lhotse Shar later.

const BLOCK = 512;

function writeString(buf: Uint8Array, offset: number, length: number, s: string): void {
  for (let i = 0; i < s.length && i < length; i++) buf[offset + i] = s.charCodeAt(i);
}

function writeOctal(buf: Uint8Array, offset: number, length: number, value: number): void {
  // length-1 octal digits then NUL, as GNU tar and Python write them.
  writeString(buf, offset, length - 1, value.toString(8).padStart(length - 1, "0"));
}

/** Checks a member name against the rules that keep every reader happy. */
export function checkMemberName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) throw new Error(`tar member name not in [A-Za-z0-9_.-]: ${JSON.stringify(name)}`);
  if (name.length > 100) throw new Error(`tar member name over 100 bytes: ${name}`);
}

/** The 512-byte header of a regular file. */
export function tarHeader(name: string, size: number): Uint8Array {
  checkMemberName(name);
  if (size > 0o77777777777) throw new Error(`tar member too large: ${size} bytes`);
  const h = new Uint8Array(BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, 0o644);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, 0);
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h[156] = 0x30; // typeflag '0': regular file
  writeString(h, 257, 6, "ustar\0");
  writeString(h, 263, 2, "00");
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  writeString(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** Header + data + padding of one member, as chunks to write in order. */
export function tarMember(name: string, data: Uint8Array): Uint8Array[] {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return pad ? [tarHeader(name, data.length), data, new Uint8Array(pad)] : [tarHeader(name, data.length), data];
}

/** End-of-archive marker: two zero blocks. */
export function tarEnd(): Uint8Array {
  return new Uint8Array(2 * BLOCK);
}

/** Member names and sizes of a tar file, reading only the headers (for verification). */
export async function listTar(file: string): Promise<Array<{ name: string; size: number }>> {
  const { open } = await import("node:fs/promises");
  const fh = await open(file, "r");
  const out: Array<{ name: string; size: number }> = [];
  try {
    const header = new Uint8Array(BLOCK);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(header, 0, BLOCK, pos);
      if (bytesRead < BLOCK) throw new Error(`${file}: truncated tar (header at byte ${pos})`);
      if (header.every((b) => b === 0)) break;
      const str = (a: number, n: number) => Buffer.from(header.subarray(a, a + n)).toString("latin1").replace(/\0.*$/s, "");
      const size = parseInt(str(124, 12).trim() || "0", 8);
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
      if (sum !== parseInt(str(148, 8).trim(), 8)) throw new Error(`${file}: bad tar header checksum at byte ${pos}`);
      out.push({ name: str(0, 100), size });
      pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    await fh.close();
  }
  return out;
}

/** The bytes of one member of a tar file (reads the headers, then only that member). */
export async function readTarMember(file: string, member: string): Promise<Uint8Array> {
  const { open } = await import("node:fs/promises");
  const fh = await open(file, "r");
  try {
    const header = new Uint8Array(BLOCK);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(header, 0, BLOCK, pos);
      if (bytesRead < BLOCK || header.every((b) => b === 0)) break;
      const name = Buffer.from(header.subarray(0, 100)).toString("latin1").replace(/\0.*$/s, "");
      const size = parseInt(Buffer.from(header.subarray(124, 136)).toString("latin1").replace(/\0.*$/s, "").trim() || "0", 8);
      if (name === member) {
        const data = new Uint8Array(size);
        await fh.read(data, 0, size, pos + BLOCK);
        return data;
      }
      pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    await fh.close();
  }
  throw new Error(`${member} not in ${file}`);
}
