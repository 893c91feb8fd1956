"""Allow ``python -m sensors``."""

from sensors.cli import main

raise SystemExit(main())
