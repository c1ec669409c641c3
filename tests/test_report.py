"""report.html: one self-contained page per bundle, rebuilt by `textauto report`."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pandas as pd
import pytest

from textauto.bundle import LEADERBOARD_FILE, MODEL_CARD_FILE, REPORT_HTML_FILE
from textauto.report import SECTIONS, svg

SVG = "{http://www.w3.org/2000/svg}"


def _marks(element: ET.Element) -> list[ET.Element]:
    return [
        e
        for e in element.iter()
        if e.tag in (f"{SVG}circle", f"{SVG}polygon") and e.find(f"{SVG}title") is not None
    ]


def test_a_chart_draws_every_point_with_its_title_and_escapes_text():
    series = [
        svg.Series("word + <b>svm</b>", [(0.0, 0.8), (1.0, 0.85)], titles=["first & best", "second"]),
        svg.Series("char + ridge", [(2.0, 0.7)], shape="triangle", color=svg.PALETTE[1]),
        svg.Series("best so far", [(0.0, 0.8), (1.0, 0.85)], kind="step"),
    ]
    strips = {"pruned": [(1.5, "trial 3: below the median")], "failed": []}
    baseline = [svg.Reference(0.82, "baseline")]
    page = svg.chart(series, x_label="seconds", y_label="accuracy", references=baseline, strips=strips)
    root = ET.fromstring(page)  # well-formed XML: the names' markup is text
    titles = [e.find(f"{SVG}title").text for e in _marks(root)]
    assert titles == ["first & best", "second", "char + ridge: 2, 0.7", "trial 3: below the median"]
    assert "word + <b>svm</b>" in "".join(root.itertext())
    assert float(root.get("width")) > 0 and float(root.get("height")) > 0


def test_a_chart_of_one_value_or_none_still_draws():
    one = ET.fromstring(svg.chart([svg.Series("only", [(3.0, 0.9)])], x_label="x", y_label="y"))
    assert len(_marks(one)) == 1
    empty = ET.fromstring(svg.chart([], x_label="x", y_label="y"))
    assert "no data" in "".join(empty.itertext())


def test_every_marker_shape_is_drawn():
    for shape in svg.SHAPES:
        root = ET.fromstring(
            svg.chart([svg.Series(shape, [(0.0, 1.0)], shape=shape)], x_label="x", y_label="y")
        )
        assert len(_marks(root)) == 1, shape


def test_bars_and_a_confusion_heat_map():
    bars = ET.fromstring(svg.bars(["a", "b"], [3.0, 1.0], x_label="rows"))
    assert len([e for e in bars.iter(f"{SVG}rect")]) == 2
    heat = ET.fromstring(svg.heatmap(["x", "y"], ["x", "y"], [[5, 1], [0, 4]]))
    cells = [e.find(f"{SVG}title").text for e in heat.iter(f"{SVG}rect")]
    assert "true x, predicted y: 1" in cells and len(cells) == 4


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.tags: list[str] = []
        self.fetches: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "section":
            self.sections.append(found.get("id") or "")
        self.fetches += [v for k, v in attrs if k in ("src", "href") and v]


def test_every_bundle_has_a_self_contained_report_page(trained_bundle):
    page = _Page()
    page.feed((trained_bundle / REPORT_HTML_FILE).read_text(encoding="utf-8"))
    assert page.sections == [key for key, _ in SECTIONS]
    assert "script" not in page.tags and "link" not in page.tags and page.fetches == []
    assert page.tags.count("svg") >= 4  # class counts, two convergence charts, the confusion matrix


def test_the_leaderboard_says_when_each_trial_ended(trained_bundle):
    board = pd.read_csv(trained_bundle / LEADERBOARD_FILE)
    ended = board.dropna(subset=["finished_s"])
    assert len(ended) == len(board) and (ended["finished_s"] >= ended["duration_s"] - 0.01).all()


def test_textauto_report_rebuilds_the_page(invoke, trained_bundle, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(trained_bundle, copy)
    (copy / REPORT_HTML_FILE).unlink()
    (copy / MODEL_CARD_FILE).unlink()
    result = invoke("report", copy)
    assert result.exit_code == 0, result.output
    assert (copy / MODEL_CARD_FILE).read_text(encoding="utf-8") == (
        trained_bundle / MODEL_CARD_FILE
    ).read_text(encoding="utf-8")
    assert f"wrote {copy / REPORT_HTML_FILE}" in result.output.replace("\n", "")
    assert (copy / REPORT_HTML_FILE).read_text(encoding="utf-8") == (
        trained_bundle / REPORT_HTML_FILE
    ).read_text(encoding="utf-8")


def test_textauto_report_refuses_what_is_not_a_bundle_or_was_changed(invoke, trained_bundle, tmp_path):
    result = invoke("report", tmp_path / "nowhere")
    assert result.exit_code == 2 and "no model bundle here" in result.output
    copy = tmp_path / "copy"
    shutil.copytree(trained_bundle, copy)
    with (copy / LEADERBOARD_FILE).open("a") as f:
        f.write("999,complete,1.0\n")
    result = invoke("report", copy)
    assert result.exit_code == 2 and "leaderboard.csv: its SHA-256 differs" in result.output.replace("\n", "")


def test_importances_rank_the_parameter_that_moves_the_score_first():
    import optuna

    from textauto.search.importance import param_importances

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) * 10 + t.suggest_float("y", 0, 1) * 0.1, n_trials=40)
    found = param_importances(study)
    assert list(found) == ["x", "y"] and abs(sum(found.values()) - 1.0) < 1e-3
    few = optuna.create_study()
    few.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert param_importances(few) == {}


class _Fixed:
    """A fitted model that gives the same probabilities to every text."""

    classes_ = ("ham", "spam")

    def __init__(self, row: list[float]) -> None:
        self.row = row

    def predict_proba(self, texts):
        import numpy as np

        return np.tile(self.row, (len(texts), 1))


def test_test_scores_say_how_well_the_probabilities_are_calibrated():
    from textauto.evaluation import evaluate

    labels = ["ham"] * 9 + ["spam"]
    honest = evaluate(_Fixed([0.9, 0.1]), ["t"] * 10, labels)["calibration"]
    assert honest["bins"] == [{"confidence": pytest.approx(0.9), "accuracy": pytest.approx(0.9), "rows": 10}]
    assert honest["ece"] == pytest.approx(0.0, abs=1e-9)
    sure = evaluate(_Fixed([1.0, 0.0]), ["t"] * 10, labels)["calibration"]
    assert sure["bins"][0]["confidence"] == 1.0 and abs(sure["ece"] - 0.1) < 1e-9


def test_the_saved_study_opens_with_optuna_and_holds_every_trial_of_the_leaderboard(trained_bundle):
    import json

    import optuna

    manifest = json.loads((trained_bundle / "manifest.json").read_text())
    storage = f"sqlite:///{trained_bundle / 'study.db'}"
    study = optuna.load_study(study_name=manifest["config"]["search"]["study_name"], storage=storage)
    board = pd.read_csv(trained_bundle / LEADERBOARD_FILE)
    ran = {t.number for t in study.trials if t.state != optuna.trial.TrialState.WAITING}
    assert set(board["trial"]) == ran and len(ran) > 0
    scores = {t.number: t.value for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE}
    for row in board.dropna(subset=["score"]).itertuples():
        assert row.score == pytest.approx(scores[row.trial])


def test_every_bundle_has_a_model_card(trained_bundle):
    import json

    card = (trained_bundle / MODEL_CARD_FILE).read_text(encoding="utf-8")
    headings = [line for line in card.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Intended use", "## Training data", "## Metrics", "## Limitations", "## How it was found"
    ]  # fmt: skip
    manifest = json.loads((trained_bundle / "manifest.json").read_text())
    assert f"on the test set `{manifest['data']['test']}`" in card
    assert all(f"`{c}`" in card for c in manifest["classes"])


def test_a_card_names_the_weak_classes_and_the_lengths_never_seen():
    from textauto.report.card import render_card

    per_class = {
        c: {"precision": f, "recall": f, "f1": f, "support": 10}
        for c, f in [("a", 0.9), ("b", 0.92), ("c", 0.6)]
    }
    manifest = {
        "name": "m", "classes": ["a", "b", "c"], "metric": "accuracy", "seed": 0, "time_budget": 30,
        "best_trial": 0, "ensemble": None, "lang": "en", "trials": {"complete": 3},
        "validation": {"score": 0.8, "method": "5-fold"},
        "test": {"n": 30, "accuracy": 0.8, "macro_f1": 0.8, "per_class": per_class},
        "data": {"train": "t.csv", "test": "s.csv", "rows": 9, "fingerprint": "f" * 64,
                 "class_counts": {"a": 3},
                 "profile": {"length_quantiles": {"min": 4, "median": 30, "max": 280}, "duplicates": 0,
                             "conflicting": 0}},
        "config": {"space": {"representations": ["word"], "classifiers": ["logreg"]}},
    }  # fmt: skip
    card = render_card(manifest)
    assert "weaker classes on the test set: `c`" in card
    assert "shorter than 4 or longer than 280 characters were not seen" in card


def test_the_page_scores_the_model_out_of_fold_and_names_what_each_class_looks_at(trained_bundle):
    import json

    manifest = json.loads((trained_bundle / "manifest.json").read_text())
    oof = manifest["validation"]["out_of_fold"]
    assert oof["n"] == manifest["reproduction"]["oof_predictions"]["rows"]
    assert sum(map(sum, oof["confusion_matrix"]["matrix"])) == oof["n"]
    assert set(oof["per_class"]) == set(manifest["classes"]) and oof["calibration"]["bins"]
    page = (trained_bundle / REPORT_HTML_FILE).read_text(encoding="utf-8")
    validation = page[page.index('<section id="validation">') : page.index('<section id="test">')]
    assert f"<td>{oof['n']}</td>" in validation or f'<td class="num">{oof["n"]}</td>' in validation
    assert validation.count("<svg") == 2  # the confusion heat map and the reliability curve
    reproduction = page[page.index('<section id="reproduction">') :]
    assert manifest["reproduction"]["oof_predictions"]["sha256"] in reproduction
    assert "textauto reproduce MODEL_DIR --data" in reproduction
    features = page[page.index('<section id="features">') : page.index('<section id="reproduction">')]
    assert features.count('<figure class="class-features">') == len(manifest["classes"])
    for cls, rows in manifest["class_features"].items():
        assert f"<figcaption>{cls}</figcaption>" in features
        assert f"{rows[0]['source']}: {rows[0]['term']}" in features


def test_a_card_names_the_classes_weak_out_of_fold_without_a_test_set():
    from textauto.report.card import render_card

    per_class = {
        c: {"precision": f, "recall": f, "f1": f, "support": 10} for c, f in [("a", 0.9), ("b", 0.5)]
    }
    manifest = {
        "name": "m", "classes": ["a", "b"], "metric": "accuracy", "seed": 0, "time_budget": 30,
        "best_trial": 0, "ensemble": None, "lang": "en", "trials": {"complete": 3}, "test": None,
        "validation": {"score": 0.7, "method": "5-fold", "out_of_fold": {"n": 20, "per_class": per_class}},
        "data": {"train": "t.csv", "test": None, "rows": 20, "fingerprint": "f" * 64,
                 "class_counts": {"a": 10}},
        "config": {"space": {"representations": ["word"], "classifiers": ["logreg"]}},
    }  # fmt: skip
    card = render_card(manifest)
    assert "weaker classes on validation: `b`" in card and "on the test set" not in card


def test_the_manifest_and_the_page_time_every_stage_of_the_run(trained_bundle):
    import json

    t = json.loads((trained_bundle / "manifest.json").read_text())["timings"]
    stages = ["loading_s", "search_and_refit_s", "test_scoring_s", "report_s", "saving_s"]
    assert all(t[k] >= 0 for k in [*stages, "refit_s", "spacy_parsing_s"])
    assert t["refit_s"] <= t["search_and_refit_s"] and t["saving_s"] > 0
    assert sum(t[k] for k in stages) <= t["total_s"] + 0.05  # each rounded to 0.01 s
    page = (trained_bundle / REPORT_HTML_FILE).read_text(encoding="utf-8")
    space = page[page.index('<section id="space">') : page.index('<section id="convergence">')]
    for label in ("loading", "spaCy parsing", "refit of the saved model", "saving the bundle", "whole run"):
        assert label in space


def test_the_page_says_when_the_search_went_on_once_the_refit_was_priced(trained_bundle):
    import json

    from textauto.report import render_html

    manifest = json.loads((trained_bundle / "manifest.json").read_text())
    board = pd.read_csv(trained_bundle / LEADERBOARD_FILE)
    assert "searched on once the refit was priced" not in render_html(manifest, board)
    manifest["timings"]["search_extended"] = [{"at": 80.5, "held_back": 21.3}]
    page = render_html(manifest, board)
    assert "searched on once the refit was priced" in page and "at 80.5 s, holding back 21.3 s" in page
