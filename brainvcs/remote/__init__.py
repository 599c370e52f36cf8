"""Remotes: clone, fetch, pull, push, ls-remote and sync brains with any git host.

- :mod:`.urls` — parse and classify URLs (paths, ``file://``, ``http(s)://``,
  ``ssh://``, ``user@host:path``, ``git://``); redact secrets;
- :mod:`.credentials` — HTTPS credentials from the environment, git's
  credential helpers or ``~/.netrc``; never stored;
- :mod:`.transport` — the dulwich client for a URL, authentication retries,
  one clear error per failure;
- :mod:`.config` — remotes in the repository's git config, as C git keeps them;
- :mod:`.push` — refspecs, the fast-forward rule, per-ref results;
- :mod:`.ops` — the API the CLI calls (``from brainvcs.remote import ops``);
- :mod:`.progress` — transfer progress on a terminal.

See ``docs/remotes.md``.
"""

from __future__ import annotations

from .ops import (FetchResult, LsRemoteResult, PullResult, PushRefResult, PushResult, RefUpdate, Remote, SyncResult,
                  clone, fetch, ls_remote, pull, push, remote_add, remote_list, remote_remove, remote_rename, sync)

__all__ = [
    "FetchResult", "LsRemoteResult", "PullResult", "PushRefResult", "PushResult", "RefUpdate", "Remote",
    "SyncResult", "clone", "fetch", "ls_remote", "pull", "push", "remote_add", "remote_list", "remote_remove",
    "remote_rename", "sync",
]
