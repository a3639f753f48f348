"""The light runtime: what ``pip install colorsplash`` runs (ONNX Runtime, NumPy, OpenCV, Pillow; never torch).

Its stages are subpackages, imported one way (``pictures`` <- ``model`` <- ``edges`` <- ``video``): ``model`` (the
model file and its run), ``pictures`` (picture files in and out), ``edges`` (the probability to a full-resolution
alpha) and ``video`` (clips). The modules here run them (``api``, ``pipeline``, ``batch``, ``planning``) and own
the policies every verb shares (``options``, ``wording``, ``no_subject``, ``files``). See docs/architecture.md.
"""
