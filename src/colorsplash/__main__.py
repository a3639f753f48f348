"""``python -m colorsplash`` runs the CLI."""

import sys

from colorsplash.cli import main

sys.exit(main())
