"""Remote URL parsing, classification and redaction (brainvcs.remote.urls)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainvcs.errors import UsageError
from brainvcs.remote.urls import RemoteURL, default_port, directory_name, parse_url, redact_text, redact_url


def test_local_relative_path_resolves_against_base(tmp_path: Path) -> None:
    url = parse_url("../brains/team.git", base=tmp_path / "work")
    assert url.kind == "local"
    assert url.scheme == ""
    assert url.path == str(tmp_path / "brains" / "team.git")
    assert url.redacted() == str(tmp_path / "brains" / "team.git")
    assert url.for_config() == str(tmp_path / "brains" / "team.git")


def test_absolute_path_and_file_url() -> None:
    assert parse_url("/srv/brain.git") == RemoteURL("local", "", "/srv/brain.git")
    url = parse_url("file:///srv/my%20brain.git")
    assert (url.kind, url.scheme, url.path) == ("local", "file", "/srv/my brain.git")
    assert url.for_config() == "file:///srv/my%20brain.git"
    assert parse_url("file://localhost/srv/b.git").path == "/srv/b.git"


def test_file_url_with_a_host_is_refused() -> None:
    with pytest.raises(UsageError, match="names a host"):
        parse_url("file://server/srv/b.git")


def test_https_with_credentials_is_redacted_and_stored_without_password() -> None:
    url = parse_url("https://alice:s3cr%40t@git.example.com:8443/team/brain.git")
    assert (url.kind, url.scheme, url.host, url.port) == ("http", "https", "git.example.com", 8443)
    assert url.username == "alice"
    assert url.password == "s3cr@t"
    assert url.path == "/team/brain.git"
    assert url.redacted() == "https://alice:***@git.example.com:8443/team/brain.git"
    assert url.for_config() == "https://alice@git.example.com:8443/team/brain.git"
    assert url.without_userinfo() == "https://git.example.com:8443/team/brain.git"
    assert url.with_password() == "https://alice:s3cr%40t@git.example.com:8443/team/brain.git"
    assert str(url) == url.redacted()
    assert "s3cr" not in repr(url)
    assert url.secrets == ("s3cr@t",)


def test_http_without_credentials() -> None:
    url = parse_url("http://127.0.0.1:8080/brain")
    assert (url.kind, url.scheme, url.host, url.port, url.username, url.password) == (
        "http", "http", "127.0.0.1", 8080, None, None)
    assert url.redacted() == "http://127.0.0.1:8080/brain"
    assert url.secrets == ()


def test_ssh_url_forms() -> None:
    url = parse_url("ssh://git@example.com:2222/srv/brain.git")
    assert (url.kind, url.scheme, url.host, url.port, url.username, url.path, url.scp_like) == (
        "ssh", "ssh", "example.com", 2222, "git", "/srv/brain.git", False)
    assert url.redacted() == "ssh://git@example.com:2222/srv/brain.git"
    assert parse_url("git+ssh://example.com/x.git").scheme == "ssh"


def test_scp_like_form() -> None:
    url = parse_url("git@github.com:team/brain.git")
    assert (url.kind, url.host, url.username, url.path, url.scp_like, url.port) == (
        "ssh", "github.com", "git", "team/brain.git", True, None)
    assert url.redacted() == "git@github.com:team/brain.git"
    assert url.for_config() == "git@github.com:team/brain.git"
    bare = parse_url("server:brains/b.git")
    assert (bare.host, bare.username, bare.path) == ("server", None, "brains/b.git")
    assert parse_url("[::1]:repo.git").host == "::1"


def test_colon_after_slash_is_a_local_path(tmp_path: Path) -> None:
    url = parse_url("./dir:with-colon", base=tmp_path)
    assert url.kind == "local"
    assert url.path == str(tmp_path / "dir:with-colon")


def test_git_daemon_url() -> None:
    url = parse_url("git://127.0.0.1:9419/brain.git")
    assert (url.kind, url.scheme, url.host, url.port, url.path) == ("git", "git", "127.0.0.1", 9419, "/brain.git")
    assert default_port(url) == 9419
    assert default_port(parse_url("git://h/x")) == 9418
    assert default_port(parse_url("https://h/x")) == 443


@pytest.mark.parametrize("text, message", [
    ("", "empty remote URL"),
    ("ftp://host/x", "unsupported remote URL scheme 'ftp'"),
    ("ssh://user:pw@host/x", "cannot carry a password"),
    ("git://user@host/x", "cannot carry a user name"),
    ("https:///nohost", "has no host name"),
    ("ssh://-oProxyCommand=x/y", "starts with '-'"),
    ("https://host/x?token=1", "query or fragment"),
    ("host:", "no repository path"),
    ("https://[::1/x", "is malformed"),
])
def test_bad_urls_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_url(text)


def test_refusal_messages_never_show_the_password() -> None:
    with pytest.raises(UsageError) as caught:
        parse_url("gopher://bob:hunter2@host/x")
    assert "hunter2" not in caught.value.message
    assert "bob:***@" in caught.value.message


def test_redact_text_hides_userinfo_passwords_and_given_secrets() -> None:
    text = "fatal: could not read from https://bob:hunter2@host/x and token tok-123 and %s" % "a%2Fb"
    assert redact_text(text, ["tok-123", "a/b"]) == (
        "fatal: could not read from https://bob:***@host/x and token *** and ***")
    assert redact_text("no secrets here") == "no secrets here"


def test_redact_url_falls_back_for_unparseable_text() -> None:
    assert redact_url("https://u:p@h/x") == "https://u:***@h/x"
    assert redact_url("weird://u:p@h/x") == "weird://u:***@h/x"


@pytest.mark.parametrize("text, name", [
    ("https://host/team/brain.git", "brain"),
    ("git@host:team/brain.git/", "brain"),
    ("/srv/brains/alice", "alice"),
    ("git://host/", "host"),
])
def test_clone_directory_name(text: str, name: str) -> None:
    assert directory_name(parse_url(text)) == name
