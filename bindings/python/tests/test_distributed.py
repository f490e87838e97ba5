"""embedviz.distributed over a real Dask cluster on this machine (issue 18):
LocalCluster(n_workers=2, threads_per_worker=1, processes=True) on the
loopback. Extraction equals one process bit for bit; PCA equals the
single-machine PCA to 1e-4; sharded neighbours equal the exact index; a
worker killed mid-run loses and duplicates nothing. One cluster for the
module (about 5 s to start)."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import embedviz
from conftest import needs

# Project packages (scripts/debian-packages.txt): a missing one is a
# failure in `make check` (tests/pytest_skips.py), with its name.
distributed_pkg = pytest.importorskip(
    "distributed", reason="python3-distributed is not installed (Debian: python3-distributed; "
                          "make deps)")
da = pytest.importorskip("dask.array", reason="python3-dask is not installed (Debian: "
                                              "python3-dask; make deps)")
torch = pytest.importorskip("torch", reason="python3-torch is not installed (make deps)")
from embedviz import distributed  # noqa: E402

pytestmark = [needs("ev_model_load"), needs("ev_pca_set_fit")]


@pytest.fixture(scope="module")
def client():
    cluster = distributed_pkg.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None,
                                           silence_logs=40)
    c = distributed_pkg.Client(cluster)
    yield c
    c.close()
    cluster.close()


def small_cnn(seed=0, width=4):
    torch.manual_seed(seed)
    net = torch.nn.Sequential()
    net.add_module("conv", torch.nn.Conv2d(3, width, 3, padding=1))
    net.add_module("relu", torch.nn.ReLU())
    net.add_module("pool", torch.nn.AdaptiveAvgPool2d(2))
    net.add_module("flatten", torch.nn.Flatten())
    net.add_module("fc", torch.nn.Linear(4 * width, 5))
    return net.eval()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    if not embedviz.library().ev_extract_available():
        pytest.skip("libembedviz built without libtorch")
    path = str(tmp_path_factory.mktemp("model") / "net.pt")
    torch.jit.save(torch.jit.script(small_cnn()), path)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Three classes of PNG and JPEG images of mixed sizes, and a corrupt
    PNG in the middle of the second class."""
    from PIL import Image
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(3)
    for cls, count in (("cat", 8), ("dog", 7), ("owl", 7)):
        os.makedirs(root / cls)
        for k in range(count):
            h, w = rng.integers(20, 40, 2)
            im = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
            im.save(root / cls / ("%02d.%s" % (k, "jpg" if k % 3 == 0 else "png")))
    (root / "dog" / "03b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return str(root), str(root / "dog" / "03b.png")


# libtorch computes a batch of one image with other kernels than a larger
# batch (the last bits of a float differ, 2e-7 here): the tests keep every
# batch above one image on both sides, or one image on both, as
# docs/distributed.md advises (partition_size a multiple of batch_size).
OPTIONS = dict(resize=24, crop=20, batch_size=4)


@pytest.fixture(scope="module")
def reference(model, photos):
    """One process, one thread: FeatureExtractor.extract."""
    return embedviz.FeatureExtractor(model, n_jobs=1).extract(
        photos[0], ["conv", "fc"], skip_bad=True, **OPTIONS)


# ---- extraction ----

def test_extraction_over_two_workers_equals_one_process_bit_for_bit(client, model, photos,
                                                                     reference):
    root, bad = photos
    res = distributed.extract(model, root, ["conv", "fc"], client=client, partition_size=4,
                              **OPTIONS)
    # 23 files in 6 partitions; the corrupt one (the 13th) is in partition 3
    assert [p["rows"] for p in res.partitions] == [4, 4, 4, 3, 4, 3]
    assert [(p, part) for p, _, part in res.skipped] == [(bad, 3)] and res.skipped[0][1]
    assert [p for p, _ in reference.skipped] == [bad]
    assert res.paths == reference.paths
    assert res.classes == reference.classes == ["cat", "dog", "owl"]
    np.testing.assert_array_equal(res.labels, reference.labels)
    for name in ("conv", "fc"):
        assert res[name].shape == reference[name].shape
        assert len(reference) == 22
        assert res[name].chunks[0] == (4, 4, 4, 3, 4, 3)
        np.testing.assert_array_equal(res[name].compute(), reference[name])
    # both worker processes ran partitions, each loading the model once
    loaded = client.run(distributed._cached_model_count)
    assert sorted(loaded.values()) == [1, 1], loaded


def test_npy_shards_and_index_equal_the_rows_in_memory(client, model, photos, reference, tmp_path):
    root, bad = photos
    index = distributed.extract_to_npy(model, root, ["conv", "fc"], tmp_path / "out",
                                       client=client, partition_size=8, **OPTIONS)
    assert index == str(tmp_path / "out" / "index.json")
    shards = sorted(f for f in os.listdir(tmp_path / "out") if f.endswith(".npy"))
    assert len(shards) == 2 * 3 and not [f for f in os.listdir(tmp_path / "out") if "tmp" in f]
    res = distributed.open_npy_shards(tmp_path / "out")
    assert res.paths == reference.paths and res.skipped == [(bad, res.skipped[0][1], 1)]
    np.testing.assert_array_equal(res.labels, reference.labels)
    for name in ("conv", "fc"):
        np.testing.assert_array_equal(res[name].compute(), reference[name])


def test_progress_is_dasks_own_bar(client, model, photos, capsys):
    root, _ = photos
    files = [os.path.join(root, "owl", "0%d.png" % k) for k in (1, 2)]
    distributed.extract(model, files, "fc", client=client, partition_size=1, progress=True,
                        **OPTIONS)
    out = capsys.readouterr().out
    assert "100% Completed" in out and "[####" in out, out


def test_a_partition_of_only_bad_files_is_reported_not_dropped(client, model, photos, tmp_path):
    root, bad = photos
    good = [os.path.join(root, "cat", "01.png"), os.path.join(root, "owl", "02.png")]
    missing = str(tmp_path / "gone.png")
    res = distributed.extract(model, [good[0], bad, missing, good[1]], "fc", client=client,
                              partition_size=1, labels=[0, 1, 1, 2], **OPTIONS)
    assert [p["rows"] for p in res.partitions] == [1, 0, 0, 1]
    assert [(p, part) for p, _, part in res.skipped] == [(bad, 1), (missing, 2)]
    assert res.paths == good and res.labels.tolist() == [0, 2]
    one = embedviz.FeatureExtractor(model, n_jobs=1).activations(good, "fc",
                                                                 **dict(OPTIONS, batch_size=1))
    np.testing.assert_array_equal(res["fc"].compute(), one)
    with pytest.raises(embedviz.EmbedvizValueError, match="all 2 files were left out") as e:
        distributed.extract(model, [bad, missing], "fc", client=client, **OPTIONS)
    assert [(p, part) for p, _, part in e.value.skipped] == [(bad, 0), (missing, 0)]
    with pytest.raises(embedviz.EmbedvizError):
        distributed.extract(model, [bad], "fc", client=client, skip_bad=False, **OPTIONS)
    with pytest.raises(FileNotFoundError):
        distributed.extract(str(tmp_path / "no-model.pt"), good, "fc", client=client)
    with pytest.raises(embedviz.LayerNotFoundError):
        distributed.extract(model, good, "nope", client=client)


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(client, model, photos):
    """SIGKILL a worker process while it runs a partition, after others are
    done: Dask runs its partitions again (and those of the results it held)
    on the other worker and on the one its nanny restarts."""
    root, _ = photos
    one = dict(OPTIONS, batch_size=1)
    reference = embedviz.FeatureExtractor(model, n_jobs=1).extract(root, ["conv", "fc"],
                                                                   skip_bad=True, **one)
    pids = client.run(os.getpid)
    got, errors = {}, []

    def run():
        try:
            # 22 tasks of one image each, batch of one: long enough to kill in
            got["res"] = distributed.extract(model, root, ["conv", "fc"], client=client,
                                             partition_size=1, **one)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    killed, deadline = None, time.time() + 30
    while killed is None and time.time() < deadline and thread.is_alive():
        # once some partitions are done (held by the workers), the worker
        # that is running one now
        done = [k for keys in client.has_what().values() for k in keys
                if "embedviz-extract" in str(k)]
        running = [w for w, keys in client.processing().items()
                   if any("embedviz-extract" in str(k) for k in keys)]
        if done and running and running[0] in pids:
            os.kill(pids[running[0]], signal.SIGKILL)
            killed = running[0]
        time.sleep(0.005)
    thread.join(60)
    assert not errors, errors
    assert killed is not None, "the extraction ended before a worker could be killed"
    res = got["res"]
    assert res.paths == reference.paths           # every file once, in order
    for name in ("conv", "fc"):
        np.testing.assert_array_equal(res[name].compute(), reference[name])
    client.wait_for_workers(2, timeout=30)
    assert killed not in client.scheduler_info()["workers"]


# ---- PCA ----

@pytest.mark.parametrize("n_components,whiten", [(10, False), (0.8, True)])
def test_pca_from_block_moments_equals_the_single_machine_pca(client, digits, n_components, whiten):
    x = digits[0]
    X = da.from_array(x, chunks=(250, 64))
    p = distributed.fit_pca(X, n_components, whiten=whiten)
    one = embedviz.PCA(n_components, whiten=whiten).fit(x)
    assert p.n_components_ == one.n_components_ and p.n_samples_ == one.n_samples_ == len(x)
    np.testing.assert_allclose(p.mean_, one.mean_, atol=1e-4)
    np.testing.assert_allclose(p.components_, one.components_, atol=1e-4)
    for name in ("explained_variance_", "singular_values_", "explained_variance_ratio_"):
        np.testing.assert_allclose(getattr(p, name), getattr(one, name), rtol=1e-4)
    assert p.noise_variance_ == pytest.approx(one.noise_variance_, rel=1e-4)
    z = distributed.transform(p, X)
    assert z.chunks == (X.chunks[0], (one.n_components_,))
    ref = one.transform(x)
    np.testing.assert_allclose(z.compute(), ref, atol=1e-4 * np.abs(ref).max())
    back = distributed.transform(p, z, method="inverse_transform").compute()
    np.testing.assert_allclose(back, one.inverse_transform(ref), atol=1e-3 * np.abs(x).max())


def test_pca_rejects_what_the_single_machine_pca_rejects(digits):
    X = da.from_array(digits[0], chunks=500)
    with pytest.raises(embedviz.EmbedvizValueError, match="n_components=65"):
        distributed.fit_pca(X, 65)
    bad = digits[0].copy()
    bad[700, 3] = np.nan
    with pytest.raises(embedviz.NonFiniteError):
        distributed.fit_pca(da.from_array(bad, chunks=500), 5)


# ---- neighbours ----

@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
def test_sharded_neighbours_equal_the_exact_index(client, digits, metric):
    # digits are whole numbers: many equal distances, so the tie rule counts
    x = digits[0]
    ref, queries = x[:1500], x[1500:]
    one = embedviz.NearestNeighbors(n_neighbors=7, metric=metric).fit(ref)
    nn = distributed.ShardedNeighbors(n_neighbors=7, metric=metric, n_shards=3,
                                      client=client).fit(da.from_array(ref, chunks=200))
    assert nn.offsets_.tolist() == [0, 500, 1000, 1500] and nn.n_samples_fit_ == 1500
    d1, i1 = one.kneighbors(queries)
    d2, i2 = nn.kneighbors(queries)
    np.testing.assert_array_equal(i2, i1)
    np.testing.assert_array_equal(d2, d1)
    # the reference rows themselves, none its own neighbour
    d1, i1 = one.kneighbors()
    d2, i2 = nn.kneighbors()
    np.testing.assert_array_equal(i2, i1)
    np.testing.assert_array_equal(d2, d1)
    # lazy queries give lazy answers, the same
    dq, iq = nn.kneighbors(da.from_array(queries, chunks=100), n_neighbors=3)
    np.testing.assert_array_equal(iq.compute(), one.kneighbors(queries, 3)[1])


def test_sharded_approximate_indexes_find_most_true_neighbours(client, digits):
    x = digits[0]
    nn = distributed.ShardedNeighbors(n_neighbors=10, algorithm="approximate", n_shards=2,
                                      client=client).fit(x)
    # each shard's index is the library's approximate one (EV_KNN_METHOD 2)
    methods = client.gather([client.submit(lambda n: n._handle.get(5), f) for f in nn.indexes_])
    assert methods == [2.0, 2.0]
    _, approx = nn.kneighbors(x[:300])
    _, exact = embedviz.NearestNeighbors(n_neighbors=10).fit(x).kneighbors(x[:300])
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert recall > 0.9, recall


def test_sharded_neighbours_from_numpy_and_their_errors(client, digits):
    x = digits[0][:400]
    nn = distributed.ShardedNeighbors(n_neighbors=5, client=client).fit(x)
    assert len(nn.indexes_) == 2          # one shard per worker
    one = embedviz.NearestNeighbors(n_neighbors=5).fit(x)
    np.testing.assert_array_equal(nn.kneighbors(x[:50])[1], one.kneighbors(x[:50])[1])
    with pytest.raises(embedviz.EmbedvizValueError, match="at most the number"):
        nn.kneighbors(n_neighbors=400)
    with pytest.raises(embedviz.NotFittedError):
        distributed.ShardedNeighbors(client=client).kneighbors(x)


# ---- the map ----

def test_map_fits_a_sample_and_transforms_the_rest(client, digits):
    x = digits[0]
    z = distributed.transform(distributed.fit_pca(da.from_array(x, chunks=300), 20),
                              da.from_array(x, chunks=300))
    y, umap = distributed.embed_map(z, max_rows=600, n_neighbors=10, n_epochs=100)
    y = y.compute()
    assert y.shape == (len(x), 2) and np.isfinite(y).all()
    sample = np.sort(np.random.RandomState(0).choice(len(x), 600, replace=False))
    np.testing.assert_array_equal(y[sample], umap.embedding_)
    # the other rows of the first block (rows 0-299) are its transform, as a
    # worker called it on them
    rest = np.setdiff1d(np.arange(300), sample)
    np.testing.assert_array_equal(y[rest], umap.transform(z[rest].compute()))
    # the map keeps the digits apart: each row's nearest mapped row has its label
    labels = digits[1]
    _, ind = embedviz.NearestNeighbors(n_neighbors=1).fit(y).kneighbors()
    assert (labels[ind[:, 0]] == labels).mean() > 0.85
    with pytest.raises(embedviz.EmbedvizValueError, match="t-SNE has no transform"):
        distributed.embed_map(z, "tsne", max_rows=600)


# ---- listing a folder as the library does ----

def test_image_paths_lists_a_folder_as_the_library_does(tmp_path):
    """Byte order of classes and files ('B' < 'a', 'c10' < 'c9'), extensions
    in any case, a subfolder without images is no class, deeper folders,
    hidden entries and other files are not read; then loose images without
    classes."""
    from PIL import Image
    from embedviz.extract import _Dataset
    layout = ["B/2.png", "B/10.PNG", "a/x.JPG", "a/b.jpeg", "a/.hidden.png", "c10/0.bmp",
              "c9/z.gif", "c9/y.jpg", "c9-old/1.png", "c9/deeper/3.png", "empty/notes.txt",
              ".cache/4.png"]
    for name in layout:
        os.makedirs(tmp_path / os.path.dirname(name), exist_ok=True)
        if name.endswith(".txt"):
            (tmp_path / name).write_text("not an image")
            continue
        ext = name.rsplit(".", 1)[1].lower()
        fmt = {"jpg": "JPEG", "jpeg": "JPEG", "bmp": "BMP", "gif": "GIF"}.get(ext, "PNG")
        Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / name, format=fmt)
    lib = _Dataset(str(tmp_path))
    paths, labels, classes = distributed.image_paths(tmp_path)
    assert classes == lib.classes() == ["B", "a", "c10", "c9", "c9-old"]
    assert paths == lib.paths() and len(paths) == 8
    assert labels.tolist() == lib.labels().tolist()
    loose = tmp_path / "a"          # x.JPG, b.jpeg and a hidden file
    paths, labels, classes = distributed.image_paths(loose)
    assert paths == _Dataset(str(loose)).paths() and labels is None and classes == []
    with pytest.raises(embedviz.EmbedvizValueError, match="holds no image"):
        distributed.image_paths(tmp_path / "empty")
