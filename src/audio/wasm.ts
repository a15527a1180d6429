// A minimal WebAssembly emitter shared by the hand-assembled SIMD kernels (resample.ts, fftconv.ts):
// just enough encodings and opcodes for small loops over memory. Opcode numbers are from the
// WebAssembly core spec 2.0 (binary format, section 5.4) and the fixed-width SIMD proposal.
// Nothing here is relaxed-SIMD or otherwise non-deterministic: every op used rounds as IEEE 754
// prescribes, so a kernel gives the same bytes on every conforming engine.

/** Unsigned LEB128. */
export const uleb = (value: number): number[] => {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
};

/** Signed LEB128. */
export const sleb = (value: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};

export const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const name = (text: string): number[] => vector([...text].map((ch) => [ch.charCodeAt(0)]));

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** i8x16.shuffle lane bytes that pick f32 lanes: 0-3 from the first operand, 4-7 from the second. */
const f32Lanes = (lanes: readonly number[]): number[] => lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

export const w = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  i32And: [0x71],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  i32TruncF64U: [0xab],
  f32Add: [0x92],
  f32Store: [0x38, 2, 0],
  f32DemoteF64: [0xb6],
  f64PromoteF32: [0xbb],
  f64ConvertI32U: [0xb8],
  f64Add: [0xa0],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  v128Load: (offset: number) => [0xfd, 0x00, 0, ...uleb(offset)],
  v128Store: (offset: number) => [0xfd, 0x0b, 0, ...uleb(offset)],
  v128Load32Splat: (offset: number) => [0xfd, 0x09, 0, ...uleb(offset)],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  /** i8x16.shuffle on whole f32 lanes (4 indices, 0-3 first operand, 4-7 second). */
  f32x4Shuffle: (lanes: readonly number[]) => [0xfd, 0x0d, ...f32Lanes(lanes)],
  f32x4Splat: [0xfd, 0x13],
  f32x4Lane: (lane: number) => [0xfd, 0x1f, lane],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Sub: [0xfd, ...uleb(0xe5)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
};

/** One function of a module built by assembleModule. */
export interface WasmFunction {
  name: string;
  params: number[];
  /** Local declarations after the params, as [count, type] runs. */
  locals: Array<[number, number]>;
  body: number[];
}

/**
 * A module with one exported memory "memory" (initially `pages` 64 KiB pages) and the given
 * functions, each exported under its name, none returning a value.
 */
export function assembleModule(functions: WasmFunction[], pages = 1): Uint8Array<ArrayBuffer> {
  const code = functions.map((f) => {
    const body = [...vector(f.locals.map(([count, type]) => [...uleb(count), type])), ...f.body, ...w.end];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(functions.map((f) => [0x60, ...vector(f.params.map((t) => [t])), 0]))),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(5, vector([[0x00, ...uleb(pages)]])),
    ...section(7, vector([[...name("memory"), 0x02, 0], ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])])),
    ...section(10, vector(code)),
  ]);
}

/** Compiles and instantiates `bytes`, or null where the runtime lacks WebAssembly (or its SIMD). */
export function instantiate(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Instance | null {
  try {
    if (typeof WebAssembly !== "object" || !WebAssembly.validate(bytes)) return null;
    return new WebAssembly.Instance(new WebAssembly.Module(bytes));
  } catch {
    return null;
  }
}
