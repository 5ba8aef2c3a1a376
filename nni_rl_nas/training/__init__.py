"""Training engines: a trial's seeds trained by Stable-Baselines3 or the batched DQN trainer, their
learning curves and scores, and the supervised trainer of image classifiers."""
