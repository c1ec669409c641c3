"""The `textauto` command: thin typer commands over the library; errors become exit codes here."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from textauto.exceptions import ConfigError, DataWarning, TextAutoError

app = typer.Typer(
    help="AutoML for text classification: search, train, evaluate, predict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def guarded(fn: Callable[[], T]) -> T:
    """Run ``fn``; show data warnings as lines on stderr and turn library errors into exit code 2."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", DataWarning)
        warnings.showwarning = _show_warning
        try:
            return fn()
        except TextAutoError as exc:
            raise fail(str(exc)) from None


def _show_warning(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    if issubclass(category, DataWarning):
        err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``--space.word.min_df 2`` or ``--search.seed=3`` pairs into dotted overrides."""
    from textauto.config import parse_value

    overrides: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or "." not in arg:
            raise ConfigError(f"unexpected argument {arg!r} (dotted overrides look like --search.seed 3)")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args):
                raise ConfigError(f"--{key}: missing value")
            value = args[i + 1]
            i += 1
        overrides[key] = parse_value(value)
        i += 1
    return overrides


TrainFile = Annotated[Path, typer.Argument(help="Training data: .csv, .tsv, .jsonl or .parquet.")]
TestOpt = Annotated[Path | None, typer.Option(help="Held-out test file, scored after the search.")]
TestSizeOpt = Annotated[float | None, typer.Option(help="Split this fraction off TRAIN as the test set.")]
TextColOpt = Annotated[str | None, typer.Option(help="Text column \\[default: text].")]
LabelColOpt = Annotated[str | None, typer.Option(help="Label column \\[default: label].")]
LangOpt = Annotated[
    str | None, typer.Option(help="spaCy language code \\[default: auto, detected from the texts].")
]
ConfigOpt = Annotated[Path | None, typer.Option(help="TOML config (see configs/default.toml).")]
MetricOpt = Annotated[str | None, typer.Option(help="Validation metric \\[default: accuracy].")]
BudgetOpt = Annotated[float | None, typer.Option(help="Seconds for the whole command \\[default: 300].")]
TrialsOpt = Annotated[int | None, typer.Option(help="Stop after this many trials.")]
SeedOpt = Annotated[int | None, typer.Option(help="Random seed \\[default: 0].")]
JobsOpt = Annotated[
    int | None, typer.Option(help="Trial processes sharing the study \\[default: -1, one per core].")
]
StorageOpt = Annotated[str | None, typer.Option(help="Optuna storage URL \\[default: SQLite in --out].")]
StudyOpt = Annotated[
    str | None, typer.Option(help="Study name; workers sharing a storage share it \\[default: textauto].")
]
ResumeOpt = Annotated[bool, typer.Option(help="Continue the interrupted study in --out.")]
OutOpt = Annotated[Path | None, typer.Option(help="Output directory \\[default: runs/<timestamp>].")]


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    train_file: TrainFile,
    test: TestOpt = None,
    test_size: TestSizeOpt = None,
    text_col: TextColOpt = None,
    label_col: LabelColOpt = None,
    lang: LangOpt = None,
    config: ConfigOpt = None,
    metric: MetricOpt = None,
    time_budget: BudgetOpt = None,
    n_trials: TrialsOpt = None,
    seed: SeedOpt = None,
    n_jobs: JobsOpt = None,
    storage: StorageOpt = None,
    study_name: StudyOpt = None,
    resume: ResumeOpt = False,
    out: OutOpt = None,
) -> None:
    """Search text representations and classifiers; save the best model as a bundle.

    Any config value can be overridden with a dotted option, e.g. --space.classifiers '["logreg"]'.
    """
    from textauto.config import build_config
    from textauto.cost.clock import process_started
    from textauto.progress import SearchProgress
    from textauto.train import default_out_dir
    from textauto.train import train as run_train

    options = {
        "data.text_col": text_col, "data.label_col": label_col, "data.lang": lang,
        "data.test_size": test_size, "search.metric": metric, "search.time_budget": time_budget,
        "search.n_trials": n_trials, "search.seed": seed, "search.n_jobs": n_jobs,
        "search.storage": storage, "search.study_name": study_name,
    }  # fmt: skip
    overrides = guarded(lambda: parse_overrides(ctx.args))
    overrides.update({k: v for k, v in options.items() if v is not None})
    cfg = guarded(lambda: build_config(config, overrides))
    out_dir = out or default_out_dir()
    err_console.print(f"textauto: training on {train_file} → {out_dir}", highlight=False)
    progress = SearchProgress(err_console, cfg.search.metric, cfg.search.time_budget, cfg.search.n_trials)
    try:
        with progress:
            outcome = guarded(
                lambda: run_train(
                    train_file, cfg, out=out_dir, test_path=test, resume=resume,
                    callbacks=[progress], started=process_started(),
                )
            )  # fmt: skip
    except KeyboardInterrupt:
        resume_with = f"textauto train {train_file} --resume --out {out_dir}"
        raise fail(f"interrupted; continue with: {resume_with}", EXIT_INTERRUPTED) from None
    _print_outcome(outcome.manifest, outcome.board, out_dir)


def _print_outcome(m: dict[str, Any], board: Any, out_dir: Path) -> None:
    from textauto.progress import summary_table

    out_console.print(summary_table(m, board))
    v = m["validation"]
    se = f" ± {v['standard_error']:.4f}" if "standard_error" in v else ""
    line = f"best validation {m['metric']}: {v['score']:.4f}{se} ({v['method']}: {v['why']})"
    if m["test"]:
        line += f" · test accuracy {m['test']['accuracy']:.4f}, macro-F1 {m['test']['macro_f1']:.4f}"
    out_console.print(line, highlight=False)
    trials = ", ".join(f"{k} {v}" for k, v in m["trials"].items() if v)
    out_console.print(
        f"trials: {trials} · {m['timings']['total_s']:.1f} s · model saved to {out_dir}", highlight=False
    )
    out_console.print(f"report: {out_dir / 'report.html'}", highlight=False)


@app.command()
def evaluate(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle written by `textauto train`.")],
    test_file: Annotated[Path, typer.Argument(help="Labelled data to score.")],
    text_col: Annotated[str | None, typer.Option(help="Text column \\[default: the model's].")] = None,
    label_col: Annotated[str, typer.Option(help="Label column.")] = "label",
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
) -> None:
    """Score a saved model: accuracy, macro-F1, per-class precision/recall/F1, confusion matrix."""
    from textauto.bundle import load
    from textauto.data import load_dataset
    from textauto.evaluation import evaluate as run_evaluate

    model = guarded(lambda: load(model_dir))
    column = text_col or model.manifest.get("text_col", "text")
    data = guarded(lambda: load_dataset(test_file, column, label_col))
    scores = run_evaluate(model, data.texts, data.labels)
    if as_json:
        print(json.dumps(scores, indent=2))
        return
    out_console.print(
        f"{test_file}: {scores['n']} rows · accuracy {scores['accuracy']:.4f} · macro-F1 "
        f"{scores['macro_f1']:.4f} · weighted-F1 {scores['weighted_f1']:.4f}",
        highlight=False,
    )
    per_class = Table(title="per class")
    for col in ("class", "precision", "recall", "f1", "support"):
        per_class.add_column(col)
    for cls, v in scores["per_class"].items():
        per_class.add_row(
            cls, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", str(v["support"])
        )
    out_console.print(per_class)
    cm = scores["confusion_matrix"]
    matrix = Table(title="confusion matrix (rows: true, columns: predicted)")
    matrix.add_column("")
    for label in cm["labels"]:
        matrix.add_column(label)
    for label, row in zip(cm["labels"], cm["matrix"], strict=True):
        matrix.add_row(label, *map(str, row))
    out_console.print(matrix)


@app.command()
def report(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle written by `textauto train`.")],
    open_it: Annotated[bool, typer.Option("--open", help="Open the page in the web browser.")] = False,
    screenshot: Annotated[
        bool, typer.Option("--screenshot", help="Also write report.png: the page in headless Chromium.")
    ] = False,
) -> None:
    """Write the bundle's report.html and MODEL_CARD.md again, from its manifest and leaderboard."""
    from textauto.bundle import REPORT_PNG_FILE
    from textauto.report.browser import screenshot as take_screenshot
    from textauto.report.rebuild import write_html_report

    written = guarded(lambda: write_html_report(model_dir))
    out_console.print(f"wrote {written}", highlight=False)
    if screenshot:
        png = guarded(lambda: take_screenshot(written, written.with_name(REPORT_PNG_FILE)))
        out_console.print(f"wrote {png}", highlight=False)
    if open_it:
        import webbrowser

        webbrowser.open(written.resolve().as_uri())


@app.command()
def explain(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle written by `textauto train`.")],
    text: Annotated[str | None, typer.Argument(help="The text to explain (omit with --global).")] = None,
    top: Annotated[int, typer.Option(min=1, help="Features to list each way.")] = 10,
    class_name: Annotated[
        str | None, typer.Option("--class", help="Explain this class \\[default: the predicted one].")
    ] = None,
    global_: Annotated[
        bool, typer.Option("--global", help="List each class's most indicative features instead.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
) -> None:
    """Which words and n-grams pushed the model toward a class, and by how much."""
    from textauto.bundle import load
    from textauto.explain import explain_text
    from textauto.explain.recorded import recorded_features
    from textauto.explain.tables import explanation_lines, feature_table

    if global_ == (text is not None):
        raise fail("give a TEXT to explain, or --global for each class's indicative features (not both)")
    model = guarded(lambda: load(model_dir))
    if global_:
        features = guarded(lambda: recorded_features(model.manifest, model_dir, class_name, top))
        if as_json:
            print(json.dumps(features, indent=2, ensure_ascii=False))
            return
        for cls, rows in features.items():
            out_console.print(feature_table(f"most indicative of {cls}", rows))
        return
    explanation = guarded(lambda: explain_text(model.pipeline, text, class_name))
    if as_json:
        print(json.dumps(explanation.to_dict(top), indent=2, ensure_ascii=False))
        return
    for part in explanation_lines(explanation, top):
        out_console.print(part, highlight=False)


@app.command()
def predict(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle written by `textauto train`.")],
    input_file: Annotated[Path, typer.Argument(help="Texts to label: .csv, .tsv, .jsonl or .parquet.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write predictions (format by extension).")
    ],
    text_col: Annotated[str | None, typer.Option(help="Text column \\[default: the model's].")] = None,
) -> None:
    """Write each row with its predicted label and per-class probabilities."""
    from textauto.bundle import load
    from textauto.predict import predict_file

    model = guarded(lambda: load(model_dir))
    column = text_col or model.manifest.get("text_col", "text")
    n = guarded(lambda: predict_file(model, input_file, output, column))
    err_console.print(f"wrote {n} predictions to {output}", highlight=False)


@app.command()
def serve(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle written by `textauto train`.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes; metrics are summed over them.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="Serve /metrics on this port instead \\[default: $TEXTAUTO_METRICS_PORT]."
        ),
    ] = None,
) -> None:
    """Serve a model over HTTP: /v1/predict, /v1/model, /healthz, /readyz, /metrics, /docs."""
    from service.runner import serve as run_serve

    guarded(lambda: run_serve(model_dir, host, port, workers, log_level, metrics_port))


@app.command()
def package(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle written by `textauto train`.")],
    out: Annotated[Path, typer.Option(help="The deployable directory to write (a new one).")],
    force: Annotated[bool, typer.Option(help="Replace --out if it exists (in one step).")] = False,
) -> None:
    """Write a deployable directory: bundle, code, pinned requirements, Dockerfile, compose, dashboards."""
    from service.package import package as run_package

    written = guarded(lambda: run_package(model_dir, out, force))
    out_console.print(
        f"packaged {written['name']} (version {written['version']}) in {out}: "
        f"docker compose up --build, or ./start.sh without Docker",
        highlight=False,
    )


@app.command()
def convert(
    old: Annotated[Path, typer.Argument(help="A bundle saved before textauto 0.2 (model.joblib).")],
    new: Annotated[Path, typer.Argument(help="Where to write the converted bundle (a new directory).")],
    trust_pickle: Annotated[
        bool,
        typer.Option(
            "--trust-pickle",
            help="Unpickle OLD's model, which runs any code the file holds: only for bundles you trust.",
        ),
    ] = False,
) -> None:
    """Convert an old pickled bundle into a safe one (skops), checking it predicts the same."""
    from textauto.bundle.convert import convert as run_convert

    guarded(lambda: run_convert(old, new, trust_pickle))
    out_console.print(f"converted {old} into {new}; load and serve {new} from now on", highlight=False)


@app.command()
def reproduce(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle written by `textauto train`.")],
    data: Annotated[Path, typer.Option(help="The training file to refit the recorded winner on.")],
) -> None:
    """Refit a bundle's recorded winner on --data and check it predicts as the saved model did."""
    from textauto.reproduce import reproduce as run_reproduce

    report = guarded(lambda: run_reproduce(model_dir, data))
    for note in report.notes:
        err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
    out_console.print("\n".join(report.lines()), highlight=False, soft_wrap=True)
    if not report.reproduced:
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
