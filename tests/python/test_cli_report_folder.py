"""embedviz report on a person's own data: a folder of colour photos in class
folders (PNG and JPEG of mixed sizes, 12 classes, a few bad files) through a
TorchScript torchvision ResNet-18 with random weights, and features computed
elsewhere (--features) without a model. Checks the page and its pictures:
class names, counts, colour and aspect of the thumbnails, the skipped-file
list, the softmax and split statements, and each bad input's message."""
import json
import os
import re
import signal
import subprocess

import numpy as np
import pytest

from cli_util import browser_test, run, tool_path

N_CLASSES = 12
PER_CLASS = 7
SIZES = [(120, 80), (80, 120), (100, 100), (150, 60), (64, 96), (90, 90), (200, 100)]
FAST = ["--resize", 64, "--crop", 64, "--perplexity", 5, "--iterations", 250, "-q"]


def class_colour(c):
    """A saturated colour per class: red, green, blue, ... never grey."""
    hue = c / N_CLASSES
    import colorsys
    return tuple(int(255 * v) for v in colorsys.hsv_to_rgb(hue, 0.9, 0.95))


def make_folder(root, classes=N_CLASSES, per=PER_CLASS, bad=True):
    """root/class_XX/img_YYY.{png,jpg}: a coloured shape per class (ellipse,
    box, triangle in turn) on a dark background, sizes from SIZES. With
    bad: an image file that is not an image, a note, two grey PNGs and a
    PNG whose header announces more pixels than the decoder takes."""
    from PIL import Image, ImageDraw
    rng = np.random.default_rng(0)
    files = []
    for c in range(classes):
        d = root / f"class_{c:02d}"
        d.mkdir(parents=True)
        for k in range(per):
            w, h = SIZES[(k + c) % len(SIZES)]
            im = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(0, 50, 3)))
            dr = ImageDraw.Draw(im)
            x0, y0 = int(rng.integers(0, w // 3)), int(rng.integers(0, h // 3))
            box = [x0, y0, x0 + w // 2, y0 + h // 2]
            if c % 3 == 0:
                dr.ellipse(box, fill=class_colour(c))
            elif c % 3 == 1:
                dr.rectangle(box, fill=class_colour(c))
            else:
                dr.polygon([(box[0], box[3]), ((box[0] + box[2]) // 2, box[1]), (box[2], box[3])], fill=class_colour(c))
            name = d / (f"img_{k:03d}." + ("png" if k % 2 else "jpg"))
            im.save(name, quality=92)
            files.append((str(name), c, w, h))
    if bad:
        (root / "class_01" / "broken.png").write_bytes(b"this is not a picture\n")
        (root / "class_00" / "notes.txt").write_text("not an image\n")
        # a JPEG cut in half: its header reads, its pixels do not
        whole = (root / "class_04" / "img_000.jpg").read_bytes()
        (root / "class_04" / "cut.jpg").write_bytes(whole[: len(whole) // 2])
        for k in range(2):   # grey files: converted to RGB for the model
            from PIL import Image as I
            g = I.fromarray((np.arange(50 * 70).reshape(50, 70) % 200).astype(np.uint8), "L")
            g.save(root / "class_02" / f"grey_{k}.png")
            files.append((str(root / "class_02" / f"grey_{k}.png"), 2, 70, 50))
        # 20000 x 10000 pixels announced: above PIL's decompression-bomb limit
        ihdr = b"\x00\x00\x00\x0dIHDR" + (20000).to_bytes(4, "big") + (10000).to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
        (root / "class_03" / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr + bytes(4))
    # ImageFolder order: classes by name, files by name within a class
    files.sort(key=lambda f: (f[1], os.path.basename(f[0])))
    return files


def needs_torch():
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError:
        pytest.skip("torch and torchvision are not importable (Debian: python3-torch, python3-torchvision)")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    needs_torch()
    import torch
    import torchvision
    root = tmp_path_factory.mktemp("photos")
    files = make_folder(root / "images")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=N_CLASSES).eval()
    torch.jit.save(torch.jit.script(model), str(root / "model.pt"))
    return root, files


@pytest.fixture(scope="module")
def report(data):
    root, _ = data
    out = root / "report"
    status, _, err = run("report", "--images", root / "images", "--model", root / "model.pt", "-o", out, *FAST, ok=False)
    if "lacks" in err or "not available" in err:
        pytest.skip("this libembedviz build has no extraction (libtorch): " + err.strip())
    assert status == 0, err
    return out


def page_data(out):
    page = (out / "index.html").read_text()
    m = re.search(r"window\.EMBEDVIZ=\{(.*?)\};</script>", page, re.S)
    assert m, "no EMBEDVIZ data on the page"
    return page, m.group(1)


def js_list(blob, key):
    m = re.search(key + r":(?:new \w+\()?\[([^\]]*)\]", blob)
    assert m, key
    return json.loads("[" + m.group(1) + "]")


def readable(files):
    """The files the report can read (not the bad ones), ImageFolder order."""
    return [f for f in files if "huge" not in f[0] and "broken" not in f[0] and "cut.jpg" not in f[0]]


def test_page_names_every_class_and_counts_the_images(report, data):
    _, files = data
    page, blob = page_data(report)
    names = js_list(blob, "names")
    assert names == [f"class_{c:02d}" for c in range(N_CLASSES)]
    n = len(readable(files))
    labels = js_list(blob, "labels")
    assert len(labels) == n
    assert labels == [f[1] for f in readable(files)]   # ImageFolder order
    assert f"{n} images of {N_CLASSES} classes" in page
    for c in range(N_CLASSES):
        assert f"class_{c:02d}" in page


def test_every_link_and_picture_of_the_page_is_a_file_of_the_report(report):
    """Default layers include "fc:input": its map's file must not carry the
    ':' (a browser reads "map_2_fc:input.png" as a URL of scheme
    "map_2_fc"), and every relative link and image must be there."""
    page = (report / "index.html").read_text()
    refs = re.findall(r'(?:href|src)="([^"#]+)"', page)
    local = [r for r in refs if not r.startswith(("http://", "https://", "data:"))]
    assert any(r.startswith("map_") for r in local)
    for r in local:
        assert ":" not in r, r
        assert (report / r).is_file(), r
    assert "fc:input" in page                      # the layer keeps its name on the page


def test_page_lists_the_skipped_and_ignored_files(report):
    page, _ = page_data(report)
    skipped = re.search(r'<details class="skipped".*?</details>', page, re.S)
    assert skipped, "no list of skipped files"
    s = skipped.group(0)
    assert "2 files could not be read" not in s and "3 files could not be read" in s
    assert "broken.png" in s and "not a readable" in s
    assert "cut.jpg" in s and "truncated" in s
    assert "huge.png" in s and "20000 x 10000" in s
    ignored = re.search(r'<details class="ignored".*?</details>', page, re.S)
    assert ignored and "notes.txt" in ignored.group(0)


def test_page_states_softmax_split_grey_conversion_and_pooling(report, data):
    _, files = data
    page, _ = page_data(report)
    assert "softmax was applied" in page          # the model returns logits
    n = len(readable(files))
    m = re.search(r"the (\d+) test images were split per class at random \(seed 0\): (\d+) \(about 80%\) form the "
                  r"reference set the neighbours are searched in, (\d+) \(about 20%\)", page)
    assert m, "no split statement"
    total, ref, held = map(int, m.groups())
    assert total == n and ref + held == n
    per_class = {}
    for f in readable(files):
        per_class[f[1]] = per_class.get(f[1], 0) + 1
    assert held == sum(int(np.floor(0.2 * k + 0.5)) or 1 for k in per_class.values())
    assert "2 grey images were converted to RGB" in page
    assert "global average pooling" in page
    assert "Resize(64), CenterCrop(64)" in page


def rgb(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def coloured(px, spread=60):
    """Pixels whose channels differ clearly: colour, not grey."""
    return int(((px.max(axis=2) - px.min(axis=2)) > spread).sum())


def test_thumbnails_are_colour_and_keep_the_aspect_ratio(report, data):
    _, files = data
    page, _ = page_data(report)
    rows = readable(files)
    shown = re.findall(r'<img src="ambiguous_(\d+)\.png" alt="test image (\d+)"', page)
    assert len(shown) == 12
    aspects = set()
    for k, i in shown:
        path, c, w, h = rows[int(i)]
        px = rgb(report / f"ambiguous_{k}.png")
        ph, pw = px.shape[:2]
        assert max(pw, ph) == 64, (path, pw, ph)
        assert abs(pw / ph - w / h) < 0.05 * (w / h) + 1 / 32, f"{path}: {w} x {h} shown as {pw} x {ph}"
        aspects.add(round(pw / ph, 1))
        if "grey" not in path:
            assert coloured(px) > 20, f"{path}'s thumbnail is not in colour"
    for name in ("neighbours_pixels.png", "neighbours_features.png", "image_map.png"):
        assert coloured(rgb(report / name)) > 2000, f"{name} has no colour"
    sprite = rgb(report / "sprite.jpg")
    assert sprite.shape[1] == 64 * 64
    assert coloured(sprite) > 5000


def test_image_map_keeps_the_aspect_ratio(report, data):
    """A 150 x 60 photo's thumbnail is 64 x 26 inside its 64 x 64 cell: the
    sprite's cell of such an image has white rows above and below it."""
    _, files = data
    rows = readable(files)
    i = next(k for k, f in enumerate(rows) if (f[2], f[3]) == (150, 60))
    sprite = rgb(report / "sprite.jpg")
    cell = sprite[(i // 64) * 64:(i // 64 + 1) * 64, (i % 64) * 64:(i % 64 + 1) * 64]
    white = (cell.min(axis=(1, 2)) > 235)   # rows entirely white
    assert white[:15].all() and white[-15:].all() and not white[32]


def test_class_count_mismatch_names_both_numbers(data, tmp_path):
    root, _ = data
    make_folder(tmp_path / "five", classes=5, per=3, bad=False)
    status, _, err = run("report", "--images", tmp_path / "five", "--model", root / "model.pt", "-o", tmp_path / "r",
                         *FAST, ok=False)
    assert status == 1
    assert "12 class scores" in err and "5 class folders" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("case", ["empty class", "no classes", "not torchscript", "unknown layer", "output a file"])
def test_bad_inputs_say_what_is_wrong_and_write_nothing(data, tmp_path, case):
    root, _ = data
    images, model, out = root / "images", root / "model.pt", tmp_path / "out"
    extra = []
    if case == "empty class":
        images = tmp_path / "imgs"
        make_folder(images, classes=2, per=3, bad=False)
        (images / "class_99").mkdir()
        want = "class_99 has no image files"
    elif case == "no classes":
        images = tmp_path / "loose"
        images.mkdir()
        from PIL import Image
        Image.new("RGB", (20, 20), (200, 10, 10)).save(images / "a.png")
        want = "has no class sub-folders"
    elif case == "not torchscript":
        model = tmp_path / "weights.pt"
        import torch
        import torchvision
        torch.save(torchvision.models.resnet18(num_classes=N_CLASSES).state_dict(), str(model))
        want = "torch.jit.save(torch.jit.script(model)"
    elif case == "unknown layer":
        extra = ["--layers", "pixels,layer9,avgpool,output"]
        want = 'no layer "layer9"'
    else:
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out"
        want = "cannot make the folder"
    status, _, err = run("report", "--images", images, "--model", model, "-o", out, *FAST, *extra, ok=False)
    assert status == 1, err
    assert want in err, err
    assert not (out / "index.html").exists()


def test_ctrl_c_leaves_no_index_html(data, tmp_path):
    root, _ = data
    out = tmp_path / "r"
    p = subprocess.Popen([tool_path(), "report", "--images", str(root / "images"), "--model", str(root / "model.pt"),
                          "-o", str(out), "--resize", "64", "--crop", "64", "--iterations", "100000"],
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:   # interrupt once the maps are being made
        if "t-SNE" in line:
            p.send_signal(signal.SIGINT)
            break
    err = p.stderr.read()
    assert p.wait(120) == 130, err
    assert "cancelled" in err
    assert not (out / "index.html").exists()
    assert not [f for f in os.listdir(out) if f.startswith(".index.html")] if out.exists() else True


def test_reference_images_folder(data, tmp_path):
    root, _ = data
    ref = tmp_path / "train"
    make_folder(ref, per=4, bad=False)
    out = tmp_path / "r"
    run("report", "--images", root / "images", "--reference-images", ref, "--model", root / "model.pt", "-o", out, *FAST)
    page, _ = page_data(out)
    assert f"searched among {N_CLASSES * 4} images of the reference folder" in page
    assert coloured(rgb(out / "neighbours_features.png")) > 2000


def features_inputs(tmp_path, files):
    rows = [f for f in files if "huge" not in f[0]]   # the list names every row's image
    broken = os.path.join(os.path.dirname(rows[0][0]), "..", "class_01", "broken.png")
    rows.append((os.path.normpath(broken), 1, 0, 0))   # a row whose picture cannot be read
    rng = np.random.default_rng(1)
    y = np.array([f[1] for f in rows])
    feat = (rng.normal(size=(len(rows), 16)) + 3 * np.eye(N_CLASSES)[y] @ rng.normal(size=(N_CLASSES, 16)))
    np.save(tmp_path / "F.npy", feat.astype(np.float32))
    np.save(tmp_path / "L.npy", y.astype(np.int64))
    np.save(tmp_path / "S.npy", (2 * np.eye(N_CLASSES)[y] + rng.normal(size=(len(rows), N_CLASSES))).astype(np.float32))
    (tmp_path / "list.txt").write_text("".join(f[0] + "\n" for f in rows))
    return rows


def test_features_without_a_model_with_an_image_list(data, tmp_path):
    _, files = data
    rows = features_inputs(tmp_path, files)
    out = tmp_path / "r"
    run("report", "--features", tmp_path / "F.npy", "--labels", tmp_path / "L.npy", "--scores", tmp_path / "S.npy",
        "--images", tmp_path / "list.txt", "-o", out, *FAST[4:])
    page, blob = page_data(out)
    assert len(js_list(blob, "labels")) == len(rows)
    assert "No model was run" in page and "softmax was applied" in page
    assert "broken.png" in page   # listed, its row kept with a blank picture
    for name in ("image_map.png", "neighbours_pixels.png", "confusion.png", "ambiguous_00.png"):
        assert (out / name).exists(), name
    assert coloured(rgb(out / "image_map.png")) > 2000


def test_features_alone_has_no_picture_sections(data, tmp_path):
    _, files = data
    features_inputs(tmp_path, files)
    out = tmp_path / "r"
    run("report", "--features", tmp_path / "F.npy", "--labels", tmp_path / "L.npy", "-o", out, *FAST[4:])
    page, blob = page_data(out)
    assert "the report has no pictures" in page
    assert "sprite:null" in blob
    assert not (out / "image_map.png").exists() and not (out / "confusion.png").exists()
    assert (out / "maps_by_depth.png").exists() and (out / "pca_biplot.png").exists()
    assert 'src="image_map.png"' not in page and 'src="confusion.png"' not in page


def test_colour_report_in_headless_chromium(report):
    """tests/browser/test_report.py on the colour report: hovering shows the
    picture, clicking a point shows its colour image."""
    stdout, _ = browser_test(report, "report-colour.png")
    assert "the clicked point's image is in colour" in stdout


# ---- the side panel's feature maps: real maps, not the pooled values ------------

def resnet_layer1(root, paths, crop):
    """ResNet-18's layer1 for the files, preprocessed as the report does
    (torchvision's Resize(crop), CenterCrop(crop), ToTensor, ImageNet's
    Normalize), by torch itself."""
    import torch
    from PIL import Image
    from torchvision import transforms as T
    model = torch.jit.load(str(root / "model.pt")).eval()
    tf = T.Compose([T.Resize(crop), T.CenterCrop(crop), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in paths])
    with torch.no_grad():
        h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        return model.layer1(h).numpy()


def test_folder_report_shows_layer1s_maps_within_the_budget(data, tmp_path):
    """layer1 is pooled to 64 values for its map; the side panel gets its 64
    maps of 32 x 32 (crop 128) from a second, unpooled pass. A budget of
    0.5 MB is too small for 64 x 32 x 32 a point: the maps are averaged over
    2 x 2 blocks to 16 x 16 (not below 14) and 30 of the images keep them
    (30 x 16,384 pixels), evenly spread, each cell torch's maps."""
    from PIL import Image
    root, files = data
    out = tmp_path / "r"
    status, _, err = run("report", "--images", root / "images", "--model", root / "model.pt", "-o", out,
                         "--resize", 128, "--crop", 128, "--perplexity", 5, "--iterations", 250, "-q",
                         "--feature-maps-budget", 0.5, ok=False)
    if "not available" in err:
        pytest.skip("this libembedviz build has no extraction (libtorch): " + err.strip())
    assert status == 0, err
    page, blob = page_data(out)
    fm = json.loads(re.sub(r"(\w+):", r'"\1":', re.search(r"fmaps:(\{[^}]*\})", blob).group(1)))
    n = len(readable(files))
    assert (fm["layer"], fm["c"], fm["h0"], fm["w0"], fm["step"], fm["h"], fm["w"]) == ("layer1", 64, 32, 32, 2, 16, 16)
    assert (fm["n"], fm["shown"], fm["grid"], fm["cellW"], fm["cellH"]) == (n, 30, 8, 128, 128)
    rows = js_list(blob, "fmapsRows")
    assert rows == [j * n // 30 for j in range(30)]
    assert "unpooled pass over 30 of the %d images, each map averaged over 2 x 2 blocks to 16 x 16" % n in page
    with Image.open(out / "feature_maps.png") as im:
        assert im.mode == "L" and im.size == (fm["perRow"] * 128, -(-30 // fm["perRow"]) * 128)
        g = np.asarray(im).astype(int)
    picked = [0, 13, 29]
    maps = resnet_layer1(root, [readable(files)[rows[j]][0] for j in picked], 128)
    small = maps.reshape(len(picked), 64, 16, 2, 16, 2).mean(axis=(3, 5))
    for k, j in enumerate(picked):
        ox, oy = (j % fm["perRow"]) * 128, (j // fm["perRow"]) * 128
        for m in (0, 9, 63):
            cell = g[oy + (m // 8) * 16: oy + (m // 8) * 16 + 16, ox + (m % 8) * 16: ox + (m % 8) * 16 + 16]
            want = np.clip((small[k, m] - fm["lo"]) / (fm["hi"] - fm["lo"]) * 255, 0, 255)
            assert np.abs(cell - want).max() <= 2, (j, m)


def test_explain_on_the_folder_shows_conv1s_maps_of_that_image(data, tmp_path):
    """embedviz explain --images DIR --model: image N in ImageFolder order,
    its class by folder name, and the model's first Conv2d maps for it
    (64 of 32 x 32 at crop 64): torch's conv1 of that file."""
    import torch
    from PIL import Image
    from torchvision import transforms as T
    root, files = data
    n = 11
    status, stdout, err = run("explain", "--images", root / "images", "--model", root / "model.pt", "--index", n,
                              "-o", tmp_path / "e.png", "--maps-output", tmp_path / "maps.npy", *FAST, ok=False)
    if "not available" in err:
        pytest.skip("this libembedviz build has no extraction (libtorch): " + err.strip())
    assert status == 0, err
    f = {l.split(" ", 1)[0]: l.split(" ", 1)[1] for l in stdout.splitlines() if " " in l}
    path, label = readable(files)[n][:2]
    assert f["maps"] == "conv1 (first Conv2d of the model): 64 maps of 32 x 32"
    assert f["true"] == "%d (class_%02d)" % (label, label)
    model = torch.jit.load(str(root / "model.pt")).eval()
    tf = T.Compose([T.Resize(64), T.CenterCrop(64), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    with torch.no_grad():
        want = model.conv1(tf(Image.open(path).convert("RGB"))[None]).numpy()[0]
    np.testing.assert_allclose(np.load(tmp_path / "maps.npy").reshape(64, 32, 32), want, atol=2e-3)
    status, _, err = run("explain", "--images", root / "images", "--model", root / "model.pt", "--index", 5000,
                         "-o", tmp_path / "f.png", *FAST, ok=False)
    assert status == 1 and "--index 5000 is outside the data" in err
