"""Task-level accuracy of a candidate against the PyTorch model on the same inputs, and the recipe's gates."""
