#!/usr/bin/env bash
# io: reading data sets. libembedviz against what a user would do instead in
# the same run: torchvision 0.14's PIL path (Resize(256), CenterCrop(224),
# ToTensor, Normalize) in one process and with a 2-worker DataLoader, and
# numpy + gzip for IDX files.
#   bash bench/bench-io.sh        (N=${N:-256} photos)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
N=${N:-256}
B=build/bench; mkdir -p $B
cc -std=c11 -D_GNU_SOURCE -O2 -Iinclude bench/bench_io.c -o $B/bench_io \
  build/libembedviz.a -lopenblas -llapacke -larpack -lfftw3f -lz -lm -fopenmp \
  $(grep -q ltorch <(make -pn 2>/dev/null | grep '^DEP_LIBS') && echo -ltorch -ltorch_cpu -lc10 -lstdc++) || exit 1
IMG=/usr/lib/python3/dist-packages/sklearn/datasets/images
PHOTOS="$IMG/china.jpg $IMG/flower.jpg"
$B/bench_io jpeg 1 "$N" $PHOTOS
$B/bench_io jpeg 2 "$N" $PHOTOS
$PY - "$N" $PHOTOS <<'PYEOF'
import resource, sys, time
import torch
from PIL import Image
from torchvision import transforms
n, photos = int(sys.argv[1]), sys.argv[2:]
torch.set_num_threads(1)
tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                         transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
class DS(torch.utils.data.Dataset):
    def __len__(self): return n
    def __getitem__(self, i): return tf(Image.open(photos[i % len(photos)]).convert("RGB"))
for workers in (0, 2):
    t0 = time.perf_counter(); s = 0.0
    for b in torch.utils.data.DataLoader(DS(), batch_size=32, num_workers=workers):
        s += float(b[0].flatten()[3 * 224 * 224 // 2])
    t = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if workers: peak += resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"BENCH case=imagenet_preprocess_jpeg n={n} impl=torchvision-pil-{workers}w "
          f"seconds={t:.3f} peak_mb={peak:.1f} images_per_s={n / t:.1f}")
PYEOF
F=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
if [ -f $F ]; then
  $B/bench_io idx $F
  $PY - $F <<'PYEOF'
import gzip, resource, sys, time
import numpy as np
t0 = time.perf_counter()
with gzip.open(sys.argv[1], "rb") as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
t = time.perf_counter() - t0
print(f"BENCH case=idx_read_train impl=numpy-gzip seconds={t:.3f} "
      f"peak_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} items={x.shape[0]}")
PYEOF
  L=/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz
  $B/bench_io idxds $F $L 2
  $PY - $F <<'PYEOF'
# what torchvision.datasets.FashionMNIST does per item: a PIL "L" image,
# then the transforms
import gzip, resource, sys, time
import numpy as np, torch
from PIL import Image
from torchvision import transforms
torch.set_num_threads(1)
with gzip.open(sys.argv[1], "rb") as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
class DS(torch.utils.data.Dataset):
    def __init__(self, tf): self.tf = tf
    def __len__(self): return len(x)
    def __getitem__(self, i): return self.tf(Image.fromarray(x[i], mode="L"))
cases = {"1x28x28": transforms.ToTensor(),
         "3x32x32": transforms.Compose([transforms.Grayscale(3), transforms.Resize(32), transforms.ToTensor(),
                                        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])}
for name, tf in cases.items():
    t0 = time.perf_counter()
    for b in torch.utils.data.DataLoader(DS(tf), batch_size=256): pass
    t = time.perf_counter() - t0
    print(f"BENCH case=fashion_mnist_tensors_{name} n={len(x)} impl=torchvision-pil-0w seconds={t:.3f} "
          f"peak_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")
PYEOF
fi
