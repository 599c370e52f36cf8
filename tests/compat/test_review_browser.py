"""The review page in a real browser: Debian's chromium, headless, against ``brainvcs review``.

Each test loads a view, lets the page run (``--virtual-time-budget``), and
asserts on the rendered DOM; screenshots are saved in the test's temporary
folder. The page counts every JavaScript error on ``<body data-js-errors>``
(uncaught errors, rejected promises, and bugs its own handlers catch), and
every test requires that count to be 0; ``test_a_page_error_is_detected``
proves the counter works by feeding the page a broken answer.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository
from brainvcs.diff.api import commit_diff_json
from brainvcs.brains.synthetic import SIZES, learning_step, synthetic_state
from brainvcs.web import create_app

from .conftest import require

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from webserver import review_cli, serve_app  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def render(url: str, tmp: Path, name: str) -> str:
    """The DOM of ``url`` after its scripts ran; a screenshot of it is saved as ``tmp/name.png``."""
    require(CHROMIUM is not None, "chromium is not installed")
    assert CHROMIUM is not None
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp / ('profile-' + name)}",
              "--virtual-time-budget=20000", "--window-size=1366,900"]
    shot = subprocess.run([*common, f"--screenshot={tmp / (name + '.png')}", url], capture_output=True, text=True,
                          timeout=180)
    assert (tmp / (name + ".png")).stat().st_size > 10_000, shot.stderr[-2000:]
    done = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def body_attrs(dom: str) -> dict[str, str]:
    match = re.search(r"<body([^>]*)>", dom)
    assert match, dom[:500]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))


def assert_clean(dom: str) -> None:
    attrs = body_attrs(dom)
    assert attrs.get("data-ready") == "1", "the page did not finish rendering"
    assert attrs.get("data-js-errors") == "0", re.findall(r'<div id="errors"[^>]*>(.*?)</div>', dom, re.S)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    path = tmp_path_factory.mktemp("browser") / "demo"
    run = [sys.executable, "-m", "brainvcs"]
    subprocess.run([*run, "demo", str(path)], check=True, capture_output=True)
    subprocess.run([*run, "-C", str(path), "branch", "side", "v1"], check=True, capture_output=True)
    subprocess.run([*run, "-C", str(path), "learn", "--branch", "side", "-m", "learn the orchard",
                    "Apple trees in the orchard need pruning in winter, said the gardener."], check=True,
                   capture_output=True)
    with review_cli(path) as url:
        yield path, url


def test_commit_page_shows_the_latest_commit_and_its_learning(demo: tuple[Path, str], tmp_path: Path) -> None:
    path, url = demo
    with Repository.open(path) as repo:
        info = repo.commit_info("HEAD")
        summary = repo.diff(None, "HEAD")
        expected_summary = __import__("brainvcs.diff", fromlist=["brain_summary"]).brain_summary(summary)
    dom = render(url, tmp_path, "commit")
    assert_clean(dom)
    assert f'<h2 class="subject">{info.summary.replace("&", "&amp;")}</h2>' in dom.replace("&#39;", "'")
    assert "data-summary" in dom and expected_summary.split(",")[0] in dom
    assert 'class="histogram"' in dom and "<rect" in dom  # the weight-change histogram was drawn
    assert dom.count('class="row') >= 5  # the history graph lists the commits


def test_a_learned_word_is_on_the_diff_page(demo: tuple[Path, str], tmp_path: Path) -> None:
    path, url = demo
    with Repository.open(path) as repo:
        sea = repo.resolve("explore/the_sea")
        shown = commit_diff_json(repo, sea)  # what the page gets: items cut to the default limit
        vocabulary = [r for m in shown["modules"] for r in m["records"] if r["path"] == "language_module.vocabulary"]
        word = vocabulary[0]["added_items"][-1]["key"]
    dom = render(url + f"#/commit/{sea}", tmp_path, "diff")
    assert_clean(dom)
    assert "learn the sea" in dom
    assert f'<strong class="key">{word}</strong>: ' in dom, f"{word!r} is not shown as a learned word"


def test_learning_curves_are_drawn(demo: tuple[Path, str], tmp_path: Path) -> None:
    _, url = demo
    dom = render(url + "#/curves", tmp_path, "curves")
    assert_clean(dom)
    assert 'data-curve="vocabulary_size"' in dom and "<polyline" in dom
    assert 'data-curve="connection_count"' in dom


def test_merge_preview_shows_both_sides_and_outcomes(demo: tuple[Path, str], tmp_path: Path) -> None:
    _, url = demo
    dom = render(url + "#/merge/main/side", tmp_path, "merge")
    assert_clean(dom)
    assert 'data-merge-status="planned"' in dom
    assert 'data-side="ours"' in dom and 'data-side="theirs"' in dom and "<td>merged</td>" in dom


def test_a_page_error_is_detected(demo: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = demo
    with Repository.open(path) as repo:
        app = create_app(repo)

        async def broken(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"] == "/api/log":  # commits without parents: the graph code throws
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": b'[{"id": "x"}]'})
                return
            await app(scope, receive, send)

        with serve_app(broken) as url:
            dom = render(url, tmp_path, "broken")
    assert int(body_attrs(dom)["data-js-errors"]) >= 1
    assert "Page error" in dom


def test_m_size_commit_page(tmp_path: Path) -> None:
    repo = Repository.init(tmp_path / "m")
    state = synthetic_state(**SIZES["M"])
    repo.commit(state, "M brain")
    learning_step(state, step=1)
    repo.commit(state, "one learning step")
    repo.close()
    with review_cli(tmp_path / "m") as url:
        dom = render(url, tmp_path, "m-commit")
    assert_clean(dom)
    assert '<h2 class="subject">one learning step</h2>' in dom and "data-summary" in dom


def test_autosave_runs_are_folded(tmp_path: Path) -> None:
    repo = Repository.init(tmp_path / "a")
    state = {"memory": {"episodes": []}}
    repo.commit(state, "learned by hand")
    for i in range(6):
        state["memory"]["episodes"].append(f"episode {i}")
        repo.commit(state, f"autosave {i}", trailers={"Brain-Source": "autosave"})
    repo.close()
    with review_cli(tmp_path / "a") as url:
        dom = render(url, tmp_path, "autosave")
    assert_clean(dom)
    # HEAD (labelled) stays a row of its own; the five autosaves under it fold into one row and a button
    assert "4 more autosaves…" in dom and "autosave 4" in dom and "autosave 2" not in dom
