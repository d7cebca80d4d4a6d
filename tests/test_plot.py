"""phyper.plot on a small real store: runs trained by tune.Run, studies run by tune.Study,
figures rendered to PNG with Agg, and their artists checked."""

from __future__ import annotations

import math
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import phyper
from phyper import plot, tune
from phyper.plot._curves import BEST_SIZE, STOP_SIZE
from phyper.plot._search import _median_and_range


class Net(phyper.Parser):
    rate = 0.1
    width = 4
    n_epochs = phyper.non_key(30)


def loss_at(net: Net, epoch: int) -> float:
    """A loss that falls by decades, faster for a larger rate, and rises again once the rate is
    too large (so that patience fires for some runs)."""
    floor = 0.01 * net.width / 4
    value = floor + 2.0 * math.exp(-net.rate * 4 * epoch)
    if net.rate >= 0.5 and epoch > 6:
        value += 0.05 * (epoch - 6)
    return value


def train(net: Net) -> tune.RunResult:
    stop = tune.max_epochs(net.n_epochs) | tune.patience("validation_loss", epochs=4)
    with tune.Run(net, stop=stop) as run:
        for epoch in run.epochs():
            loss = loss_at(net, epoch)
            run.report(
                validation_loss=loss, train_loss=loss * 0.8, accuracy=0.5 + 0.4 * (1 - loss / 2.1)
            )
    return run.result


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store") / "derived_data"
    parser = Net(hashed_resources_folder=str(root))
    instances = parser.get_instances_from_dictionary({"rate": [0.05, 0.2, 0.6], "width": [4, 8]})
    for net in instances:
        train(net)
    space = {"rate": tune.log_uniform(0.01, 1.0), "width": tune.choice([4, 8, 16])}
    for seed in (0, 1):
        study = tune.Study(
            parser,
            f"search-random-seed{seed}",
            space=space,
            metric="validation_loss",
            sampler=tune.RandomSampler(seed=seed),
        )
        study.optimize(train, n_trials=5)
    grid = tune.Study(
        parser,
        "search-grid",
        space={"rate": tune.choice([0.05, 0.2, 0.6]), "width": tune.choice([4, 8])},
        metric="validation_loss",
        sampler=tune.GridSampler(),
    )
    grid.optimize(train, n_trials=6)  # the six runs above: answered from the store
    return root, parser, instances


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _png(figure, path) -> bytes:
    figure.savefig(path, dpi=60)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def _offsets(panel, size):
    """The points of the scatter collections drawn with marker area ``size``."""
    points = []
    for collection in panel.collections:
        sizes = collection.get_sizes()
        if len(sizes) and sizes[0] == size:
            points.extend(tuple(p) for p in collection.get_offsets())
    return sorted(points)


def _close(points, expected):
    assert len(points) == len(expected)
    np.testing.assert_allclose(np.asarray(points, dtype=float), np.asarray(expected, dtype=float))


def _legend_texts(figure):
    return [[t.get_text() for t in legend.get_texts()] for legend in figure.legends]


# ---------------------------------------------------------------------------- learning curves


def test_learning_curves_mark_each_best_epoch_and_stop_reason(store, tmp_path):
    _, _, instances = store
    figure = plot.learning_curves(instances, ["validation_loss", "accuracy"], hue="rate")
    _png(figure, tmp_path / "curves.png")
    loss_panel, accuracy_panel = figure.axes[:2]
    results = [tune.load_result(net) for net in instances]
    assert {r.stopped_by.split("(")[0] for r in results} == {"max_epochs", "patience"}
    expected = sorted((float(r.best_epoch), r.best_value) for r in results)
    _close(_offsets(loss_panel, BEST_SIZE), expected)
    # the same kept epoch is marked on the other metric's panel
    assert [x for x, _ in _offsets(accuracy_panel, BEST_SIZE)] == [x for x, _ in expected]
    last = sorted((float(r.epochs), r.final_metrics["validation_loss"]) for r in results)
    _close(_offsets(loss_panel, STOP_SIZE), last)
    # losses span decades, accuracies do not
    assert loss_panel.get_yscale() == "log" and accuracy_panel.get_yscale() == "linear"
    assert [p.get_ylabel() for p in figure.axes[:2]] == ["validation_loss", "accuracy"]
    hue_legend, markers = figure.legends
    assert hue_legend.get_title().get_text() == "rate"
    assert [t.get_text() for t in hue_legend.get_texts()] == ["0.05", "0.2", "0.6"]
    assert [t.get_text() for t in markers.get_texts()] == [
        "best epoch (validation_loss)",
        "stopped: max_epochs",
        "stopped: patience",
    ]


