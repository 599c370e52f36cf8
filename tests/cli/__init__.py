"""CLI tests: each verb through click.testing.CliRunner, checked through the API."""
