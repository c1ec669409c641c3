"""A bundle is code-free and tamper-evident, and a save never leaves a broken one behind."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from tests.conftest import ROOT
from textauto import BundleError, load
from textauto.bundle import (
    LEADERBOARD_FILE,
    LEGACY_MODEL_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    REPORT_FILE,
    save_bundle,
)
from textauto.features import SpacyTokens
from textauto.features.ngrams import NgramTfidf
from textauto.features.spacy_tokens import build_spacy

TEXTS = ["refund my charge", "app crashes", "parcel late", "charged twice", "login error", "where is it"]
LABELS = ["billing", "technical", "shipping"] * 2


def pipeline() -> Pipeline:
    return Pipeline([("f", NgramTfidf()), ("clf", LogisticRegression())]).fit(TEXTS, LABELS)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    out = tmp_path / "bundle"
    save_bundle(out, pipeline(), {"name": "safe"}, pd.DataFrame({"trial": [0]}), "# report\n")
    return out


def rehash(bundle: Path, name: str) -> None:
    """Do what an attacker who can write the model store would: fix the manifest's hash too."""
    manifest = json.loads((bundle / MANIFEST_FILE).read_text())
    manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / MANIFEST_FILE).write_text(json.dumps(manifest))


class Payload:
    """Unpickling this runs ``os.system``: it creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_saved_bundle_lists_every_file_with_its_hash_and_loads(bundle):
    manifest = json.loads((bundle / MANIFEST_FILE).read_text())
    assert set(manifest["files"]) == {MODEL_FILE, LEADERBOARD_FILE, REPORT_FILE}
    assert manifest["bundle_sha256"] == manifest["files"][MODEL_FILE]
    assert list(load(bundle).predict(TEXTS)) == list(pipeline().predict(TEXTS))
    assert sorted(p.name for p in bundle.iterdir()) == sorted([MANIFEST_FILE, *manifest["files"]])


@pytest.mark.parametrize("name", [MODEL_FILE, LEADERBOARD_FILE, REPORT_FILE])
def test_one_edited_byte_in_any_listed_file_is_refused(bundle, name, invoke):
    data = bytearray((bundle / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (bundle / name).write_bytes(bytes(data))
    with pytest.raises(BundleError, match=f"{name}: its SHA-256 differs from the manifest's"):
        load(bundle)
    result = invoke("evaluate", bundle, ROOT / "data" / "test.csv")
    assert result.exit_code == 2 and "SHA-256 differs" in result.stderr and "Traceback" not in result.output


def test_a_missing_listed_file_is_refused(bundle):
    (bundle / REPORT_FILE).unlink()
    with pytest.raises(BundleError, match=r"report\.md is missing"):
        load(bundle)


def test_a_pickled_payload_in_the_model_file_is_refused_and_never_runs(bundle, tmp_path):
    marker = tmp_path / "pwned"
    (bundle / MODEL_FILE).write_bytes(pickle.dumps(Payload(marker)))
    rehash(bundle, MODEL_FILE)
    with pytest.raises(BundleError, match="not a textauto model file"):
        load(bundle)
    assert not marker.exists()


def test_a_model_file_naming_an_untrusted_function_or_type_is_refused(bundle, tmp_path):
    marker = tmp_path / "pwned"
    for payload, named in (
        (os.system, "system"),
        ({"counts": __import__("collections").Counter("ab")}, "Counter"),
    ):
        sio.dump(payload, bundle / MODEL_FILE)
        rehash(bundle, MODEL_FILE)
        with pytest.raises(BundleError, match=rf"holds types textauto does not trust \(.*{named}"):
            load(bundle)
    assert not marker.exists()


def test_a_bundle_naming_the_modules_types_lived_in_before_the_stages_loads(tmp_path):
    """Bundles written before the library was split into stages name textauto.nbsvm,
    textauto.boosting and textauto.ensemble; they load as the same classes, predicting alike."""
    from textauto.ensemble.classifier import EnsembleClassifier
    from textauto.space.nbsvm import NBSVMClassifier

    members = [
        ("nbsvm", Pipeline([("f", NgramTfidf()), ("clf", NBSVMClassifier())])),
        ("logreg", Pipeline([("f", NgramTfidf()), ("clf", LogisticRegression())])),
    ]
    model = EnsembleClassifier(members, weights=[0.5, 0.5]).fit(TEXTS, LABELS)
    out = tmp_path / "bundle"
    save_bundle(out, model, {"name": "old"}, pd.DataFrame({"trial": [0]}), "# report\n")
    expected = load(out).predict_proba(TEXTS)
    with zipfile.ZipFile(out / MODEL_FILE) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    schema = entries["schema.json"].decode()
    moved = {"textauto.nbsvm": "textauto.space.nbsvm", "textauto.ensemble": "textauto.ensemble.classifier"}
    for old, new in moved.items():
        assert f'"{new}"' in schema
        schema = schema.replace(f'"{new}"', f'"{old}"')
    entries["schema.json"] = schema.encode()
    with zipfile.ZipFile(out / MODEL_FILE, "w") as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    rehash(out, MODEL_FILE)
    assert np.array_equal(load(out).predict_proba(TEXTS), expected)


def test_an_old_pickled_bundle_is_refused_with_how_to_convert_it(tmp_path, invoke):
    old = tmp_path / "old"
    old.mkdir()
    marker = tmp_path / "pwned"
    joblib.dump(Payload(marker), old / LEGACY_MODEL_FILE)
    (old / MANIFEST_FILE).write_text(json.dumps({"format": 1, "classes": ["a", "b"]}))
    with pytest.raises(BundleError, match=f"textauto convert {old} NEW_DIR --trust-pickle"):
        load(old)
    result = invoke("predict", old, ROOT / "data" / "test.csv", "-o", tmp_path / "p.csv")
    assert result.exit_code == 2 and "can run any code" in " ".join(result.stderr.split())
    result = invoke("convert", old, tmp_path / "new")
    assert result.exit_code == 2 and "--trust-pickle" in result.stderr
    assert not marker.exists() and not (tmp_path / "new").exists()


def test_convert_with_trust_pickle_writes_a_safe_bundle_that_predicts_the_same(tmp_path, invoke):
    old = tmp_path / "old"
    old.mkdir()
    # format 1's spaCy stream split its tokens with str.split: code, which the safe format refuses
    features = build_spacy({"lemmatize": True, "remove_stop": False, "normalize": True, "shapes": False,
                            "ngram_max": 2, "min_df": 1, "sublinear_tf": True}, _Ctx())  # fmt: skip
    features.set_params(tfidf__tokenizer=str.split, tfidf__token_pattern=None)
    model = Pipeline([("f", features), ("clf", LogisticRegression())]).fit(TEXTS, LABELS)
    joblib.dump(model, old / LEGACY_MODEL_FILE)
    (old / MANIFEST_FILE).write_text(json.dumps({"format": 1, "name": "old", "classes": sorted(set(LABELS))}))
    pd.DataFrame({"trial": [0]}).to_csv(old / LEADERBOARD_FILE, index=False)
    (old / REPORT_FILE).write_text("# old\n")
    result = invoke("convert", old, tmp_path / "new", "--trust-pickle")
    assert result.exit_code == 0, result.output
    new = load(tmp_path / "new")
    np.testing.assert_allclose(new.predict_proba(TEXTS), model.predict_proba(TEXTS), atol=1e-12)
    assert new.manifest["name"] == "old" and new.manifest["converted_from"] == str(old)
    result = invoke("convert", old, tmp_path / "new", "--trust-pickle")
    assert result.exit_code == 2 and "already exists" in result.stderr


class _Ctx:
    lang = "en"
    spacy_model = None


SAVER = textwrap.dedent(
    """
    import os, random, signal, sys, time
    from pathlib import Path
    import numpy as np, pandas as pd
    from sklearn.linear_model import RidgeClassifier
    from textauto.bundle import save_bundle

    out = Path(sys.argv[1])
    model = RidgeClassifier().fit(np.random.default_rng(0).random((40, 20_000)), [0, 1, 2, 3] * 10)
    rng = random.Random(0)
    for round in range(int(sys.argv[2])):
        sys.stdin.readline()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the saver: saves again and again until it is killed
            os.close(read)
            for version in range(1, 1000):
                save_bundle(out, model, {"name": f"r{round}v{version}"},
                            pd.DataFrame({"trial": range(2000)}), "report " * 1000)
                os.write(write, f"r{round}v{version}\\n".encode())
        os.close(write)
        time.sleep(rng.uniform(0.0, 0.6))  # a save takes about 0.1-0.2 s here
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        saved = os.read(read, 1 << 16).decode().split()
        os.close(read)
        print(round, saved[-1] if saved else "-", len(saved), flush=True)
    """
)


def test_a_kill_at_any_point_of_a_save_leaves_a_complete_bundle(bundle, tmp_path):
    """kill -9 a process that re-saves the bundle over and over, at 24 random moments."""
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    rounds = 24
    helper = subprocess.Popen(
        [sys.executable, str(script), str(bundle), str(rounds)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    current, seen = "safe", set()
    try:
        for _ in range(rounds):
            helper.stdin.write("go\n")
            helper.stdin.flush()
            round_, last, count = helper.stdout.readline().split()
            name = load(bundle).manifest["name"]  # raises if the kill left a broken bundle
            in_progress = f"r{round_}v{int(count) + 1}"
            assert name in {current if last == "-" else last, in_progress}, (name, last, count)
            current = name
            seen.add(name)
    finally:
        helper.kill()
        helper.wait()
    assert len(seen) > 12  # the kills landed after different numbers of saves


def test_a_full_disk_during_a_save_is_one_error_and_changes_nothing(bundle, tmp_path):
    before = {p.name: p.read_bytes() for p in bundle.iterdir()}
    script = tmp_path / "full.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import resource, sys
            import numpy as np, pandas as pd
            from sklearn.linear_model import RidgeClassifier
            from textauto.bundle import save_bundle
            from textauto.exceptions import BundleError
            model = RidgeClassifier().fit(np.random.default_rng(0).random((8, 200_000)), [0, 1] * 4)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # files up to 1 MB
            try:
                save_bundle(__import__("pathlib").Path({str(bundle)!r}), model, {{"name": "big"}},
                            pd.DataFrame({{"trial": [0]}}), "report", seconds_left=0.0)
            except BundleError as exc:
                print(exc)
                sys.exit(2)
            """
        )
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert "could not write the model bundle (File too large)" in result.stdout
    assert "the previous bundle (if any) is intact" in result.stdout
    assert {p.name: p.read_bytes() for p in bundle.iterdir()} == before
    assert load(bundle).manifest["name"] == "safe"


def test_spacy_token_streams_split_as_str_split_does():
    streams = ["a  b\u00a0c\u2003d\x1ce", "x\ty\nz"]
    features = build_spacy({"lemmatize": False, "remove_stop": False, "normalize": False, "shapes": False,
                            "ngram_max": 1, "min_df": 1, "sublinear_tf": False}, _Ctx())  # fmt: skip
    analyzer = features.named_steps["tfidf"].build_analyzer()
    assert [analyzer(s) for s in streams] == [s.split() for s in streams]
    assert isinstance(features.named_steps["tokens"], SpacyTokens)
