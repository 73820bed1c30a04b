"""No graded question is answered in any file a student receives.

The student release (``tools/release.py``: the release notebooks, the README and the kit's
wheel, file by file) is searched for key phrases of every model answer and rubric of the
manually graded questions. Each phrase must occur in the instructor's source (so it really is
part of an answer) and nowhere in the release. The release notebooks are searched without
the question cells themselves, which may name what they ask about.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

from tools import release

ROOT = Path(__file__).resolve().parents[1]

# grade_id -> phrases that answer it (compared in lower case, with runs of white space as one space).
KEY_PHRASES = {
    "svm": {
        "q_derive_grad": ["adds $x_i$ to column", "add x[i] to dw", "subtracts $x_i$ from column",
                          "minus their count at the correct class",
                          "minus the number of classes with a positive margin",
                          "-\\sum_{j \\neq y_i} \\mathbb{1}"],
        "q_kink": ["straddles the kink", "one-sided slopes", "where it is not differentiable",
                   "the numerical slope is 0.55", "failures are rare", "averages the two"],
        "q_sum_all_classes": ["max(0, s_y - s_y + 1) = 1", "the loss grows by exactly 1", "minimum becomes 1",
                              "(the j = y_i term is max(0, 1) = 1)"],
        "q_mean": ["same as multiplying reg by c − 1", "divided by the constant c - 1",
                   "same minimizer only without regularization"],
        "q_squared_hinge": ["punishes one large violation much more", "large violations are punished much more"],
        "q_min_max": ["l_i = 27", "each of the 9 terms is 1 − (−1) + 1 = 3"],
        "q_loss_at_init": ["margin 0 − 0 + 1 = 1", "margin of about 0 - 0 + 1 = 1", "(c − 1) · margin",
                           "so each of the c − 1 = 9 wrong classes has a margin close to 1"],
        "q_train_val_gap": ["the classifier underfits", "cannot memorize the training set"],
        "q_weights": ["blurry average of its class", "becomes a kind of average"],
    },
    "softmax": {
        "q_derive_grad": ["p_j - \\mathbb{1}[j = y_i]", "(p_j - [j = y_i])", "(p_j - [j == y[i]]) * x[i]",
                          "probabilities minus 1 at each correct class",
                          "probabilities minus 1 at the correct classes"],
        "q_loss_at_init": ["probability about 1/c", "probability about 1/10", "-log(1/10) = log(10)",
                           "−log(1/c) = log c", "so every class gets a probability close to 1/10"],
        "q_train_val_gap": ["the classifier underfits", "cannot memorize the training set"],
        "q_weights": ["blurry average of its class", "becomes a kind of average"],
        "q_datapoint": ["p_y < 1 for any finite scores", "has svm loss exactly 0"],
        "q_jiggle": ["never fully satisfied", "satisfied once every margin is met", "the hinge is flat"],
    },
}


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def written_answers(name: str) -> dict[str, str]:
    """grade_id -> the model answer and the rubric of each manual question of solutions/<name>."""
    nb = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    out: dict[str, str] = {}
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
            rubric = nb.cells[i + 1].source if i + 1 < len(nb.cells) else ""
            out[meta["grade_id"]] = cell.source + "\n" + rubric
    return out


@pytest.mark.parametrize("name", sorted(KEY_PHRASES))
def test_every_written_question_has_key_phrases_from_its_answer(name):
    answers = written_answers(name)
    assert set(answers) == set(KEY_PHRASES[name]), "every manual question needs key phrases here"
    for gid, phrases in KEY_PHRASES[name].items():
        found = [p for p in phrases if normal(p) in normal(answers[gid])]
        assert found, f"{name}/{gid}: none of the key phrases is in its model answer or rubric"


@pytest.fixture(scope="module")
def released_files(tmp_path_factory) -> dict[str, str]:
    """Every file of the student release as text; the wheel and the zip opened member by member."""
    out = release.build(tmp_path_factory.mktemp("dist"))
    files: dict[str, str] = {}

    def add(where: str, data: bytes) -> None:
        if where.endswith((".whl", ".zip")):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    add(f"{where}!{member}", archive.read(member))
        elif where.endswith(".ipynb"):
            nb = json.loads(data)
            # The cells that ask a question may name its topic; everything else must not answer it.
            files[where] = "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                                     for c in nb["cells"])
        else:
            files[where] = data.decode("utf-8", errors="replace")

    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        add(path.relative_to(out).as_posix(), path.read_bytes())
    assert any(name.endswith(".whl!linclass/gradcheck.py") for name in files), sorted(files)
    return files


def test_no_answer_appears_in_the_student_release(released_files):
    found = []
    for name, questions in KEY_PHRASES.items():
        for gid, phrases in questions.items():
            for phrase in phrases:
                for where, text in released_files.items():
                    if normal(phrase) in normal(text):
                        found.append(f"{name}/{gid}: {phrase!r} in {where}")
    assert not found, "answers reach students:\n" + "\n".join(found)


def test_no_rubric_appears_in_the_student_release(released_files):
    leaks = [where for where, text in released_files.items() if "**Rubric (" in text or '"rubric"' in text]
    assert not leaks, leaks


def test_the_search_catches_a_planted_answer(released_files):
    """Positive control: the same search finds an answer planted in a release file."""
    planted = dict(released_files)
    planted["svm/svm.ipynb"] = planted["svm/svm.ipynb"] + "\nThe centered difference Straddles the\n kink here."
    hits = [where for where, text in planted.items() if normal("straddles the kink") in normal(text)]
    assert hits == ["svm/svm.ipynb"]
