"""nni-rl-nas: neural architecture search for deep reinforcement-learning agents, as an NNI 3.0 plugin."""

import warnings

# nni.nas walks torch.nn at import and warns about classes newer than it knows (torch 2.13's
# Buffer, LinearCrossEntropyOptions); they are not modules a model space uses. Silence just that.
warnings.filterwarnings("ignore", message=r".* is found to be not a nn\.Module", category=RuntimeWarning)

__version__ = "0.1.0"
