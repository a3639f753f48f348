"""Data sets and scores, without torch: the supported folder layouts read into samples, masks read as labels, the
reproducible splits, pure-function metrics, the presence threshold's choice, and reports at original resolution.
Imports only :mod:`colorsplash.runtime`. See docs/architecture.md."""
