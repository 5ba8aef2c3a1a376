"""nni-rl-nas: neural architecture search for deep reinforcement-learning agents, as an NNI 3.0 plugin."""

__version__ = "0.1.0"
