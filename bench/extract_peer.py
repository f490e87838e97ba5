#!/usr/bin/python3
"""Peer of bench/extract_driver.c: the same avgpool activations with
Python torch (same libtorch), same threads and batch size.

  extract_peer.py make DIR N            ResNet-18 (random init, 1000 classes)
                                        scripted to DIR/resnet18_224.pt, and
                                        N random 3x224x224 images DIR/input.f32
  extract_peer.py run DIR N BATCH THREADS OURS.f32
                                        time torchvision's
                                        create_feature_extractor(avgpool) in
                                        inference mode; print a BENCH line with
                                        max_abs_diff against our output
"""
import resource
import sys
import os
import time

import numpy as np
import torch
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor


def model():
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


def make(d, n):
    torch.jit.save(torch.jit.script(model()), d + "/resnet18_224.pt")
    g = torch.Generator().manual_seed(1)
    torch.randn(n, 3, 224, 224, generator=g).numpy().tofile(d + "/input.f32")


def run(d, n, batch, threads, ours):
    torch.set_num_threads(threads)
    x = torch.from_numpy(np.fromfile(d + "/input.f32", dtype=np.float32)
                         .reshape(n, 3, 224, 224))
    fx = create_feature_extractor(model(), {"avgpool": "avgpool"}).eval()
    out = torch.empty(n, 512)
    with torch.inference_mode():
        fx(x[:batch])  # warm-up, as the driver does
        reps = max(1, int(os.environ.get("EXTRACT_REPS", "3")))
        secs = float("inf")
        for _ in range(reps):  # the best of reps, as the driver
            t0 = time.perf_counter()
            for i in range(0, n, batch):
                out[i:i + batch] = fx(x[i:i + batch])["avgpool"].flatten(1)
            secs = min(secs, time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    mine = torch.from_numpy(np.fromfile(ours, dtype=np.float32).reshape(n, 512))
    diff = (mine - out).abs().max().item()
    print("BENCH case=extract_resnet18_avgpool_%d impl=torch-python "
          "seconds=%.3f peak_mb=%.1f batch=%d threads=%d reps=%d max_abs_diff=%.2e"
          % (n, secs, peak, batch, threads, reps, diff))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    else:
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
            sys.argv[6])
