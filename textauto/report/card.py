"""``MODEL_CARD.md``: what the model is for, what it learned from, how well it does and where it
may not, and how it was found; rendered from the manifest alone."""

from __future__ import annotations

from typing import Any

WEAK_F1_GAP = 0.05  # a class this far below the median class's F1 is named as weak


def render_card(m: dict[str, Any]) -> str:
    sections = [_intended_use(m), _training_data(m), _metrics(m), _limitations(m), _how_found(m)]
    return f"# Model card: `{m['name']}`\n\n" + "\n".join(sections)


def _intended_use(m: dict[str, Any]) -> str:
    classes = ", ".join(f"`{c}`" for c in m["classes"])
    return (
        "## Intended use\n\n"
        f"Assigns one of {len(m['classes'])} labels ({classes}) to a text in the language and of the "
        "kind it was trained on. It was found and fitted automatically by textauto; review its "
        "scores below, and its errors on your own data, before it decides anything that matters.\n"
    )


def _training_data(m: dict[str, Any]) -> str:
    d = m["data"]
    lines = [
        "## Training data\n",
        f"- file: `{d['train']}`, {d['rows']} rows, fingerprint `{d['fingerprint'][:16]}`",
        "- rows per class: " + ", ".join(f"{c} {n}" for c, n in d["class_counts"].items()),
        f"- language: `{m.get('lang_detected') or m.get('lang')}`",
    ]
    profile = d.get("profile")
    if profile:
        q = profile["length_quantiles"]
        lines.append(f"- text length: {q['min']} to {q['max']} characters (median {q['median']})")
        lines.append(
            f"- {profile['duplicates']} rows repeat an earlier text, {profile['conflicting']} of them "
            "with another label"
        )
    return "\n".join(lines) + "\n"


def _metrics(m: dict[str, Any]) -> str:
    v = m["validation"]
    se = f" ± {v['standard_error']:.4f}" if v.get("standard_error") is not None else ""
    lines = ["## Metrics\n", f"- validation {m['metric']}: {v['score']:.4f}{se} ({v['method']})"]
    test = m.get("test")
    if test:
        lines.append(
            f"- on the test set `{m['data'].get('test')}` ({test['n']} rows): accuracy "
            f"{test['accuracy']:.4f}, macro-F1 {test['macro_f1']:.4f}"
        )
        lines += [
            f"  - `{c}`: precision {s['precision']:.3f}, recall {s['recall']:.3f}, F1 {s['f1']:.3f}"
            for c, s in test["per_class"].items()
        ]
    else:
        lines.append("- no test set was given: the validation score is the only estimate")
    return "\n".join(lines) + "\n"


def weak_classes(test: dict[str, Any] | None) -> list[str]:
    """Classes whose F1 (on a test set, or out of fold) is well below the median class's."""
    if not test:
        return []
    f1 = sorted(s["f1"] for s in test["per_class"].values())
    median = f1[len(f1) // 2]
    return [c for c, s in test["per_class"].items() if s["f1"] < median - WEAK_F1_GAP]


def _limitations(m: dict[str, Any]) -> str:
    lines = ["## Limitations\n"]
    for where, scores in (
        ("the test set", m.get("test")),
        ("validation", m["validation"].get("out_of_fold")),
    ):
        if weak := weak_classes(scores):
            lines.append(f"- weaker classes on {where}: " + ", ".join(f"`{c}`" for c in weak))
    features = m.get("class_features")
    if features:
        lines.append(
            "- what it looks at: each class's most indicative features are in `report.html` and "
            "`textauto explain MODEL_DIR --global`; check they are the words a person would use"
        )
    profile = m["data"].get("profile")
    if profile:
        q = profile["length_quantiles"]
        lines.append(
            f"- texts shorter than {q['min']} or longer than {q['max']} characters were not seen in "
            "training; scores there are unknown"
        )
    lines.append(
        f"- only `{m.get('lang_detected') or m.get('lang')}` text was seen; other languages get "
        "labels with no meaning"
    )
    lines.append("- labels outside the list above are never predicted")
    return "\n".join(lines) + "\n"


def _how_found(m: dict[str, Any]) -> str:
    trials = ", ".join(f"{state} {n}" for state, n in m["trials"].items() if n)
    space = m["config"]["space"]
    ensemble = m.get("ensemble")
    saved = (
        f"a {ensemble['combiner']} of {len(ensemble['members'])} pipelines"
        if ensemble and ensemble.get("combiner") != "single"
        else f"the best pipeline, trial {m['best_trial']}"
    )
    return (
        "## How it was found\n\n"
        f"- time budget {m.get('time_budget')} s, seed {m['seed']}; trials: {trials}\n"
        f"- representations searched: {', '.join(space['representations'])}\n"
        f"- classifiers searched: {', '.join(space['classifiers'])}\n"
        f"- saved: {saved}; every trial is in `leaderboard.csv` and the search in `report.html`\n"
    )
