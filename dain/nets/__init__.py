"""DAIN and its sub-networks as plain ``nn.Module``s whose names mirror the official checkpoint."""
