"""``python -m driftloop_local``: the local stack's command line (see ``--help``)."""

from driftloop_local.cli import main

raise SystemExit(main())
