"""``python -m brainvcs``: the same as the ``brainvcs`` command."""

from brainvcs.cli import main

if __name__ == "__main__":
    main(prog_name="brainvcs")
