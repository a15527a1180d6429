"""The reference peer for `npm run bench`: the same planned chain done with numpy/scipy/soundfile
(Debian packages). It reads augment's own plan (plan.jsonl), so both do exactly the same work:
resample_poly for speed, fftconvolve for reverb (aligned to the direct path), RMS-SNR noise mix,
gain, 16-bit FLAC out through libsndfile. Usage: peer.py PLAN.jsonl OUTDIR WORKERS NOISE_DIR RIR_DIR
(or peer.py --versions: the library versions, as JSON)."""
import json, os, sys, time
from fractions import Fraction
from multiprocessing import Pool

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve, resample_poly

_cache = {}
_paths = {}


def bank_path(root, ident):
    """Bank id → file, from the bank's metadata.jsonl when it has one (as augment does)."""
    if root not in _paths:
        meta = os.path.join(root, "metadata.jsonl")
        _paths[root] = {}
        if os.path.exists(meta):
            for line in open(meta):
                if line.strip():
                    rec = json.loads(line)
                    _paths[root][rec["id"]] = os.path.join(root, rec["path"])
    return _paths[root].get(ident, os.path.join(root, ident + ".flac"))


def load(path):
    if path not in _cache:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
        _cache[path] = x.mean(axis=1)
    return _cache[path]


def process(args):
    item, out_dir, noise_dir, rir_dir = args
    x = load(item["audio"]["path"]).astype(np.float64)
    for op in item["ops"]:
        if op["op"] == "speed" and op["factor"] != 1:
            fr = Fraction(10000, round(op["factor"] * 10000)).limit_denominator(1000)
            x = resample_poly(x, fr.numerator, fr.denominator)
        elif op["op"] == "reverb":
            h = load(bank_path(rir_dir, op["rir"])).astype(np.float64)
            peak = np.abs(h).max()
            d = int(np.argmax(np.abs(h) >= 0.5 * peak))
            y = fftconvolve(x, h)[d:d + len(x)]
            x = y * (np.sqrt(np.mean(x ** 2)) / max(np.sqrt(np.mean(y ** 2)), 1e-12))
        elif op["op"] == "noise":
            n = load(bank_path(noise_dir, op["noise"])).astype(np.float64)
            off = int(round(op["offset_s"] * 16000)) % len(n)
            seg = np.resize(np.roll(n, -off), len(x))
            ps, pn = np.mean(x ** 2), np.mean(seg ** 2)
            g = np.sqrt(ps / (pn * 10 ** (op["snr_db"] / 10)))
            x = x + g * seg
            peak = np.abs(x).max()
            if peak > 1:
                x = x / peak
        elif op["op"] == "gain":
            g = 10 ** (op["db"] / 20)
            peak = np.abs(x).max()
            x = x * min(g, 0.99997 / max(peak, 1e-12))
    sf.write(os.path.join(out_dir, item["id"] + ".flac"), x, 16000, subtype="PCM_16")
    return len(x) / 16000


def versions():
    import scipy
    return {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
            "soundfile": sf.__version__, "libsndfile": sf.__libsndfile_version__}


def main():
    if sys.argv[1:] == ["--versions"]:
        print(json.dumps(versions()))
        return
    plan, out_dir, workers, noise_dir, rir_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    os.makedirs(out_dir, exist_ok=True)
    items = [json.loads(l) for l in open(plan)]
    t0 = time.time()
    jobs = [(it, out_dir, noise_dir, rir_dir) for it in items]
    if workers <= 1:
        total = sum(map(process, jobs))
    else:
        with Pool(workers) as p:
            total = sum(p.imap(process, jobs, chunksize=8))
    wall = time.time() - t0
    print(json.dumps({"audio_s": total, "wall_s": wall}))


if __name__ == "__main__":
    main()
