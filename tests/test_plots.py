"""The plotting helpers return Figures with the right number of axes (Agg backend)."""
import matplotlib

matplotlib.use("Agg")

import io  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from linclass import plots  # noqa: E402

CLASSES = ["cat", "car", "frog"]


def renders(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue().startswith(b"\x89PNG")


@pytest.mark.parametrize("D", [3073, 3072])
def test_show_weights(D):
    W = np.random.default_rng(0).standard_normal((D, 3))
    fig = plots.show_weights(W, CLASSES)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == CLASSES
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (32, 32, 3)
    assert image.min() == pytest.approx(0.0) and image.max() == pytest.approx(1.0)
    # The template is the class's column reshaped, min-max scaled.
    col = W[:3072, 0].reshape(32, 32, 3)
    np.testing.assert_allclose(image, (col - col.min()) / (col.max() - col.min()))
    assert renders(fig)


def test_show_weights_drops_bias_and_checks_shape():
    W = np.zeros((3073, 2))
    W[-1] = 1e6                       # a huge bias must not affect the template scale
    W[0, 0] = 1.0
    fig = plots.show_weights(W, ["a", "b"])
    assert fig.axes[0].images[0].get_array().max() == pytest.approx(1.0)
    assert fig.axes[1].images[0].get_array().max() == pytest.approx(0.0)
    with pytest.raises(ValueError, match="W"):
        plots.show_weights(np.zeros((100, 3)), CLASSES)
    with pytest.raises(ValueError, match="classes"):
        plots.show_weights(np.zeros((3073, 3)), ["a", "b"])


def test_plot_loss_history():
    fig = plots.plot_loss_history([3.0, 2.0, 1.5, 1.2])
    assert len(fig.axes) == 1
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), [3.0, 2.0, 1.5, 1.2])
    assert renders(fig)
    with pytest.raises(ValueError, match="history"):
        plots.plot_loss_history([])


def test_plot_search_results():
    results = {(1e-7, 2.5e4): (0.37, 0.36), (1e-7, 5e4): (0.35, 0.34), (5e-7, 2.5e4): (0.33, 0.32)}
    fig = plots.plot_search_results(results)
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(axes) == 2
    assert axes[1].get_title() == "validation accuracy"
    offsets = axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(sorted(map(tuple, offsets)),
                               sorted((np.log10(lr), np.log10(r)) for lr, r in results))
    np.testing.assert_allclose(axes[1].collections[0].get_array(), [0.36, 0.34, 0.32])
    assert renders(fig)
    with pytest.raises(ValueError, match="log axes"):
        plots.plot_search_results({(1e-7, 0.0): (0.1, 0.1)})


def test_score_table_lecture_example():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    text = plots.score_table(scores, CLASSES, ["cat img", "car img", "frog img"])
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[0].split() == ["class", "cat", "img", "car", "img", "frog", "img"]
    assert lines[1].split() == ["cat", "3.20", "1.30", "2.20"]
    assert lines[2].split() == ["car", "5.10*", "4.90*", "2.50*"]
    html_text, fig = plots.score_table(scores, CLASSES, html_table=True, figure=True)
    assert html_text.startswith("<table>") and html_text.count("<tr>") == 4
    assert "<b>5.10</b>" in html_text
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert renders(fig)
    with pytest.raises(ValueError, match="image_names"):
        plots.score_table(scores, CLASSES, ["only one"])


def test_show_samples_and_mean_image():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (40, 32, 32, 3)).astype(np.uint8)
    y = np.repeat(np.arange(4), 10)
    fig = plots.show_samples(X, y, ["a", "b", "c", "d"], per_class=3)
    assert len(fig.axes) == 12
    assert sum(len(ax.images) for ax in fig.axes) == 12
    assert renders(fig)
    flat = X.reshape(40, -1).astype(np.float64)
    fig = plots.show_samples(flat, y, ["a", "b", "c", "d"], per_class=2, seed=1)
    assert len(fig.axes) == 8
    with pytest.raises(ValueError, match="per_class"):
        plots.show_samples(X, y, ["a", "b", "c", "d"], per_class=0)
    fig = plots.show_mean_image(flat.mean(axis=0))
    assert len(fig.axes) == 1 and fig.axes[0].images[0].get_array().shape == (32, 32, 3)
    assert renders(fig)
    with pytest.raises(ValueError, match="mean_image"):
        plots.show_mean_image(np.zeros(10))
