"""The ``nni-rl-nas`` command as NNI and users run it: separate processes, exit codes, messages."""

import os
import subprocess

from tests.conftest import CONFIGS, class_args


def run(*args, cwd=None, env=None):
    return subprocess.run(
        ["nni-rl-nas", *args], capture_output=True, text=True, cwd=cwd, timeout=300, env={**os.environ, **(env or {})}
    )


def test_spaces_lists_the_default_space_with_its_size():
    done = run("spaces")
    assert done.returncode == 0
    assert "mlp: 100 architectures" in done.stdout


def test_validate_accepts_every_shipped_config(tmp_path):
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_ed25519").touch()  # NNI checks that the remote config's key file exists
    configs = sorted(CONFIGS.glob("*.yml"))
    # remote_quick_cartpole.yml's workers report to another address than loopback: say where to listen
    done = run("validate", *map(str, configs), env={"HOME": str(tmp_path), "NNI_RL_NAS_WEB_HOST": "0.0.0.0"})
    assert done.returncode == 0, done.stderr
    assert all(f"{config}: OK" in done.stdout for config in configs)


def test_validate_reports_a_bad_config_without_a_traceback(write_experiment):
    config = write_experiment(lambda raw: class_args(raw)["task"].update(env="CartPol-v1"))
    done = run("validate", str(config))
    assert done.returncode == 2
    assert "error: task.env: unknown env id 'CartPol-v1'" in done.stderr and "Traceback" not in done.stderr


def test_a_diverging_trial_exits_nonzero_with_the_reason_on_stderr(write_experiment, tmp_path):
    def diverge(raw):
        class_args(raw)["task"].update(
            total_timesteps=1000,
            report_every=500,
            eval_episodes=1,
            hyperparameters={"learning_rate": 1e30, "learning_starts": 0, "train_freq": 4, "gradient_steps": 1},
        )

    config = write_experiment(diverge)
    done = run("trial", config.name, "--architecture", "16-relu", cwd=tmp_path)
    assert done.returncode != 0
    assert "TrainingDiverged: non-finite weights" in done.stderr
