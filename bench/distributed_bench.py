"""docs/distributed.md's table: embedviz.distributed on a LocalCluster of 1
and of 2 worker processes (1 Dask thread, 1 library thread each) on this
machine, against one process. ResNet-18 (random weights) avgpool features
of N random 256 x 256 JPEG photos resized to 224, in 3 classes; then a PCA
fit (fit_pca, 200,000 x 512 random normal rows) and a sharded exact kNN
(100,000 x 64 references, 2,000 queries).

The workers start without Dask's MALLOC_TRIM_THRESHOLD_ (docs/distributed.md:
with it, glibc maps and unmaps every large libtorch buffer and extraction
takes 2.5 times the CPU); EV_BENCH_DASK_DEFAULT=1 keeps Dask's default.

usage: EMBEDVIZ_LIBRARY=build/libembedviz.so.1 PYTHONPATH=bindings/python \\
       /usr/bin/python3 bench/distributed_bench.py [N] [out-dir]
Prints one BENCH line per measure and the load average before and after."""
import os
import sys
import time

import numpy as np


def make_photos(root, n):
    from PIL import Image
    rng = np.random.default_rng(0)
    done = os.path.join(root, "done-%d" % n)
    if os.path.exists(done):
        return
    for k in range(n):
        cls = os.path.join(root, "c%d" % (k % 3))
        os.makedirs(cls, exist_ok=True)
        # smooth random images (as photos compress, unlike noise)
        small = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(small).resize((256, 256), Image.BILINEAR).save(
            os.path.join(cls, "%05d.jpg" % k), quality=90)
    open(done, "w").close()


def make_model(path):
    if os.path.exists(path):
        return
    import torch
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None).eval()
    torch.jit.save(torch.jit.script(net), path)


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    out = sys.argv[2] if len(sys.argv) > 2 else "build/bench/distributed"
    os.makedirs(out, exist_ok=True)
    photos, model = os.path.join(out, "photos"), os.path.join(out, "resnet18.pt")
    make_photos(photos, n)
    make_model(model)
    import dask
    import embedviz
    from distributed import Client, LocalCluster
    if not os.environ.get("EV_BENCH_DASK_DEFAULT"):
        dask.config.set({"distributed.nanny.pre-spawn-environ": {
            "OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}})
    from embedviz import distributed
    opts = dict(resize=224, crop=224, batch_size=16, pool=True)
    print("load average before: %s" % load(), flush=True)

    t, c = time.perf_counter(), time.process_time()
    ref = embedviz.FeatureExtractor(model, n_jobs=1).extract(photos, "avgpool", **opts)
    one, cpu = time.perf_counter() - t, time.process_time() - c
    print("BENCH case=extract n=%d impl=one-process threads=1 s=%.2f per_image_ms=%.1f "
          "cpu_per_image_ms=%.1f" % (n, one, 1e3 * one / n, 1e3 * cpu / n), flush=True)

    for workers in (1, 2):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, silence_logs=40)
        client = Client(cluster)
        times = []
        for run in ("cold", "warm"):
            c = sum(client.run(time.process_time).values())
            t = time.perf_counter()
            res = distributed.extract(model, photos, "avgpool", client=client,
                                      partition_size=32, **opts)
            rows = res["avgpool"].compute()
            times.append(time.perf_counter() - t)
            cpu = sum(client.run(time.process_time).values()) - c
            assert np.array_equal(rows, ref["avgpool"]), "rows differ from one process"
            # release the results, or the same call (same keys) returns them
            client.cancel(res.futures)
            del res
            time.sleep(1)
            print("BENCH case=extract n=%d impl=dask workers=%d run=%s s=%.2f per_image_ms=%.1f "
                  "cpu_per_image_ms=%.1f load=%s" % (n, workers, run, times[-1],
                                                     1e3 * times[-1] / n, 1e3 * cpu / n, load()),
                  flush=True)
        import dask.array as da
        x = da.random.RandomState(0).standard_normal((200000, 512), chunks=(25000, 512)).astype(
            np.float32)
        t = time.perf_counter()
        distributed.fit_pca(x, 50)
        print("BENCH case=fit_pca rows=200000 d=512 k=50 workers=%d s=%.2f"
              % (workers, time.perf_counter() - t), flush=True)
        ref_rows = da.random.RandomState(1).standard_normal((100000, 64), chunks=(25000, 64))
        queries = np.random.RandomState(2).standard_normal((2000, 64)).astype(np.float32)
        t = time.perf_counter()
        nn = distributed.ShardedNeighbors(n_neighbors=10, n_shards=4, client=client).fit(
            ref_rows.astype(np.float32))
        nn.kneighbors(queries)
        print("BENCH case=sharded_knn refs=100000 queries=2000 d=64 k=10 workers=%d s=%.2f"
              % (workers, time.perf_counter() - t), flush=True)
        client.close()
        cluster.close()
    print("load average after: %s" % load(), flush=True)


if __name__ == "__main__":
    main()
