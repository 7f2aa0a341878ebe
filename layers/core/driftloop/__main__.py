"""``python -m driftloop``: the operator CLI."""

from driftloop.cli import main

raise SystemExit(main())
