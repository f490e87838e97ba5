#!/usr/bin/python3
"""The classic "t-SNE of a network's features" tutorial, end to end, with
embedviz in place of scikit-learn and of torch's forward hooks:

  1. load a trained TorchScript model (the demo's Fashion-MNIST CNN,
     made by scripts/train_demo_model.py); without one, torchvision's
     ResNet-18 with random weights, scripted here (the map then shows what
     an untrained network sees);
  2. take the activations of a layer for the Fashion-MNIST test images;
  3. PCA to 50 dimensions, t-SNE to 2;
  4. the ambiguity of each prediction and the confusion matrix;
  5. a scatter plot coloured by class (matplotlib, when installed).

  EMBEDVIZ_LIBRARY=build/libembedviz.so.1 PYTHONPATH=bindings/python \\
    /usr/bin/python3 examples/python/features_tsne.py --model build/demo/model.pt --n 2000
"""
import argparse
import os
import sys
import tempfile

import numpy as np

import embedviz
from embedviz import PCA, TSNE, FeatureExtractor, confusion_matrix, most_ambiguous

DATA = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def resnet18_scripted(folder):
    """torchvision's ResNet-18 (random weights, 1 grey channel in),
    scripted to a file libembedviz can load."""
    import torch
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=10)
    net.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    path = os.path.join(folder, "resnet18.pt")
    torch.jit.save(torch.jit.script(net.eval()), path)
    return path, "avgpool"


def read_labels(path):
    import gzip
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)


def read_images(path, n):
    """The first n images of an IDX file as n x 1 x 28 x 28 floats in
    [0, 1] (what the library gives for the whole file: grey, pixels / 255)."""
    import gzip
    with gzip.open(path, "rb") as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16)
    return (raw.reshape(-1, 1, 28, 28)[:n] / np.float32(255)).astype(np.float32)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="build/demo/model.pt")
    p.add_argument("--layer", default="fc1", help="layer whose features are mapped")
    p.add_argument("--n", type=int, default=2000, help="test images to use")
    p.add_argument("--out", default="features_tsne.png")
    args = p.parse_args()

    tmp = tempfile.mkdtemp()
    model, layer = args.model, args.layer
    if not os.path.exists(model):
        print("no %s: using a scripted ResNet-18 with random weights" % model)
        model, layer = resnet18_scripted(tmp)

    fx = FeatureExtractor(model)
    print("layers:", ", ".join(fx.layers))
    images = os.path.join(DATA, "t10k-images-idx3-ubyte.gz")
    labels = read_labels(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz"))[:args.n]
    # Only the tutorial's subset goes through the network (a numpy batch;
    # fx.activations(images, ...) would read the whole IDX file itself, all
    # 10,000 images).
    want = [layer, "softmax"] if "softmax" in fx.layers else [layer]
    acts = fx.activations(read_images(images, args.n), want, batch_size=128, pool=True)
    feats = acts[layer]
    print("features:", feats.shape)

    reduced = PCA(n_components=min(50, feats.shape[1]), random_state=0).fit_transform(feats)
    tsne = TSNE(n_components=2, perplexity=30, init="pca", random_state=0, progress=True)
    emb = tsne.fit_transform(reduced)
    print("t-SNE: KL %.3f after %d iterations" % (tsne.kl_divergence_, tsne.n_iter_ + 1))

    if "softmax" in acts:
        probs = acts["softmax"]
        pred = probs.argmax(1)
        print("accuracy %.3f" % (pred == labels).mean())
        print("confusion matrix (rows: true class):\n", confusion_matrix(labels, pred))
        print("most ambiguous images:", most_ambiguous(probs, 10).tolist())

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        np.save(os.path.splitext(args.out)[0] + ".npy", emb)
        print("matplotlib missing: map saved as .npy")
        return 0
    fig, ax = plt.subplots(figsize=(8, 8))
    for c in range(10):
        sel = labels == c
        ax.scatter(emb[sel, 0], emb[sel, 1], s=4, label=CLASSES[c])
    ax.legend(markerscale=4, fontsize=8)
    ax.set_title("t-SNE of %s features (%d Fashion-MNIST test images)" % (layer, args.n))
    fig.savefig(args.out, dpi=100)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
