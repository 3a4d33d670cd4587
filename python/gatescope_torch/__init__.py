"""Gatescope's PyTorch companion: train in PyTorch (one GPU, or many with torchrun), inspect in Gatescope, resume in
either. The model is word_language_model's RNNModel; the file is Gatescope's safetensors model file, training state
included. Depends on torch and the standard library only.

    from gatescope_torch import RNNModel, save, load
"""
from .checkpoint import Checkpoint, TrainingState, adam_to_flat, flat_to_adam, load, save
from .model import RNNModel, param_layout

__all__ = ["RNNModel", "param_layout", "save", "load", "Checkpoint", "TrainingState", "adam_to_flat", "flat_to_adam"]
