"""The library's layout: imports run down the stages of the data flow, never back up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import textauto

PACKAGE = Path(textauto.__file__).parent

# Lowest first: a module may import its own stage or any stage before it.
STAGES = [
    ("base", {"exceptions", "params", "components", "timeout", "inference"}),
    ("features", {"features"}),
    ("space", {"space"}),
    ("validation", {"validation"}),
    ("config", {"config"}),
    ("cost", {"cost"}),
    ("search", {"search"}),
    ("ensemble", {"ensemble"}),
    ("explain", {"explain"}),
    ("bundle", {"bundle"}),
    ("report", {"report"}),
    ("application", {"data", "progress", "evaluation", "predict", "estimator", "train", "reproduce", "cli"}),
    ("package", {"__init__", "__main__"}),
]
RANK = {name: rank for rank, (_, names) in enumerate(STAGES) for name in names}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def stage_of(dotted: str) -> int:
    """The stage of ``textauto.<first>...``: a subpackage, or a top-level module."""
    first = dotted.split(".")[1] if "." in dotted else "__init__"
    if first not in RANK:
        raise AssertionError(f"{dotted}: belongs to no stage; add it to STAGES in {__file__}")
    return RANK[first]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def textauto_imports(path: Path) -> list[tuple[int, str]]:
    """Every ``textauto`` module ``path`` imports, at its top or inside a function."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n == "textauto" or n.startswith("textauto.")]
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_down_the_stages(path: Path) -> None:
    name = module_name(path)
    own = stage_of(name)
    upward = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: imports {target} ({STAGES[stage_of(target)][0]}), "
        f"a later stage than {STAGES[own][0]}"
        for line, target in textauto_imports(path)
        if target != "textauto" and stage_of(target) > own
    ]
    assert not upward, "\n".join(upward)


def test_every_module_belongs_to_a_stage() -> None:
    for path in modules():
        stage_of(module_name(path))


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from textauto.ensemble.refit import fit_final\n")
    assert textauto_imports(bad) == [(2, "textauto.ensemble.refit")]
    assert stage_of("textauto.ensemble.refit") > stage_of("textauto.search.run")


def test_only_the_cli_reaches_the_service() -> None:
    """The service is built on the library; of the library, only the CLI starts it."""
    for path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = [
            n.lineno
            for n in ast.walk(tree)
            if (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "service")
            or (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "service" for a in n.names))
        ]
        assert not found or path.name == "cli.py", f"{path}:{found[0]} imports the service"


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def test_modules_and_functions_read_in_a_sitting() -> None:
    """No module over 400 lines, no function over 60 (its signature and docstring included)."""
    long = []
    for path in modules():
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(PACKAGE.parent)
        if (n := len(text.splitlines())) > MAX_MODULE_LINES:
            long.append(f"{where}: {n} lines")
        for node in ast.walk(ast.parse(text)):
            is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_function and (n := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES:
                long.append(f"{where}:{node.lineno}: {node.name} has {n} lines")
    assert not long, "\n".join(long)


def test_every_design_section_the_code_names_exists() -> None:
    """Code links to docs/design.md by section name; a renamed section must not strand it."""
    import re

    design = PACKAGE.parent / "docs" / "design.md"
    headings = {
        line[3:].strip() for line in design.read_text(encoding="utf-8").splitlines() if line.startswith("## ")
    }
    named = set()
    for path in modules():
        for match in re.finditer(r'docs/design\.md, "([^"]+)"', path.read_text(encoding="utf-8")):
            named.add(re.sub(r"\s*#\s*|\s+", " ", match.group(1)).strip())
    assert named and named <= headings, sorted(named - headings)


def test_the_readme_names_every_representation_classifier_and_subpackage() -> None:
    from textauto.features import REPRESENTATIONS
    from textauto.space.classifiers import CLASSIFIERS

    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    names = [f"`{name}`" for name in [*REPRESENTATIONS, *CLASSIFIERS]]
    packages = [f"`textauto/{p.name}/`" for p in PACKAGE.iterdir() if (p / "__init__.py").exists()]
    missing = [name for name in [*names, *packages] if name not in readme]
    assert not missing, missing


def test_the_bundle_does_no_cost_arithmetic() -> None:
    """Saving and loading read what the search recorded; they never price anything."""
    bundle = [p for p in modules() if p.parent.name == "bundle"]
    priced = [
        f"{p.relative_to(PACKAGE.parent)}:{line}: {target}"
        for p in bundle
        for line, target in textauto_imports(p)
        if target.startswith("textauto.cost")
    ]
    assert bundle and not priced, priced