def test_learning_curves_take_hashes_or_a_collected_table_alike(store):
    root, _, instances = store
    from_instances = plot.learning_curves(instances)
    hashes = [net.get_instance_hash()[:10] for net in instances]
    from_hashes = plot.learning_curves(hashes, root=root)
    table = phyper.collect(instances, lambda net: f"{net.get_resources_path()}/metrics.csv")
    from_table = plot.learning_curves(table, root=root)
    expected = _offsets(from_instances.axes[0], BEST_SIZE)
    assert len(expected) == len(instances)
    for figure in (from_hashes, from_table):
        _close(_offsets(figure.axes[0], BEST_SIZE), expected)
        _close(_offsets(figure.axes[0], STOP_SIZE), _offsets(from_instances.axes[0], STOP_SIZE))
    # hue="auto": the first hyperparameter that varies
    assert from_table.legends[0].get_title().get_text() == "rate"
    # a table read without the store: best epochs from the values, no stop reason known
    bare = plot.learning_curves(table)
    assert len(_offsets(bare.axes[0], BEST_SIZE)) == len(instances)
    assert _offsets(bare.axes[0], STOP_SIZE) == []


def test_learning_curves_scale_and_style_can_be_chosen(store):
    _, _, instances = store
    figure = plot.learning_curves(
        instances, "validation_loss", hue="width", style="rate", logy=False
    )
    panel = figure.axes[0]
    assert panel.get_yscale() == "linear"
    assert {line.get_linestyle() for line in panel.lines} == {"-", "--", ":"}
    titles = [legend.get_title().get_text() for legend in figure.legends]
    assert titles[:2] == ["width", "rate"]


def test_learning_curves_with_many_values_get_a_colour_bar(store):
    root, _, _ = store
    trials = [h for h in tune.runs(root).hash]
    figure = plot.learning_curves(trials, root=root, hue="rate")
    assert len(trials) > 10
    colour_bars = [a for a in figure.axes if a.get_ylabel() == "rate"]
    assert len(colour_bars) == 1
    assert colour_bars[0].get_yscale() == "log"  # rates from 0.01 to 1: a log colour scale


def test_learning_curves_draw_into_the_callers_axes(store):
    _, _, instances = store
    figure, ax = plt.subplots()
    assert plot.learning_curves(instances, ax=ax, title="mine") is figure
    assert ax.get_title() == "mine" and len(ax.lines) == len(instances)


def test_learning_curves_refuse_what_they_cannot_draw(store):
    root, _, instances = store
    with pytest.raises(plot.PlotError, match="unknown metric .*'test_loss'.*validation_loss"):
        plot.learning_curves(instances, "test_loss")
    with pytest.raises(plot.PlotError, match="unknown hue hyperparameter 'depth'"):
        plot.learning_curves(instances, hue="depth")
    with pytest.raises(plot.PlotError, match="pass root"):
        plot.learning_curves([instances[0].get_instance_hash()])
    with pytest.raises(plot.PlotError, match="names no folder"):
        plot.learning_curves(["abcdef0123"], root=root)
    with pytest.raises(plot.PlotError, match="2 panel.*1 axes"):
        _, ax = plt.subplots()
        plot.learning_curves(instances, ["validation_loss", "accuracy"], ax=ax)


# ------------------------------------------------------------------------------ best so far


def test_best_so_far_draws_seeds_as_median_and_range_with_a_baseline(store, tmp_path):
    root, _, _ = store
    figure = plot.best_so_far(root=root, baseline={"grid's best": 0.03})
    _png(figure, tmp_path / "best.png")
    texts = _legend_texts(figure)[0]
    assert texts == [
        "search-grid",
        "search-random: median of 2 (range shaded)",
        "grid's best: 0.03",
    ]
    panel = figure.axes[0]
    baseline = [line for line in panel.lines if line.get_linestyle() == "--"]
    assert len(baseline) == 1 and set(baseline[0].get_ydata()) == {0.03}
    assert len(panel.collections) == 1  # the seeds' range
    assert panel.get_xlabel() == "trials"
    views = [tune.StudyView.read(root, f"search-random-seed{s}") for s in (0, 1)]
    median = next(line for line in panel.lines if line.get_linewidth() == 2.4)
    finals = sorted(v.trials_frame().best_so_far.iloc[-1] for v in views)
    assert median.get_ydata()[-1] == pytest.approx(sum(finals) / 2)


