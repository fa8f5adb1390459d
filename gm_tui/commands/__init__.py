"""The ``gm`` commands that live outside :mod:`greenmachine.tui.cli`: data, proxies, repeats, search."""
