#!/usr/bin/env python3
"""PyTorch reference for bench/gpu-kernels.mjs: the same batched FFT convolution (256 clips x
160 000 samples at 16 kHz, each with its own 8 000-tap RIR, output aligned: samples
[delay, delay + n) of the full convolution) with torch.fft.rfft / irfft on CUDA, plus a device copy
and batched complex FFTs of the sizes the WebGPU bench runs. One JSON line per measurement.

Timing: CUDA events around `iters` repetitions, after a warm-up (cuFFT plans are cached by then),
median of `runs` runs, per repetition.

  python3 bench/gpu-torch.py [--quick]
"""
import json
import sys

import torch

QUICK = "--quick" in sys.argv
RUNS = 3 if QUICK else 7
dev = torch.device("cuda")
name = torch.cuda.get_device_name(0)


def emit(**kw):
    print(json.dumps({"device": name, "torch": torch.__version__, **kw}), flush=True)


def timed(fn, iters):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(RUNS):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / iters)
    times.sort()
    return times[len(times) // 2]


def fast_size(n):
    """Smallest 2^a 3^b 5^c 7^d >= n (sizes cuFFT handles fastest besides powers of two)."""
    best = 1 << (n - 1).bit_length()
    p7 = 1
    while p7 < best:
        p5 = p7
        while p5 < best:
            p3 = p5
            while p3 < best:
                p2 = p3
                while p2 < n:
                    p2 *= 2
                best = min(best, p2)
                p3 *= 3
            p5 *= 5
        p7 *= 7
    return best


# ---- device copy (reference bandwidth)
nbytes = (16 if QUICK else 256) << 20
a = torch.empty(nbytes // 4, device=dev)
b = torch.empty_like(a)
ms = timed(lambda: b.copy_(a), 2 if QUICK else 20)
emit(kernel="copy", bytes=2 * nbytes, ms=round(ms, 4), gbps=round(2 * nbytes / ms / 1e6, 1))
del a, b

# ---- batched complex FFT, 2^24 points per batch
points = 1 << (20 if QUICK else 24)
x = torch.randn(points, dtype=torch.complex64, device=dev)
for size in ([1 << 10, 1 << 16] if QUICK else [1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20]):
    rows = points // size
    xv = x.view(rows, size)
    ms = timed(lambda: torch.fft.fft(xv, dim=-1), 2 if QUICK else 10)
    emit(kernel="fft", size=size, rows=rows, bytes=16 * points, ms=round(ms, 4), gbps=round(16 * points / ms / 1e6, 1))
del x

# ---- batched FFT convolution, each row with its own RIR, aligned output
B = 8 if QUICK else 256
n = 32000 if QUICK else 160000
m = 2000 if QUICK else 8000
delay = 40
sig = torch.randn(B, n, device=dev) * 0.3
decay = torch.exp(-torch.arange(m, device=dev, dtype=torch.float32) / (m / 6))
rir = torch.randn(B, m, device=dev) * decay
audio_hours = B * n / 16000 / 3600
full = n + m - 1
for label, nfft in [("pow2", 1 << (full - 1).bit_length()), ("fast", fast_size(full)), ("exact", full)]:
    def total():
        X = torch.fft.rfft(sig, n=nfft)
        H = torch.fft.rfft(rir, n=nfft)
        return torch.fft.irfft(X * H, n=nfft)[:, delay:delay + n]

    H = torch.fft.rfft(rir, n=nfft)

    def convolve():
        return torch.fft.irfft(torch.fft.rfft(sig, n=nfft) * H, n=nfft)[:, delay:delay + n]

    for kind, fn in [("total", total), ("convolve", convolve)]:
        ms = timed(fn, 2 if QUICK else 10)
        emit(kernel=f"fftconv.{kind}", nfft=nfft, nfft_kind=label, rows=B, samples=n, rir_taps=m, ms=round(ms, 4),
             audio_hours_per_s=round(audio_hours / (ms / 1000)))
    del H

# Check once that the aligned slice is what convolveAligned means: (x * h)[t + delay].
nfft = 1 << (full - 1).bit_length()
y = torch.fft.irfft(torch.fft.rfft(sig[:1].double(), n=nfft) * torch.fft.rfft(rir[:1].double(), n=nfft), n=nfft)[0, delay:delay + n]
direct = torch.nn.functional.conv1d(sig[:1, None].double(), rir[:1, None].flip(-1).double(), padding=m - 1)[0, 0, delay:delay + n]
emit(kernel="fftconv.check", rel_l2=float((y - direct).norm() / direct.norm()))

# ---- resampling (speed 1.1 = 11 -> 10), if torchaudio is there
try:
    import torchaudio.functional as AF

    xs = torch.randn(B, n, device=dev)
    ms = timed(lambda: AF.resample(xs, 11, 10), 2 if QUICK else 10)
    emit(kernel="resample.speed", factor=1.1, rows=B, samples=n, ms=round(ms, 4), note="torchaudio.functional.resample (sinc_interp_hann, 6 zero crossings)")
except Exception as e:  # noqa: BLE001 - optional comparison
    emit(kernel="resample.speed", skipped=str(e))
