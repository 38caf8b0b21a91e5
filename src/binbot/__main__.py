"""Allow ``python -m binbot``."""

from binbot.cli.main import main

raise SystemExit(main())
