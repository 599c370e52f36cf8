"""The review app (brainvcs.web): JSON endpoints checked against the API's own results, errors, write
endpoints behind a token, mounting under a prefix, and ``brainvcs review`` itself."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from brainvcs import Repository
from brainvcs.diff import to_json
from brainvcs.diff.api import commit_diff_json
from brainvcs.web import create_app
from brainvcs.web.queries import topo_order

sys.path.insert(0, str(Path(__file__).parent))
from webserver import get_json, post_json, review_cli, serve_app  # noqa: E402


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo repository, plus a branch from v1 that learned something else (a real merge to preview)."""
    path = tmp_path_factory.mktemp("review") / "demo"
    subprocess.run([sys.executable, "-m", "brainvcs", "demo", str(path)], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "brainvcs", "-C", str(path), "branch", "side", "v1"], check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "brainvcs", "-C", str(path), "learn", "--branch", "side", "-m",
                    "learn the orchard", "Apple trees in the orchard need pruning in winter, said the gardener."],
                   check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def server(demo_repo: Path) -> Iterator[str]:
    with review_cli(demo_repo) as url:
        yield url


def q(url: str, endpoint: str, **params: str) -> str:
    return url + endpoint + ("?" + urllib.parse.urlencode(params) if params else "")


def test_review_prints_a_loopback_address(server: str) -> None:
    assert server.startswith("http://127.0.0.1:") and server.endswith("/")


def test_json_endpoints_are_the_apis_results(server: str, demo_repo: Path) -> None:
    with Repository.open(demo_repo) as repo:
        status, overview = get_json(q(server, "api/overview"))
        assert status == 200 and overview["head"] == repo.head() and overview["branch"] == repo.current_branch
        assert overview["tags"] == dict(repo.tags()) and overview["labels"] == repo.ref_labels()

        info = repo.commit_info("HEAD")
        status, shown = get_json(q(server, "api/show/HEAD"))
        assert status == 200
        assert shown == {"commit": info.to_json(), "manifest": repo.manifest(info.id),
                         "diff": commit_diff_json(repo, info.id)}

        status, diff = get_json(q(server, "api/diff", a="v1", b="HEAD"))
        assert diff == to_json(repo.diff("v1", "HEAD"), limit=10)
        status, module = get_json(q(server, "api/diff", a="v1", b="HEAD", module="language_module", limit="0"))
        assert module == to_json(repo.diff("v1", "HEAD", modules=["language_module"]), limit=None)

        path = "language_module.word_frequency.the"
        status, points = get_json(q(server, "api/history", path=path))
        assert points == [p.to_json() for p in repo.history(path)]
        status, rows = get_json(q(server, "api/stats", rev="main"))
        assert rows == [row.to_json() for row in repo.stats("main")] and len(rows) >= 4
        status, value = get_json(q(server, "api/value", rev="v1", path=path))
        assert value == repo.value_at("v1", path)

        status, log = get_json(q(server, "api/log"))
        assert {c["id"] for c in log} >= {c.id for c in repo.log("main")}
        position = {c["id"]: i for i, c in enumerate(log)}
        assert all(position[c["id"]] < position[p] for c in log for p in c["parents"] if p in position)

        status, preview = get_json(q(server, "api/merge-preview", into="main", **{"from": "side"}))
        expected = repo.merge("side", dry_run=True, into="main").to_json()
        assert status == 200 and preview == expected and preview["status"] == "planned"
        assert repo.resolve("main") == info.id  # a preview writes nothing

        status, hist = get_json(q(server, "api/histogram", b="HEAD"))
        assert status == 200 and hist["count"] == sum(hist["counts"]) > 0


@pytest.mark.parametrize("path, status, needle", [
    ("api/show/no-such-rev", 404, "unknown revision"),
    ("api/value?rev=HEAD&path=language_module.word_frequency.zzzznotaword", 404, ""),
    ("api/history", 400, "missing query parameter 'path'"),
    ("api/diff?a=HEAD&b=HEAD&limit=many", 400, "must be an integer"),
    ("api/merge-preview?into=nobranch&from=main", 400, "not a branch"),
])
def test_user_errors_answer_json_not_tracebacks(server: str, path: str, status: int, needle: str) -> None:
    code, body = get_json(server + path)
    assert code == status and needle in body["error"] and "Traceback" not in str(body)


def test_write_endpoints_need_the_hosts_token(demo_repo: Path, tmp_path: Path) -> None:
    with Repository.open(demo_repo) as repo:
        with serve_app(create_app(repo)) as url:  # read-only by default
            assert post_json(url + "api/commit", {"message": "x"})[0] == 403
            assert post_json(url + "api/switch", {"branch": "side"}, token="")[0] == 403
    target = Repository.init(tmp_path / "w")
    state = {"memory": {"episodes": ["hello"]}}
    with serve_app(create_app(target, write_token="s3cret", brain=lambda: state)) as url:
        assert post_json(url + "api/commit", {"message": "x"}, token="wrong")[0] == 403
        code, body = post_json(url + "api/commit", {"message": "from the service"}, token="s3cret")
        assert code == 200 and body["commit"]["summary"] == "from the service"
        assert post_json(url + "api/commit", {"message": " "}, token="s3cret")[0] == 400
        target.create_branch("other")
        code, body = post_json(url + "api/switch", {"branch": "other"}, token="s3cret")
        assert code == 200 and body["branch"] == "other"
    assert target.checkout("HEAD") == state


def test_the_app_mounts_under_a_services_prefix(demo_repo: Path) -> None:
    with Repository.open(demo_repo) as repo:
        host = Starlette(routes=[Mount("/brain", app=create_app(repo))])  # as a FastAPI service would mount it
        with serve_app(host) as url:
            status, shown = get_json(url + "brain/api/show/HEAD")
            assert status == 200 and shown["commit"]["id"] == repo.head()
            import urllib.request

            with urllib.request.urlopen(url + "brain/") as page:
                html = page.read().decode()
            assert 'src="static/app.js"' in html  # relative: works under any prefix
            with urllib.request.urlopen(url + "brain/static/app.js") as script:
                assert b"textContent" in script.read()


def test_topo_order_puts_children_first_whatever_the_clock_says() -> None:
    commits = [{"id": "a", "parents": [], "commit_time": 5}, {"id": "b", "parents": ["a"], "commit_time": 1},
               {"id": "c", "parents": ["a"], "commit_time": 9}, {"id": "m", "parents": ["b", "c"], "commit_time": 1}]
    assert [c["id"] for c in topo_order(commits)] == ["m", "c", "b", "a"]


def test_review_refuses_an_unknown_revision(demo_repo: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "brainvcs", "-C", str(demo_repo), "review", "--no-browser",
                           "nope"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "unknown revision 'nope'" in done.stderr and "Traceback" not in done.stderr


def test_review_without_the_extra_says_what_to_install(demo_repo: Path) -> None:
    script = ("import sys; sys.modules['starlette'] = None; sys.modules['uvicorn'] = None\n"
              "from brainvcs.cli import main\n"
              f"main(['-C', {str(demo_repo)!r}, 'review', '--no-browser'])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "pip install 'brainvcs[review]'" in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
