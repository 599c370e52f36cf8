"""Adapters between brains (live objects or other on-disk formats) and brainvcs states.

``seed_json`` and ``seed_sqlite`` convert the seed document's JSON files and
SQLite databases; import them by module path.
"""
