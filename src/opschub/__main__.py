"""``python -m opschub``: the same as the ``opschub`` command."""

from opschub.cli import main

main()
