"""Clips in, clips out: ffmpeg found and driven (probe, decode, encode, sound and extras carried), frames splashed
in order with the model running ahead, and the alpha smoothed over time. ``clip.py`` is the entry point."""
