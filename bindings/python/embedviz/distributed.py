"""embedviz over a Dask cluster: extraction, PCA and neighbours beyond one machine.

Dask (Debian's python3-dask and python3-distributed) schedules the work, on
one laptop or on hundreds of machines with the same code; embedviz adds
what runs inside each task (docs/distributed.md):

- `extract` runs a TorchScript model over a list of images or a folder tree
  split into partitions: each worker process loads libembedviz and the
  model once, extracts its partitions in batches and keeps the rows, which
  come back as dask arrays (`extract_to_npy` writes them to .npy shards
  and an index file instead, for results larger than the cluster's
  memory). Unreadable images are reported per partition.
- `fit_pca` fits a PCA from per-block moments (count, mean, centred
  cross-products in float64) and returns an ordinary `embedviz.PCA`;
  `transform` applies it (or any fitted estimator) block by block.
- `ShardedNeighbors` keeps one exact `NearestNeighbors` index per shard on
  the workers, sends the queries to every shard and merges the per-shard
  k nearest, ties by lower global index: the single-machine answer.
- `embed_map` makes the 2-D map of the PCA-reduced rows: t-SNE or UMAP on
  the client, UMAP's `transform` for the rows beyond `max_rows`.

Examples
--------
>>> import dask.array as da
>>> import numpy as np
>>> from embedviz import distributed
>>> x = da.from_array(np.random.RandomState(0).rand(600, 8).astype(np.float32), chunks=200)
>>> pca = distributed.fit_pca(x, n_components=3)
>>> distributed.transform(pca, x)
dask.array<..., shape=(600, 3), dtype=float32, chunksize=(200, 3), chunktype=numpy.ndarray>
"""
import json
import os
import threading

import numpy as np

try:
    import dask
    import dask.array as da
except ImportError as e:  # pragma: no cover - the project installs it (make deps)
    raise ImportError(
        "embedviz.distributed needs dask and distributed: install Debian's python3-dask and "
        "python3-distributed (scripts/debian-packages.txt, `make deps`); %s" % e) from e

from . import _errors, extract as _extract
from .decomposition import PCA, _mle_rank
from .neighbors import NearestNeighbors

__all__ = ["extract", "extract_to_npy", "open_npy_shards", "DistributedFeatures", "fit_pca",
           "transform", "ShardedNeighbors", "embed_map", "image_paths"]

_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_INDEX = "index.json"


def _bad(message):
    return _errors.EmbedvizValueError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


def _client(client):
    if client is not None:
        return client
    try:
        from distributed import default_client
    except ImportError as e:  # pragma: no cover
        raise ImportError("embedviz.distributed needs python3-distributed: %s" % e) from e
    try:
        return default_client()
    except ValueError:
        raise _bad("no Dask client: start one first, e.g. distributed.Client('scheduler:8786') "
                   "or distributed.Client(distributed.LocalCluster()), or pass client= "
                   "(docs/distributed.md)")


# ---------------------------------------------------------------- listing

