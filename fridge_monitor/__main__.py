"""Allow ``python -m fridge_monitor``."""

from fridge_monitor.cli import main

main()
