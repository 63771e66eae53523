"""Root pytest configuration, shared by tests/ and the doctests in skfin/."""

import torch

# pytest-xdist runs one worker per core; more torch threads per worker would only
# oversubscribe the cores.
torch.set_num_threads(1)
