"""Training-patch augmentation: the settings (no torch), and the batch augmenter (torch)."""
