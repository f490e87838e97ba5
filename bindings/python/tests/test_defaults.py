"""Defaults live in the library (ev_X_param_default, libembedviz 1.1): the
estimators' defaults that are the library's are checked against it, and
FeatureExtractor.activations takes its batch size from it."""
import inspect

import pytest

import embedviz
from embedviz import _base, decomposition, manifold, quality, umap

from conftest import needs


def _signature_default(cls, name):
    return inspect.signature(cls.__init__).parameters[name].default


@needs("ev_tsne_param_default")
def test_tsne_defaults_are_the_librarys():
    # scikit-learn's defaults, which the library shares
    for name, param in (("perplexity", manifold._PERPLEXITY),
                        ("early_exaggeration", manifold._EARLY_EXAGGERATION),
                        ("n_iter", manifold._N_ITER),
                        ("min_grad_norm", manifold._MIN_GRAD_NORM),
                        ("angle", manifold._THETA)):
        assert _signature_default(embedviz.TSNE, name) == _base.param_default("tsne", param), name


@needs("ev_pca_param_default")
def test_pca_defaults_are_the_librarys():
    assert _signature_default(embedviz.PCA, "n_oversamples") == \
        _base.param_default("pca", decomposition._OVERSAMPLES)
    assert _base.param_default("pca", decomposition._POWER_ITERATIONS) == -1


@needs("ev_umap_param_default")
def test_umap_defaults_are_the_librarys():
    # umap-learn's defaults, which the library shares
    for name, param in (("n_neighbors", umap._N_NEIGHBORS),
                        ("n_components", umap._N_COMPONENTS),
                        ("min_dist", umap._MIN_DIST),
                        ("spread", umap._SPREAD),
                        ("learning_rate", umap._LEARNING_RATE),
                        ("negative_sample_rate", umap._NEGATIVE_SAMPLE_RATE),
                        ("repulsion_strength", umap._REPULSION_STRENGTH),
                        ("set_op_mix_ratio", umap._SET_OP_MIX_RATIO),
                        ("local_connectivity", umap._LOCAL_CONNECTIVITY)):
        assert _signature_default(embedviz.UMAP, name) == _base.param_default("umap", param), name


def _function_default(f, name):
    return inspect.signature(f).parameters[name].default


@needs("ev_quality_param_default")
def test_quality_neighbour_counts_are_the_librarys():
    k_map = _base.param_default("quality", quality._MAP_NEIGHBORS)
    k_issue = _base.param_default("quality", quality._ISSUE_NEIGHBORS)
    assert (k_map, k_issue) == (5, 10)
    assert _function_default(quality.map_quality, "n_neighbors") == k_map
    assert _function_default(quality.trustworthiness, "n_neighbors") == k_map
    for f in (quality.label_issue_scores, quality.label_issue_report,
              quality.find_label_issues):
        assert _function_default(f, "n_neighbors") == k_issue, f.__name__


@needs("ev_tsne_param_default")
def test_an_unknown_setting_has_no_default():
    with pytest.raises(embedviz.EmbedvizValueError, match="999 is not a TSNE setting"):
        _base.param_default("tsne", 999)


@needs("ev_dataset_param_default")
def test_dataset_scale_default_is_to_tensor():
    assert _base.param_default("dataset", 9) == 1.0 / 255.0  # EV_DS_SCALE


@needs("ev_extractor_param_default")
def test_extractor_batch_size_default_comes_from_the_library():
    if not embedviz.library().ev_extract_available():
        pytest.skip("libembedviz built without libtorch")
    assert inspect.signature(embedviz.FeatureExtractor.activations).parameters[
        "batch_size"].default is None
    assert _base.param_default("extractor", 1) == 32  # EV_EXTRACT_BATCH_SIZE