def test_best_so_far_by_epochs_trained_counts_nothing_for_answers_from_the_store(store):
    root, _, _ = store
    figure = plot.best_so_far(
        ["search-grid", "search-random-seed0"], root=root, x="epochs", group="study"
    )
    panel = figure.axes[0]
    grid_line, random_line = (
        line for line in panel.lines if line.get_label() in ("search-grid", "search-random-seed0")
    )
    assert panel.get_xlabel() == "epochs trained (cumulative)"
    assert set(grid_line.get_xdata()) == {0.0}  # every grid trial was answered from the store
    view = tune.StudyView.read(root, "search-random-seed0")
    trained = [
        0 if t.state == "from_store" else tune.load_result(f"{root}/all/{t.hash}").epochs
        for t in view.trials
    ]
    assert random_line.get_xdata()[-1] == sum(trained) > 0


def test_the_median_of_seeds_starts_once_every_seed_has_a_value():
    # seed b finds its first (poor) value only after seed a found a good one: a median over the
    # seeds that have a value would rise there, which a best-so-far never does
    early = (np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 0.2, 0.1, 0.1]))
    late = (np.array([1.0, 2.5, 3.0, 4.0]), np.array([np.nan, 0.9, 0.3, 0.2]))
    grid, median, low, high = _median_and_range([early, late])
    assert grid.tolist() == [2.5, 3.0, 4.0]
    assert median.tolist() == pytest.approx([0.55, 0.2, 0.15])
    assert low.tolist() == [0.2, 0.1, 0.1] and high.tolist() == [0.9, 0.3, 0.2]


def test_best_so_far_refuses_unknown_studies(store):
    root, _, _ = store
    with pytest.raises(plot.PlotError, match="no study 'nope'"):
        plot.best_so_far(["nope"], root=root)
    with pytest.raises(plot.PlotError, match="x='budget'"):
        plot.best_so_far(root=root, x="budget")
    with pytest.raises(plot.PlotError, match="pass studies=... or root"):
        plot.best_so_far()


# ----------------------------------------------------------------- metric by hyperparameter


def _stars(panel):
    return [c for c in panel.collections if hasattr(c, "get_sizes") and c.get_sizes()[0] == 260]


def test_metric_by_hyperparameter_has_a_panel_per_searched_dimension(store, tmp_path):
    root, _, _ = store
    figure = plot.metric_by_hyperparameter(
        ["search-random-seed0", "search-random-seed1"], root=root
    )
    _png(figure, tmp_path / "params.png")
    rate, width = figure.axes
    assert (rate.get_title(), rate.get_xscale()) == ("rate", "log")
    assert (width.get_title(), width.get_xscale()) == ("width", "linear")
    assert [t.get_text() for t in width.get_xticklabels()] == ["4", "8", "16"]
    values = [
        t.value
        for s in (0, 1)
        for t in tune.StudyView.read(root, f"search-random-seed{s}").finished_trials
    ]
    stars = _stars(rate)
    assert stars[0].get_offsets()[0][1] == pytest.approx(min(values))
    legend = _legend_texts(figure)[0]
    assert legend[0] == "search-random" and legend[-1] == f"best ({min(values):.3g})"


def test_metric_by_hyperparameter_of_a_table(store):
    _, _, instances = store
    table = phyper.collect(instances, lambda net: f"{net.get_resources_path()}/run.json")
    table["validation_loss"] = table.best_value
    figure = plot.metric_by_hyperparameter(
        table, "validation_loss", params=["rate", "width"], hue="width"
    )
    assert len(figure.axes) == 2
    assert figure.axes[0].get_yscale() == "linear"  # best values from 0.01 to 0.025
    best = table.best_value.min()
    for panel in figure.axes[:2]:  # the best configuration is starred in every panel
        stars = _stars(panel)
        assert len(stars) == 1 and stars[0].get_offsets()[0][1] == pytest.approx(best)
    assert _legend_texts(figure)[0][:2] == ["4", "8"]
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["0.05", "0.2", "0.6"]
    with pytest.raises(plot.PlotError, match="unknown hyperparameter column 'depth'"):
        plot.metric_by_hyperparameter(table, "validation_loss", params=["depth"])


def test_importing_phyper_does_not_import_matplotlib():
    code = "import sys, phyper, phyper.tune; print('matplotlib' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.stdout.strip() == "False", output.stderr
