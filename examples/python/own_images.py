#!/usr/bin/python3
"""Your own classifier on your own photos, from Python, in the shapes you
already have: a torch.nn.Module and a folder with one subfolder per class
(torchvision's ImageFolder layout).

  1. FeatureExtractor(module): the module is scripted (or traced) for you;
  2. extract(folder, ...): the penultimate features of every image, with its
     label, class name and file;
  3. kNN accuracy in pixel space vs feature space, and a t-SNE map;
  4. embedviz.report(...): the whole HTML report with the same model, when
     the embedviz tool has --images (else the command to run is printed).

Without --images, a small synthetic folder (12 classes of coloured noise) is
made; without --weights, ResNet-18 has random weights (the map then shows
what an untrained network sees).

  EMBEDVIZ_LIBRARY=build/libembedviz.so.1 EMBEDVIZ_CLI=build/embedviz PYTHONPATH=bindings/python \\
    /usr/bin/python3 examples/python/own_images.py --images photos/val --weights resnet18.pth
"""
import argparse
import os
import tempfile

import numpy as np
import torch
import torchvision

import embedviz
from embedviz import TSNE, FeatureExtractor, NearestNeighbors


def synthetic_folder(root, classes=12, per_class=8, seed=0):
    """Colour images of mixed sizes, PNG and JPEG: class c is noise around a
    colour of its own."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    for c in range(classes):
        os.makedirs(os.path.join(root, "class_%02d" % c))
        colour = rng.integers(0, 256, 3)
        for k in range(per_class):
            h, w = rng.integers(48, 96, 2)
            px = np.clip(colour + rng.normal(0, 60, (h, w, 3)), 0, 255).astype(np.uint8)
            ext = "png" if k % 2 else "jpg"
            Image.fromarray(px).save(os.path.join(root, "class_%02d" % c, "%d.%s" % (k, ext)))
    return root


def knn_accuracy(x, labels, k=5):
    """Leave-one-out k-nearest-neighbour accuracy (majority of k)."""
    _, idx = NearestNeighbors(n_neighbors=k).fit(x).kneighbors()
    votes = labels[idx]
    pred = np.array([np.bincount(v, minlength=labels.max() + 1).argmax() for v in votes])
    return float((pred == labels).mean())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", help="folder with one subfolder per class (default: a synthetic one)")
    p.add_argument("--weights", help="a state_dict for torchvision's ResNet-18 (default: random)")
    p.add_argument("--side", type=int, default=112, help="the crop's side (ImageNet: 224)")
    p.add_argument("--report", default="own-report", help="the report folder")
    args = p.parse_args()

    tmpdir = tempfile.TemporaryDirectory()      # removed at exit
    tmp = tmpdir.name
    folder = args.images or synthetic_folder(os.path.join(tmp, "photos"))
    n_classes = len([d for d in os.scandir(folder) if d.is_dir()])
    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=n_classes)
    if args.weights:
        net.load_state_dict(torch.load(args.weights, map_location="cpu"))
    net.eval()

    with FeatureExtractor(net) as fx:                       # scripted into a temporary file
        print("model:", fx)
        res = fx.extract(folder, ["avgpool", "softmax"], pool=True, resize=args.side * 8 // 7,
                         crop=args.side, skip_bad=True)
    print("features:", res["avgpool"].shape, "classes:", len(res.classes), "first:", res.paths[0],
          "->", res.classes[res.labels[0]])
    for path, reason in res.skipped:
        print("skipped %s: %s" % (path, reason))

    # pixels of the same images, as the network saw them (one row each)
    from PIL import Image
    side = 32
    px = np.stack([np.asarray(Image.open(f).convert("RGB").resize((side, side)), np.float32).ravel() / 255
                   for f in res.paths])
    print("kNN accuracy: pixels %.3f, features %.3f"
          % (knn_accuracy(px, res.labels), knn_accuracy(res["avgpool"], res.labels)))
    emb = TSNE(perplexity=min(30, (len(res) - 1) // 3), random_state=0).fit_transform(res["avgpool"])
    print("t-SNE map:", emb.shape)

    try:
        has_images = "images" in embedviz._report.tool_options(embedviz.tool_path())
    except embedviz.ToolNotFoundError as e:
        print("no report: %s" % e)
        return
    if not has_images:
        print("no report: this embedviz tool has no --images yet; with a newer one:\n"
              "  embedviz.report(images=%r, model=net, output=%r)" % (folder, args.report))
        return
    r = embedviz.report(images=folder, model=net, output=args.report, resize=args.side * 8 // 7,
                        crop=args.side, progress=False)
    print("report:", r.index)


if __name__ == "__main__":
    main()
