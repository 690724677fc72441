"""``python -m yzt`` is the ``yzt`` command."""

from yzt.cli import main

raise SystemExit(main())
