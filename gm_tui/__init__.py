"""GreenMachine's user-facing side: the ``gm`` command line (typer) and the Textual app."""
