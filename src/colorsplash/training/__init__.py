"""Training with PyTorch (the ``train`` extra): the networks (pure modules, no I/O), data and augmentation, the
fit loop and its checkpoints, staged recipes, and export to ONNX (float or int8). The only layer that may import
torch, albumentations, matplotlib or onnx. See docs/architecture.md."""