def image_paths(folder):
    """List a folder tree of images as the library's folder data set lists it.

    The class subfolders sorted by name (byte order) and numbered from 0,
    the image files (.png .jpg .jpeg .bmp .gif, any case) of each sorted by
    name; a subfolder without images is no class; deeper folders and
    hidden entries (a leading ".") are not read; images directly in a
    folder without class subfolders have no label. Only the directory entries are read (no image header), so it is
    quick on a large tree: unreadable images are found by the workers.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder (one subfolder per class, or images directly).

    Returns
    -------
    paths : list of str
        Every image file, in the order `FeatureExtractor.extract` gives the
        folder's rows.
    labels : numpy.ndarray of int32, or None
        The class number of each file; None without class subfolders.
    classes : list of str
        The class names by number (empty without class subfolders).

    Raises
    ------
    FileNotFoundError
        `folder` is not a folder.
    EmbedvizValueError
        No image in it.

    Examples
    --------
    >>> import os, tempfile
    >>> from embedviz.distributed import image_paths
    >>> root = tempfile.mkdtemp()
    >>> for name in ("dog/2.png", "dog/10.png", "cat/a.JPG", "empty/notes.txt"):
    ...     os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
    ...     open(os.path.join(root, name), "w").close()
    >>> paths, labels, classes = image_paths(root)
    >>> [os.path.relpath(p, root) for p in paths], labels.tolist(), classes
    (['cat/a.JPG', 'dog/10.png', 'dog/2.png'], [0, 1, 1], ['cat', 'dog'])
    """
    folder = os.fsdecode(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError("%s is not a folder of images" % folder)

    def images(d):
        with os.scandir(d) as it:
            names = [e.name for e in it if not e.name.startswith(".") and not e.is_dir()
                     and e.name.lower().endswith(_IMAGE_EXTENSIONS)]
        return sorted(names, key=os.fsencode)

    with os.scandir(folder) as it:
        subdirs = sorted((e.name for e in it if not e.name.startswith(".") and e.is_dir()),
                         key=os.fsencode)
    paths, labels, classes = [], [], []
    for name in subdirs:
        files = images(os.path.join(folder, name))
        if not files:
            continue
        paths += [os.path.join(folder, name, f) for f in files]
        labels += [len(classes)] * len(files)
        classes.append(name)
    if not classes:
        paths = [os.path.join(folder, f) for f in images(folder)]
        if not paths:
            raise _bad("%s holds no image (.png .jpg .jpeg .bmp .gif), in it or in a class "
                       "subfolder" % folder)
        return paths, None, []
    return paths, np.asarray(labels, dtype=np.int32), classes


def _inputs(inputs, labels):
    """(paths, labels or None, classes) of a folder or a list of files."""
    if isinstance(inputs, (str, bytes, os.PathLike)):
        if labels is not None:
            raise _bad("labels: a folder's labels are its class subfolders; give labels only "
                       "with a list of image files")
        return image_paths(inputs)
    paths = [os.fsdecode(p) for p in inputs]
    if not paths:
        raise _bad("inputs is an empty list: give at least one image file or a folder")
    if labels is None:
        return paths, None, []
    y = _extract._labels_array(labels, len(paths))
    top = int(y.max()) if len(y) else -1
    return paths, y, [str(c) for c in range(top + 1)]


# ---------------------------------------------------------------- on the workers

# One FeatureExtractor per worker process and model: (path, its size and
# modification time, device, threads) -> extractor. Loading a model takes
# seconds; a partition takes the cached one (a file replaced at the same
# path is loaded again). The lock keeps two threads of one worker from
# loading it twice.
_MODELS = {}
_MODELS_LOCK = threading.Lock()


def _model(model_path, device, n_jobs):
    st = os.stat(model_path)
    key = (os.path.abspath(model_path), st.st_size, st.st_mtime_ns, device, n_jobs)
    with _MODELS_LOCK:
        fx = _MODELS.get(key)
        if fx is None:
            fx = _MODELS[key] = _extract.FeatureExtractor(model_path, device, n_jobs=n_jobs)
        return fx


def _cached_model_count():
    """How many models this process has loaded (the tests ask the workers)."""
    return len(_MODELS)


def _partition_skipped(paths):
    """(path, reason) of every file of a partition none of whose files
    could be read (the data set refuses to be empty): each file alone."""
    out = []
    for p in paths:
        try:
            _extract._Dataset([p], (), True)
        except _errors.EmbedvizError as e:
            out.append((p, str(e)))
    return out


def _extract_partition(spec, index, paths, labels, out_dir=None):
    """Run one partition on a worker: its rows (or their shard files), the
    paths and labels of its rows, and the files it left out."""
    fx = _model(spec["model"], spec["device"], spec["n_jobs"])
    layers = spec["layers"]
    try:
        res = fx.extract(paths, layers, spec["batch_size"], spec["pool"],
                         labels=labels, skip_bad=spec["skip_bad"], **spec["preprocess"])
        feats, kept, y, skipped = res.features, res.paths, res.labels, list(res.skipped)
    except _errors.EmbedvizFileNotFoundError:
        if not spec["skip_bad"]:
            raise
        skipped = _partition_skipped(paths)
        if len(skipped) != len(paths):
            raise
        feats = {name: None for name in layers}
        kept, y = [], None if labels is None else np.zeros(0, np.int32)
    out = {"index": index, "rows": len(kept), "paths": kept,
           "labels": None if labels is None else y, "skipped": skipped,
           "columns": {n: (None if a is None else a.shape[1]) for n, a in feats.items()}}
    if out_dir is None:
        out["features"] = feats
        return out
    files = {}
    for j, name in enumerate(layers):
        a = feats[name]
        if a is None:
            continue
        file = "layer%d-part%06d.npy" % (j, index)
        tmp = os.path.join(out_dir, ".%s.%d.tmp" % (file, os.getpid()))
        with open(tmp, "wb") as f:
            np.save(f, a)
        # A retried partition writes the same bytes again: the rename makes
        # the shard appear whole, once.
        os.replace(tmp, os.path.join(out_dir, file))
        files[name] = file
    out["files"] = files
    return out


def _summary(part):
    """Everything of a partition but its rows (what the client gathers)."""
    return {k: v for k, v in part.items() if k != "features"}


def _layer_rows(part, name):
    return part["features"][name]


# ---------------------------------------------------------------- extraction

class DistributedFeatures:
    """What `extract` returns: one dask array per layer, and what each row is.

    Parameters
    ----------
    features : dict of str to dask.array.Array
        Layer name -> rows (n, M), float32, one chunk per partition that
        kept rows.
    labels : numpy.ndarray of int32 or None
        The class number of each row.
    classes : list of str
        The class names by number.
    paths : list of str
        The image file of each row.
    partitions : list of dict
        Per partition: ``index``, ``rows`` (rows kept), ``paths`` (the
        files given to it) and ``skipped`` ((path, reason) pairs).
    futures : list of distributed.Future, optional
        The partitions' results held by the workers (keep this object to
        keep them; None for rows read from .npy shards).

    Attributes
    ----------
    features : dict of str to dask.array.Array
    labels : numpy.ndarray of int32 or None
    classes : list of str
    paths : list of str
    partitions : list of dict
    futures : list of distributed.Future or None
    skipped : list of (str, str, int)
        (path, reason, partition) of every file left out, partition by
        partition; their rows are not in `features`. As with
        `FeatureExtractor.extract`, a file found corrupt only while its
        batch is read stays a row of zeros and is listed here too.

    See Also
    --------
    extract : Makes one.

    Examples
    --------
    >>> import dask.array as da
    >>> from embedviz.distributed import DistributedFeatures
    >>> parts = [{"index": 0, "rows": 2, "paths": ["a.png", "b.png", "c.png"],
    ...           "skipped": [("c.png", "not an image")]}]
    >>> res = DistributedFeatures({"fc": da.zeros((2, 4), chunks=2)}, None, [],
    ...                           ["a.png", "b.png"], parts)
    >>> res
    DistributedFeatures(2 rows in 1 partitions; layers fc: 4; 1 skipped)
    >>> res.skipped
    [('c.png', 'not an image', 0)]
    """

    def __init__(self, features, labels, classes, paths, partitions, futures=None):
        self.features, self.labels, self.classes = features, labels, classes
        self.paths, self.partitions, self.futures = paths, partitions, futures

    @property
    def skipped(self):
        """(path, reason, partition) of every file left out.

        Examples
        --------
        >>> from embedviz.distributed import DistributedFeatures
        >>> DistributedFeatures({}, None, [], [], [{"skipped": [("x.png", "truncated")],
        ...                                          "index": 3}]).skipped
        [('x.png', 'truncated', 3)]
        """
        return [(p, why, part["index"]) for part in self.partitions for p, why in part["skipped"]]

    def __getitem__(self, layer):
        return self.features[layer]

    def __len__(self):
        return len(self.paths)

    def __repr__(self):
        cols = ", ".join("%s: %d" % (k, v.shape[1]) for k, v in self.features.items())
        skipped = len(self.skipped)
        return "DistributedFeatures(%d rows in %d partitions; layers %s%s)" % (
            len(self), len(self.partitions), cols, "; %d skipped" % skipped if skipped else "")


def _spec(model, layers, batch_size, pool, skip_bad, device, n_jobs, preprocess):
    if not isinstance(model, (str, bytes, os.PathLike)):
        raise _errors.ParameterTypeError(
            "model must be the path of a TorchScript file that every worker can read (shared "
            "storage), got %s: save a torch.nn.Module with torch.jit.save(torch.jit.script(net), "
            "path) first" % type(model).__name__,
            status=_errors.ERR_ARGUMENT, status_name="EV_ERR_ARGUMENT")
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise _bad("layers is empty: name at least one layer")
    # The preprocessing options are checked here, on the client, once.
    _extract._preprocess_settings(skip_bad=skip_bad, **preprocess)
    path = os.path.abspath(os.fsdecode(model))
    st = os.stat(path)          # a missing model fails here, on the client
    return {"model": path, "model_file": (st.st_size, st.st_mtime_ns), "layers": names,
            "batch_size": batch_size, "pool": bool(pool), "skip_bad": bool(skip_bad),
            "device": device, "n_jobs": n_jobs, "preprocess": preprocess}


def _run_partitions(client, spec, inputs, labels, partition_size, progress, out_dir):
    """Submit one task per partition; (futures, summaries, classes)."""
    from dask.base import tokenize
    if not isinstance(partition_size, int) or partition_size < 1:
        raise _bad("partition_size must be an int >= 1, got %r" % (partition_size,))
    paths, y, classes = _inputs(inputs, labels)
    token = tokenize(spec, paths, None if y is None else y.tobytes(), out_dir)
    futures = []
    for i, start in enumerate(range(0, len(paths), partition_size)):
        part_y = None if y is None else y[start:start + partition_size]
        futures.append(client.submit(_extract_partition, spec, i,
                                     paths[start:start + partition_size], part_y, out_dir,
                                     key="embedviz-extract-%d-%s" % (i, token)))
    if progress:
        from distributed import progress as dask_progress
        dask_progress(futures)
    summaries = client.gather([client.submit(_summary, f, key="embedviz-summary-%d-%s" % (i, token))
                               for i, f in enumerate(futures)])
    for s, start in zip(summaries, range(0, len(paths), partition_size)):
        s["paths_given"] = paths[start:start + partition_size]
    return futures, summaries, classes


def _assemble(summaries):
    paths = [p for s in summaries for p in s["paths"]]
    if not paths:
        skipped = [(p, why, s["index"]) for s in summaries for p, why in s["skipped"]]
        err = _bad("no image could be read: all %d files were left out (the first: %s: %s); "
                   "the exception's skipped attribute lists them"
                   % (len(skipped), skipped[0][0], skipped[0][1]))
        err.skipped = skipped
        raise err
    labels = None
    if summaries[0]["labels"] is not None:
        labels = np.concatenate([s["labels"] for s in summaries]).astype(np.int32)
    parts = [{"index": s["index"], "rows": s["rows"], "paths": s["paths_given"],
              "skipped": s["skipped"]} for s in summaries]
    return paths, labels, parts


def _columns(summaries, layers):
    cols = {}
    for s in summaries:
        for name in layers:
            if s["columns"][name] is not None:
                cols[name] = s["columns"][name]
    return cols


def extract(model, inputs, layers, *, client=None, partition_size=1024, batch_size=None, pool=False,
            labels=None, resize=None, crop=None, channels=None, normalize="auto", mean=None,
            std=None, skip_bad=True, device="cpu", n_jobs=1, progress=False):
    """Extract named layers of a TorchScript model for many images over a Dask cluster.

    The images are split into partitions of `partition_size` files, one
    task each. A worker process loads libembedviz and the model once (kept
    for later partitions, keyed by model path, file size and time, device
    and threads) and runs
    `FeatureExtractor.extract` on each partition, in batches of
    `batch_size`. The rows stay in the workers' memory, as dask arrays in
    the files' order; a task lost with its worker is run again by Dask, so
    no partition is lost or counted twice.

    Parameters
    ----------
    model : str or os.PathLike
        A TorchScript file every worker can read at this path (shared
        storage).
    inputs : str, os.PathLike or list of str
        A folder (one subfolder per class, listed by `image_paths`) or a
        list of image files.
    layers : str or list of str
        Layer names (see `FeatureExtractor.layers`).
    client : distributed.Client, optional
        The cluster; None: the current client (``distributed.default_client``).
    partition_size : int, default 1024
        Files per task. A multiple of `batch_size` keeps the batches the
        same as in one process.
    batch_size : int, optional
        Inputs per forward pass (the library's default: 32).
    pool : bool, default False
        Average feature maps over their spatial dimensions.
    labels : array of int, optional
        With a list of files: the class number of each (-1: none).
    resize, crop, channels, normalize, mean, std
        The preprocessing, as in `FeatureExtractor.extract`.
    skip_bad : bool, default True
        Leave unreadable files out and report them (``skipped``); False
        fails on the first.
    device : {"cpu", "cuda"}, default "cpu"
    n_jobs : int, default 1
        Library threads per task: 1 with one Dask thread per core; the
        cores of a worker with one Dask thread.
    progress : bool, default False
        Show Dask's progress bar (``distributed.progress``) until done.

    Returns
    -------
    DistributedFeatures
        ``features`` (layer name -> dask array (n, M) float32), ``paths``,
        ``labels``, ``classes`` and ``skipped`` (path, reason, partition).

    Raises
    ------
    EmbedvizValueError
        A bad option, no Dask client, or no image that could be read.
    FileNotFoundError
        No model file or no folder at the path (checked on the client).
    LayerNotFoundError
        A layer the model does not have (raised by the first partition).

    See Also
    --------
    extract_to_npy : The same rows written to .npy shards.
    embedviz.FeatureExtractor.extract : One process.

    Examples
    --------
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> from embedviz import distributed
    >>> client = Client(LocalCluster(n_workers=4, threads_per_worker=1))  # doctest: +SKIP
    >>> res = distributed.extract("/shared/resnet18.pt", "/shared/photos", "avgpool",
    ...                           pool=True, resize=256, crop=224)  # doctest: +SKIP
    >>> res["avgpool"], res.skipped[:1]  # doctest: +SKIP
    (dask.array<concatenate, shape=(240000, 512), ...>, [('/shared/photos/cat/x.jpg', '...', 17)])
    """
    client = _client(client)
    spec = _spec(model, layers, batch_size, pool, skip_bad, device, n_jobs,
                 dict(resize=resize, crop=crop, channels=channels, normalize=normalize,
                      mean=mean, std=std))
    futures, summaries, classes = _run_partitions(client, spec, inputs, labels, partition_size,
                                                  progress, None)
    paths, y, parts = _assemble(summaries)
    cols = _columns(summaries, spec["layers"])
    feats = {}
    for name in spec["layers"]:
        blocks = [da.from_delayed(dask.delayed(_layer_rows, pure=True)(f, name),
                                  shape=(s["rows"], cols[name]), dtype=np.float32)
                  for f, s in zip(futures, summaries) if s["rows"]]
        feats[name] = da.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    return DistributedFeatures(feats, y, classes, paths, parts, futures)


def extract_to_npy(model, inputs, layers, folder, *, client=None, partition_size=1024,
                   batch_size=None, pool=False, labels=None, resize=None, crop=None, channels=None,
                   normalize="auto", mean=None, std=None, skip_bad=True, device="cpu", n_jobs=1,
                   progress=False):
    """Extract named layers over a Dask cluster into .npy shards and an index file.

    For results larger than the cluster's memory: each partition's task
    writes one .npy file per layer into `folder` (shared storage) and
    keeps nothing; ``index.json`` lists the shards, rows, paths, labels and
    skipped files of every partition. A shard appears whole (written
    beside, then renamed), so a task Dask runs again replaces it with the
    same bytes. `open_npy_shards` reads it all back as dask arrays.

    Parameters
    ----------
    model, inputs, layers
        As in `extract`.
    folder : str or os.PathLike
        Where the shards and ``index.json`` go (made if missing); every
        worker must be able to write there.
    client, partition_size, batch_size, pool, labels
        As in `extract`.
    resize, crop, channels, normalize, mean, std, skip_bad, device, n_jobs, progress
        As in `extract`.

    Returns
    -------
    index : str
        The path of ``index.json``.

    Raises
    ------
    EmbedvizValueError
        As `extract`.

    See Also
    --------
    open_npy_shards : The shards as dask arrays.
    extract : The rows kept in the workers' memory.

    Examples
    --------
    >>> from embedviz import distributed
    >>> distributed.extract_to_npy("/shared/resnet18.pt", "/shared/photos", "avgpool",
    ...                            "/shared/features", pool=True)  # doctest: +SKIP
    '/shared/features/index.json'
    >>> res = distributed.open_npy_shards("/shared/features")  # doctest: +SKIP
    """
    client = _client(client)
    spec = _spec(model, layers, batch_size, pool, skip_bad, device, n_jobs,
                 dict(resize=resize, crop=crop, channels=channels, normalize=normalize,
                      mean=mean, std=std))
    folder = os.path.abspath(os.fsdecode(folder))
    os.makedirs(folder, exist_ok=True)
    futures, summaries, classes = _run_partitions(client, spec, inputs, labels, partition_size,
                                                  progress, folder)
    del futures
    paths, y, parts = _assemble(summaries)
    cols = _columns(summaries, spec["layers"])
    index = {"format": "embedviz-npy-shards", "version": 1, "layers": spec["layers"],
             "columns": cols, "classes": classes, "partitions": []}
    for s in summaries:
        index["partitions"].append({
            "index": s["index"], "rows": s["rows"], "files": s["files"], "paths": s["paths"],
            "paths_given": s["paths_given"],
            "labels": None if s["labels"] is None else [int(v) for v in s["labels"]],
            "skipped": [list(p) for p in s["skipped"]]})
    path = os.path.join(folder, _INDEX)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(index, f)
    os.replace(tmp, path)
    return path


def _load_shard(path):
    return np.load(path)


def open_npy_shards(folder):
    """Read the .npy shards `extract_to_npy` wrote as dask arrays.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder holding ``index.json`` (or the path of the file itself).

    Returns
    -------
    DistributedFeatures
        One dask array per layer, a chunk per shard (read when computed),
        with the paths, labels, classes and skipped files of the index.

    Raises
    ------
    FileNotFoundError
        No index file.
    EmbedvizValueError
        The file is not an embedviz shard index.

    See Also
    --------
    extract_to_npy : Writes them.

    Examples
    --------
    >>> from embedviz import distributed
    >>> res = distributed.open_npy_shards("/shared/features")  # doctest: +SKIP
    >>> res["avgpool"].shape  # doctest: +SKIP
    (240000, 512)
    """
    folder = os.fsdecode(folder)
    path = folder if folder.endswith(".json") else os.path.join(folder, _INDEX)
    with open(path) as f:
        index = json.load(f)
    if index.get("format") != "embedviz-npy-shards":
        raise _bad("%s is not an embedviz shard index (written by extract_to_npy)" % path)
    if index.get("version", 0) > 1:
        raise _bad("%s was written by a newer embedviz (version %s): upgrade embedviz"
                   % (path, index["version"]))
    base = os.path.dirname(path)
    parts = index["partitions"]
    feats = {}
    for name in index["layers"]:
        load = dask.delayed(_load_shard, pure=True)
        blocks = [da.from_delayed(load(os.path.join(base, p["files"][name])),
                                  shape=(p["rows"], index["columns"][name]), dtype=np.float32)
                  for p in parts if p["rows"]]
        feats[name] = da.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    labels = None
    if parts and parts[0]["labels"] is not None:
        labels = np.asarray([v for p in parts for v in p["labels"]], dtype=np.int32)
    summaries = [{"index": p["index"], "rows": p["rows"], "paths": p["paths_given"],
                  "skipped": [tuple(s) for s in p["skipped"]]} for p in parts]
    return DistributedFeatures(feats, labels, index["classes"],
                               [q for p in parts for q in p["paths"]], summaries, None)


# ---------------------------------------------------------------- PCA

def _rows(X):
    """X as a dask array of float rows with one column chunk."""
    X = da.asarray(X)
    if X.ndim != 2:
        raise _bad("X must be a 2-D array (rows x features), got %d dimensions" % X.ndim)
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    return X


def _too_few(n):
    return _bad("PCA needs at least 2 rows to estimate a variance, got %d: pass more samples" % n)


def _block_moments(x):
    """(rows, column means, centred cross-products) of one block, float64."""
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise _errors.NonFiniteError("X holds NaN or Inf: clean the rows first",
                                     status=_errors.ERR_NONFINITE, status_name="EV_ERR_NONFINITE")
    n = x.shape[0]
    if n == 0:
        return 0, np.zeros(x.shape[1]), np.zeros((x.shape[1], x.shape[1]))
    mean = x.mean(axis=0)
    c = x - mean
    return n, mean, c.T @ c


def _combine_moments(*parts):
    """Chan, Golub and LeVeque's pairwise update: the moments of the union."""
    n, mean, m2 = parts[0]
    for nb, mb, m2b in parts[1:]:
        if nb == 0:
            continue
        if n == 0:
            n, mean, m2 = nb, mb, m2b
            continue
        total = n + nb
        delta = mb - mean
        m2 = m2 + m2b + np.outer(delta, delta) * (n * nb / total)
        mean = mean + delta * (nb / total)
        n = total
    return n, mean, m2


def _fix_sign(v):
    """The library's rule: the largest-magnitude loading is positive (ties:
    the lowest column)."""
    arg = int(np.argmax(np.abs(v)))
    return -v if v[arg] < 0 else v


def fit_pca(X, n_components=None, *, whiten=False, split_every=8):
    """Fit a PCA on a dask array, block by block, and return an `embedviz.PCA`.

    Each block gives its row count, column means and centred
    cross-products X^T X in float64 (numpy's BLAS); the blocks are combined
    in a tree (Chan's pairwise update, float64), so one d x d matrix
    reaches the client, where its eigendecomposition gives the components.
    Signs, ratios and whitening follow `embedviz.PCA`'s rules, and the
    result is an ordinary fitted `embedviz.PCA` (its fit installed in the
    library by ``ev_pca_set_fit``, as a loaded pickle is): use its
    `transform` on one machine, or `transform` here block by block.

    Parameters
    ----------
    X : dask.array.Array or array-like of shape (n_samples, n_features)
        The rows; a column split is merged (each block needs whole rows).
    n_components : int, float in (0, 1], "mle" or None, default None
        As `embedviz.PCA`: components to keep, the share of variance to
        keep, Minka's choice, or min(n_samples, n_features).
    whiten : bool, default False
        Scale the scores to unit variance.
    split_every : int, default 8
        Blocks combined per task of the tree.

    Returns
    -------
    PCA
        Fitted: ``components_``, ``mean_``, ``explained_variance_``,
        ``explained_variance_ratio_``, ``singular_values_``,
        ``noise_variance_``, ``n_samples_``.

    Raises
    ------
    EmbedvizValueError
        Fewer than 2 rows, or a bad n_components.
    NonFiniteError
        X holds NaN or Inf.

    Notes
    -----
    The blocks run on Dask's current scheduler: the workers of the active
    ``distributed.Client``, else threads of this process.

    See Also
    --------
    transform : The scores, block by block.
    embedviz.PCA : The same on one machine (equal to 1e-4).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from embedviz import PCA
    >>> from embedviz.distributed import fit_pca
    >>> rng = np.random.RandomState(0)
    >>> x = (rng.rand(1000, 3) @ rng.rand(3, 10) + 0.01 * rng.randn(1000, 10)).astype(np.float32)
    >>> pca = fit_pca(da.from_array(x, chunks=250), n_components=3)
    >>> one = PCA(n_components=3).fit(x)
    >>> bool(np.abs(pca.components_ - one.components_).max() < 1e-4)
    True
    """
    X = _rows(X)
    n, d = X.shape
    if not np.isnan(n) and n < 2:
        raise _too_few(n)
    if not isinstance(split_every, int) or split_every < 2:
        raise _bad("split_every must be an int >= 2, got %r" % (split_every,))
    level = [dask.delayed(_block_moments, pure=True)(b) for b in X.to_delayed().ravel()]
    while len(level) > 1:
        level = [dask.delayed(_combine_moments, pure=True)(*level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    n, mean, m2 = level[0].compute()
    if n < 2:
        raise _too_few(n)
    return _pca_from_moments(n, mean, m2, n_components, whiten)


def _pca_from_moments(n, mean, m2, n_components, whiten):
    d = len(mean)
    cov = m2 / (n - 1)
    w, v = np.linalg.eigh(cov)
    w, v = w[::-1], v[:, ::-1]
    total = float(np.trace(cov))
    rank = min(n, d)
    w = np.maximum(w, 0.0)
    nc = n_components
    if nc is None:
        k = rank
    elif isinstance(nc, str):
        if nc != "mle":
            raise _bad("n_components=%r is not supported: pass an int, 'mle', a float in (0, 1] "
                       "or None" % (nc,))
        if n < d:
            raise _bad("n_components='mle' is only supported if n_samples >= n_features, got "
                       "%d < %d: pass an int instead" % (n, d))
        k = max(_mle_rank(w[:rank], n), 1)
    elif isinstance(nc, (int, np.integer)) and not isinstance(nc, bool):
        if not 1 <= nc <= rank:
            raise _bad("n_components=%d must be between 1 and min(n_samples, n_features)=%d: "
                       "lower it" % (nc, rank))
        k = int(nc)
    elif isinstance(nc, float) and 0 < nc <= 1:
        k = rank
        if total > 0:
            reached = np.nonzero(np.cumsum(w[:rank]) >= nc * total)[0]
            k = int(reached[0]) + 1 if len(reached) else rank
    else:
        raise _bad("n_components=%r must be None, an int >= 1, 'mle' or a float in (0, 1]" % (nc,))
    comps = np.stack([_fix_sign(v[:, i].astype(np.float32)) for i in range(k)])
    pca = PCA(n_components=n_components, whiten=whiten)
    pca.components_ = comps
    pca.mean_ = mean.astype(np.float32)
    pca.explained_variance_ = w[:k].astype(np.float32)
    pca.explained_variance_ratio_ = (w[:k] / total if total > 0 else 0 * w[:k]).astype(np.float32)
    pca.singular_values_ = np.sqrt(w[:k] * (n - 1)).astype(np.float32)
    pca.n_components_, pca.n_features_in_, pca.n_samples_ = k, d, int(n)
    pca.noise_variance_ = float(w[k:rank].mean()) if k < rank else 0.0
    pca._whiten_fit = bool(whiten)
    pca._restore()
    return pca


def _apply(block, estimator, method, dtype):
    return np.asarray(getattr(estimator, method)(block), dtype=dtype)


def _same(obj):
    return obj


def _one_key(obj):
    """obj as one key of the graph (not a copy in every task); a future
    stays where it is."""
    from dask.delayed import Delayed
    if isinstance(obj, Delayed):
        return obj
    if hasattr(obj, "key") and type(obj).__name__ == "Future":
        return dask.delayed(_same, pure=True)(obj)
    return dask.delayed(obj, pure=True)


def transform(estimator, X, *, method="transform", n_columns=None, dtype=np.float32):
    """Apply a fitted estimator's transform to a dask array, block by block.

    The estimator is pickled into the tasks (embedviz's estimators rebuild
    their native handle on load); each block of rows is transformed where
    it is. For a large estimator (a UMAP holds its training rows), scatter
    it first (``client.scatter(est, broadcast=True)``) and pass the future.

    Parameters
    ----------
    estimator : fitted estimator or distributed.Future
        PCA, UMAP or anything with the method; a future of one.
    X : dask.array.Array of shape (n_samples, n_features)
        The rows; a column split is merged.
    method : str, default "transform"
        The method to call on each block (e.g. "inverse_transform").
    n_columns : int, optional
        Columns of the result; None: ``n_components_`` of the estimator.
    dtype : numpy dtype, default float32
        The blocks' dtype.

    Returns
    -------
    dask.array.Array of shape (n_samples, n_columns)
        Lazy: compute it, store it (``da.to_npy_stack``) or feed it on.

    Raises
    ------
    EmbedvizValueError
        `n_columns` is not given and the estimator has no n_components_.

    See Also
    --------
    fit_pca : A PCA from a dask array.
    embed_map : UMAP's transform for the rows beyond a map's sample.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from embedviz import PCA
    >>> from embedviz.distributed import transform
    >>> x = np.random.RandomState(0).rand(500, 6).astype(np.float32)
    >>> pca = PCA(n_components=2).fit(x)
    >>> z = transform(pca, da.from_array(x, chunks=100))
    >>> z.chunks[0], np.array_equal(z.compute(), pca.transform(x))
    ((100, 100, 100, 100, 100), True)
    """
    X = _rows(X)
    if n_columns is None:
        if method == "inverse_transform":
            n_columns = getattr(estimator, "n_features_in_", None)
        else:
            n_columns = getattr(estimator, "n_components_", None)
        if n_columns is None:
            n_columns = getattr(estimator, "n_components", None)
        if not isinstance(n_columns, (int, np.integer)):
            raise _bad("give n_columns=: the estimator does not say how many columns %s gives"
                       % method)
    return X.map_blocks(_apply, _one_key(estimator), method, np.dtype(dtype),
                        chunks=(X.chunks[0], (int(n_columns),)), dtype=dtype)


# ---------------------------------------------------------------- neighbours

def _fit_shard(rows, params):
    return NearestNeighbors(**params).fit(np.asarray(rows, dtype=np.float32))


def _query_shard(index, queries, k, offset):
    """The k nearest of one shard for the queries (None: its own rows, each
    without itself), with global row numbers."""
    k = min(k, index.n_samples_fit_ - (1 if queries is None else 0))
    if k <= 0:
        nq = index.n_samples_fit_ if queries is None else len(queries)
        return np.zeros((nq, 0), np.float32), np.zeros((nq, 0), np.int64)
    q = None if queries is None else np.asarray(queries, dtype=np.float32)
    dist, ind = index.kneighbors(q, k)
    return dist.astype(np.float32), ind + offset


def _merge(k, *results):
    """The k nearest of the union: by distance, ties by lower global index
    (the exact index's rule)."""
    dist = np.concatenate([r[0] for r in results], axis=1)
    ind = np.concatenate([r[1] for r in results], axis=1)
    order = np.lexsort((ind, dist), axis=-1)[:, :k]
    return np.take_along_axis(dist, order, 1), np.take_along_axis(ind, order, 1)


def _part(pair, i):
    return pair[i]


class ShardedNeighbors:
    """Exact nearest neighbours over reference rows sharded across Dask workers.

    Each shard of the reference rows gets its own exact `NearestNeighbors`
    index, built on a worker and kept there (a future); a query goes to
    every shard and the per-shard k nearest are merged by distance, ties by
    lower global row: the single-machine exact answer (distances are each
    computed exactly, whatever shard holds the row). An index lost with its
    worker is built again by Dask from its shard.

    Parameters
    ----------
    n_neighbors : int, default 5
    metric : str, default "euclidean"
        As `NearestNeighbors` (not "precomputed").
    p : float, default 2
        Minkowski power.
    algorithm : str, default "auto"
        As `NearestNeighbors`: the exact search, or "approximate" for the
        library's approximate index in every shard (most, not all, true
        neighbours; the merge is then over approximate per-shard lists).
    n_shards : int, optional
        Shards of a numpy reference (default: the workers); a dask array
        gives one shard per row block.
    client : distributed.Client, optional
        The cluster; None: the current client.
    n_jobs : int, default 1
        Library threads per shard query.

    Attributes
    ----------
    offsets_ : numpy.ndarray of int64
        The first global row of each shard, and the total at the end.
    indexes_ : list of distributed.Future
        Each shard's fitted `NearestNeighbors`, on a worker.
    n_samples_fit_ : int
    n_features_in_ : int

    See Also
    --------
    embedviz.NearestNeighbors : One machine.

    Examples
    --------
    >>> import numpy as np
    >>> from distributed import Client
    >>> from embedviz import NearestNeighbors
    >>> from embedviz.distributed import ShardedNeighbors
    >>> client = Client(processes=False, n_workers=2, threads_per_worker=1,
    ...                 dashboard_address=None)
    >>> x = np.random.RandomState(0).rand(300, 5).astype(np.float32)
    >>> nn = ShardedNeighbors(n_neighbors=4, n_shards=3, client=client).fit(x)
    >>> dist, ind = nn.kneighbors(x[:10])
    >>> one = NearestNeighbors(n_neighbors=4, metric="euclidean").fit(x).kneighbors(x[:10])
    >>> np.array_equal(ind, one[1]), np.array_equal(dist, one[0])
    (True, True)
    >>> client.close()
    """

    def __init__(self, n_neighbors=5, *, metric="euclidean", p=2, algorithm="auto", n_shards=None,
                 client=None, n_jobs=1):
        self.n_neighbors, self.metric, self.p = n_neighbors, metric, p
        self.algorithm = algorithm
        self.n_shards, self.client, self.n_jobs = n_shards, client, n_jobs

    def fit(self, X):
        """Build one exact index per shard of X on the workers.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            The reference rows. A dask array's row blocks are the shards
            (rechunked to `n_shards` blocks when given) and stay where they
            are computed; a numpy array is split into `n_shards` and
            scattered.

        Returns
        -------
        self : ShardedNeighbors

        Raises
        ------
        EmbedvizValueError
            A bad metric or X with no rows.

        Examples
        --------
        >>> import numpy as np
        >>> from distributed import Client
        >>> from embedviz.distributed import ShardedNeighbors
        >>> client = Client(processes=False, n_workers=1, dashboard_address=None)
        >>> nn = ShardedNeighbors(n_neighbors=2, n_shards=2).fit(np.eye(6, dtype=np.float32))
        >>> nn.offsets_.tolist(), nn.n_samples_fit_
        ([0, 3, 6], 6)
        >>> client.close()
        """
        client = _client(self.client)
        params = {"n_neighbors": 1, "metric": self.metric, "p": self.p,
                  "algorithm": self.algorithm, "n_jobs": self.n_jobs}
        if self.metric == "precomputed":
            raise _bad("metric='precomputed' cannot be sharded: give the rows")
        if isinstance(X, da.Array):
            X = _rows(X)
            if self.n_shards is not None:
                X = X.rechunk({0: max(1, -(-X.shape[0] // int(self.n_shards)))})
            sizes = list(X.chunks[0])
            blocks = client.compute(list(X.to_delayed().ravel()))
        else:
            a = np.ascontiguousarray(X, dtype=np.float32)
            if a.ndim != 2 or len(a) == 0:
                raise _bad("X must be a 2-D array with at least one row, got shape %s"
                           % (a.shape,))
            shards = self.n_shards or max(1, len(client.scheduler_info()["workers"]))
            pieces = [p for p in np.array_split(a, min(int(shards), len(a))) if len(p)]
            sizes = [len(p) for p in pieces]
            blocks = client.scatter(pieces)
        keep = [i for i, s in enumerate(sizes) if s]
        self.offsets_ = np.concatenate([[0], np.cumsum([sizes[i] for i in keep])]).astype(np.int64)
        self._blocks = [blocks[i] for i in keep]
        self.indexes_ = [client.submit(_fit_shard, b, params, pure=False) for b in self._blocks]
        first = client.submit(lambda nn: nn.n_features_in_, self.indexes_[0])
        self.n_features_in_ = int(first.result())
        self.n_samples_fit_ = int(self.offsets_[-1])
        self._client = client
        return self

    def kneighbors(self, X=None, n_neighbors=None):
        """Return the nearest reference rows of each query over every shard, nearest first.

        Parameters
        ----------
        X : array-like or dask.array.Array of shape (n_queries, n_features), optional
            The queries; None queries the reference rows themselves, none
            counting as its own neighbour.
        n_neighbors : int, optional
            None: the estimator's n_neighbors.

        Returns
        -------
        distances : numpy.ndarray of float32, or dask array, shape (n_queries, k)
        indices : numpy.ndarray of int64, or dask array, shape (n_queries, k)
            Global row numbers; equal distances ordered by lower row. Dask
            arrays (one chunk per query block) for dask array queries, else
            numpy.

        Raises
        ------
        NotFittedError
            fit has not run.
        EmbedvizValueError
            More neighbours than reference rows.

        Examples
        --------
        >>> import numpy as np
        >>> from distributed import Client
        >>> from embedviz.distributed import ShardedNeighbors
        >>> client = Client(processes=False, n_workers=1, dashboard_address=None)
        >>> x = np.array([[0, 0], [0, 1], [5, 5], [5, 6]], dtype=np.float32)
        >>> nn = ShardedNeighbors(n_neighbors=1, n_shards=2).fit(x)
        >>> dist, ind = nn.kneighbors([[4.9, 5.8]])
        >>> dist.round(4), ind
        (array([[0.2236]], dtype=float32), array([[3]]))
        >>> nn.kneighbors()[1].ravel().tolist()  # each reference row, without itself
        [1, 0, 3, 2]
        >>> client.close()
        """
        if getattr(self, "indexes_", None) is None:
            raise _errors.NotFittedError(
                "This ShardedNeighbors instance is not fitted yet. Call 'fit' first.",
                status=_errors.ERR_STATE, status_name="EV_ERR_STATE")
        client = self._client
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise _bad("n_neighbors must be an int >= 1, got %r" % (k,))
        limit = self.n_samples_fit_ - (1 if X is None else 0)
        if k > limit:
            raise _bad("n_neighbors=%d must be at most the number of indexed samples%s (%d): "
                       "lower n_neighbors" % (k, " other than the query" if X is None else "",
                                              limit))
        lazy = isinstance(X, da.Array)
        if X is None:
            blocks, sizes = self._blocks, np.diff(self.offsets_).tolist()
        elif lazy:
            X = _rows(X)
            sizes = list(X.chunks[0])
            blocks = client.compute(list(X.to_delayed().ravel()))
        else:
            q = np.ascontiguousarray(X, dtype=np.float32)
            if q.ndim != 2:
                raise _bad("X must be a 2-D array of queries, got shape %s" % (q.shape,))
            blocks, sizes = [client.scatter(q, broadcast=True)], [len(q)]
        merged = []
        for t, block in enumerate(blocks):
            results = [client.submit(_query_shard, idx, None if (X is None and s == t) else block,
                                     k, int(self.offsets_[s]), pure=False)
                       for s, idx in enumerate(self.indexes_)]
            merged.append(client.submit(_merge, k, *results, pure=False))
        if lazy:
            dist = da.concatenate([da.from_delayed(dask.delayed(_part)(m, 0), (s, k), np.float32)
                                   for m, s in zip(merged, sizes)])
            ind = da.concatenate([da.from_delayed(dask.delayed(_part)(m, 1), (s, k), np.int64)
                                  for m, s in zip(merged, sizes)])
            return dist, ind
        out = client.gather(merged)
        return (np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out]))


# ---------------------------------------------------------------- the map

def embed_map(X, method="umap", *, max_rows=20000, random_state=0, **params):
    """Make the 2-D map of many rows: fit on at most `max_rows`, transform the rest.

    The recommended pattern for a map of more rows than one machine maps
    at once: reduce the rows with `fit_pca` and `transform` first (50
    components), then fit t-SNE or UMAP on the client on all the rows, or
    on `max_rows` of them drawn at random; UMAP's `transform` then places
    the other rows block by block on the workers (t-SNE has no transform,
    so "tsne" needs all rows within `max_rows`).

    Parameters
    ----------
    X : dask.array.Array or array-like of shape (n_samples, n_features)
        The reduced rows (e.g. 50 PCA scores).
    method : {"umap", "tsne"}, default "umap"
    max_rows : int, default 20000
        Rows the client fits on.
    random_state : int, default 0
        Seed of the sample and of the map.
    **params
        Passed to `embedviz.UMAP` or `embedviz.TSNE`.

    Returns
    -------
    embedding : dask.array.Array of shape (n_samples, 2)
        The map of every row, in X's order (the sampled rows keep their
        place from the fit).
    mapper : UMAP or TSNE
        The fitted estimator.

    Raises
    ------
    EmbedvizValueError
        method="tsne" with more rows than max_rows, or an unknown method.

    See Also
    --------
    fit_pca : Reduce the rows first.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from embedviz.distributed import embed_map
    >>> x = da.from_array(np.random.RandomState(0).rand(400, 5).astype(np.float32), chunks=100)
    >>> y, umap = embed_map(x, max_rows=300, n_neighbors=10, n_epochs=50)
    >>> y.shape, type(umap).__name__, y.compute().shape
    ((400, 2), 'UMAP', (400, 2))
    """
    from .manifold import TSNE
    from .umap import UMAP
    X = _rows(X)
    n = X.shape[0]
    if method not in ("umap", "tsne"):
        raise _bad("method must be 'umap' or 'tsne', got %r" % (method,))
    if method == "tsne" and n > max_rows:
        raise _bad("t-SNE has no transform: %d rows are more than max_rows=%d; raise max_rows "
                   "or use method='umap'" % (n, max_rows))
    est = (UMAP if method == "umap" else TSNE)(random_state=random_state, **params)
    if n <= max_rows:
        y = est.fit_transform(X.compute())
        return da.from_array(y, chunks=(X.chunks[0], (y.shape[1],))), est
    sample = np.sort(np.random.RandomState(random_state).choice(n, max_rows, replace=False))
    y = est.fit_transform(X[sample].compute())
    where = np.full(n, -1, np.int64)
    where[sample] = np.arange(max_rows)
    place = da.from_array(where, chunks=(X.chunks[0],))
    # The tasks get a copy rebuilt from a pickle (ev_umap_restore), also
    # under a threaded scheduler: the fitted handle's inner kNN index keeps
    # the fit's progress callback, which Python freed after the fit, and
    # ev_umap_transform on a thread other than the main one calls it
    # (a crash; reported with issue 18).
    import pickle
    shipped = pickle.loads(pickle.dumps(est))
    return X.map_blocks(_map_block, place[:, None], _one_key(shipped), _one_key(y),
                        chunks=(X.chunks[0], (y.shape[1],)),
                        dtype=np.float32), est


def _map_block(x, where, est, fitted):
    where = where[:, 0]
    out = np.empty((len(x), fitted.shape[1]), np.float32)
    have = where >= 0
    out[have] = fitted[where[have]]
    if (~have).any():
        out[~have] = est.transform(x[~have])
    return out
