"""``python -m colorsplash`` runs the CLI."""

import sys

from colorsplash.entry import main

sys.exit(main())
