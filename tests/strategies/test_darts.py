"""The DARTS strategy: a search trial trained by the RL loss, then the derived genotype's retrain."""

import json
import math

import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback

from nni_rl_nas.algorithms import algorithm, build_agent
from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.oneshot.darts import (
    AlternatingOptimizer,
    PerturbationSelection,
    SearchProgressCallback,
    SequentialSelection,
    SupernetFactory,
    alternate_updates,
    architecture_rate,
    architecture_weights,
    discretise,
    mean_entropy,
    operation_weights,
    run_darts_search,
)
from nni_rl_nas.options import DartsOptions
from nni_rl_nas.spaces.darts import RL_DARTS_OPS, ZERO
from nni_rl_nas.strategies import DartsStrategy, NothingToPropose
from nni_rl_nas.trial import check_architecture

SPACE = {"family": "darts", "channels": [4, 4], "nodes": 2}
TASK = {"env": "MinAtar/Breakout-v1", "algorithm": "ppo"}


def test_steps_alternate_between_network_and_architecture_weights():
    weight, alpha = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))
    optimizer = AlternatingOptimizer(torch.optim.SGD([weight], lr=0.1), torch.optim.Adam([alpha], lr=0.01))
    changes = []
    for _ in range(4):
        before = weight.detach().clone(), alpha.detach().clone()
        optimizer.zero_grad()
        (weight.sum() + alpha.sum()).backward()
        optimizer.step()
        changes.append((not torch.equal(before[0], weight), not torch.equal(before[1], alpha)))
    assert changes == [(True, False), (False, True), (True, False), (False, True)]
    optimizer.param_groups[0]["lr"] = 0.5  # what SB3's learning-rate schedule does
    assert optimizer.architecture.param_groups[0]["lr"] == 0.01
    optimizer.architecture.param_groups[0]["lr"] = 0.0  # a warmup: the network takes every step
    for _ in range(2):
        before = weight.detach().clone()
        optimizer.zero_grad()
        (weight.sum() + alpha.sum()).backward()
        optimizer.step()
        assert not torch.equal(before, weight)


@pytest.mark.parametrize(
    "schedule, warmup, rates",
    [
        ("constant", 0.0, [0.2, 0.2, 0.2, 0.2]),
        ("linear", 0.0, [0.2, 0.15, 0.1, 0.05]),
        ("constant", 0.5, [0.0, 0.0, 0.2, 0.2]),
        ("linear", 0.5, [0.0, 0.0, 0.2, 0.1]),
    ],
)
def test_the_architecture_rate_waits_out_the_warmup_then_follows_its_schedule(schedule, warmup, rates):
    settings = DartsOptions(arch_learning_rate=0.2, arch_learning_rate_schedule=schedule, arch_warmup=warmup)
    assert [architecture_rate(settings, progress) for progress in (0.0, 0.25, 0.5, 0.75)] == pytest.approx(rates)


def test_a_search_trains_the_supernet_with_ppo_and_derives_a_valid_genotype(tmp_path):
    spec = parse_class_args(
        {
            "space": SPACE,
            "task": {**TASK, "report_every": 256, "n_envs": 4, "hyperparameters": {"n_steps": 64, "batch_size": 64}},
        }
    )
    space = spec.build_space()
    result = run_darts_search(spec.task, space, spec.build_space, DartsOptions(search_timesteps=512), tmp_path, "cpu")
    assert result["env_steps"] == 512 and result["architecture"] == "DARTS search"
    architecture = space.parse_architecture_name(result["derived"])
    assert check_architecture(space, architecture) == architecture
    assert result["top_k"] == [result["derived"]]
    record = json.loads((tmp_path / "darts_search.json").read_text())
    assert [point["env_steps"] for point in record["curve"]] == [256, 512]
    entropies = [point["arch_entropy"] for point in record["curve"]]
    assert entropies[-1] < result["max_entropy"] == pytest.approx(math.log(len(RL_DARTS_OPS)))
    assert result["entropy_ratio"] == pytest.approx(entropies[-1] / math.log(len(RL_DARTS_OPS)))
    for point in record["curve"]:  # every report point: each edge's weights and the genotype they give
        assert space.parse_architecture_name(point["genotype"])
        assert point["genotype"] == space.architecture_name(discretise(point["operation_weights"]))
        for edge in point["operation_weights"].values():
            assert list(edge) == list(RL_DARTS_OPS) and sum(edge.values()) == pytest.approx(1.0)
    assert record["curve"][-1]["genotype"] == result["derived"] == record["name"]
    assert result["genotype_settled_at"] in (256, 512)
    assert result["genotype_settled_at"] == 256 or record["curve"][0]["genotype"] != result["derived"]
    assert (tmp_path / "supernet.pt").stat().st_size > 0


def test_a_linear_schedule_takes_the_architecture_learning_rate_down_with_sb3s_progress(tmp_path):
    spec = parse_class_args(
        {
            "space": SPACE,
            "task": {**TASK, "report_every": 256, "n_envs": 4, "hyperparameters": {"n_steps": 64, "batch_size": 64}},
        }
    )
    settings = DartsOptions(search_timesteps=768, arch_learning_rate=0.2, arch_learning_rate_schedule="linear")
    agent = build_agent(spec.task, SupernetFactory(spec.build_space), "cpu")
    alternate_updates(agent, "ppo", settings)
    encoder = algorithm("ppo").encoder(agent)
    rates = []

    class Watch(BaseCallback):
        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            rates.append(agent.policy.optimizer.architecture.param_groups[0]["lr"])

    progress = SearchProgressCallback(
        spec.task, spec.build_space(), encoder, spec.task.make_env(), settings, tmp_path / "darts_search.json"
    )
    agent.learn(768, callback=[progress, Watch()])
    assert rates == pytest.approx([0.2, 0.2 * 2 / 3, 0.2 / 3]), "SB3's progress left at each rollout's steps"
    assert agent.policy.optimizer.param_groups[0]["lr"] == pytest.approx(2.5e-4), "the network's rate is PPO's"


def test_the_auxiliary_skip_falls_linearly_to_0_with_sb3s_progress(tmp_path):
    spec = parse_class_args(
        {
            "space": SPACE,
            "task": {**TASK, "report_every": 256, "n_envs": 4, "hyperparameters": {"n_steps": 64, "batch_size": 64}},
        }
    )
    settings = DartsOptions(search_timesteps=768, auxiliary_skip=0.6)
    agent = build_agent(spec.task, SupernetFactory(spec.build_space), "cpu")
    alternate_updates(agent, "ppo", settings)
    progress = SearchProgressCallback(
        spec.task, spec.build_space(), algorithm("ppo").encoder(agent), spec.task.make_env(), settings, tmp_path / "r"
    )
    assert len(progress.cells) == 4, "the space's two normal and two reduction cells"
    betas = []

    class Watch(BaseCallback):
        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            betas.append([cell.auxiliary_skip for cell in progress.cells])

    agent.learn(768, callback=[progress, Watch()])
    assert betas == [pytest.approx([beta] * 4) for beta in (0.6, 0.4, 0.2)], "SB3's progress at each rollout"


def test_the_temperature_divides_the_architecture_weights_before_the_softmax():
    space_options = {**SPACE, "wiring": "macro"}
    spec = parse_class_args({"space": space_options, "task": TASK})
    cold, warm = SupernetFactory(spec.build_space, temperature=0.25)(), SupernetFactory(spec.build_space)()
    with torch.no_grad():
        for supernet in (cold, warm):
            for alpha in architecture_weights(supernet):
                alpha.copy_(torch.arange(len(alpha), dtype=torch.float) / 10)
    logits = torch.arange(len(RL_DARTS_OPS), dtype=torch.float) / 10
    for supernet, temperature in ((cold, 0.25), (warm, 1.0)):
        weights = operation_weights(supernet)
        assert len(weights) == 3, "a 2-node cell has 3 edges, shared by every normal cell"
        for edge in weights.values():
            assert list(edge.values()) == pytest.approx(torch.softmax(logits / temperature, 0).tolist())
    assert mean_entropy(operation_weights(cold)) < mean_entropy(operation_weights(warm))


def test_sequential_selection_decides_the_clearest_node_first_and_fixes_it():
    spec = parse_class_args({"space": {**SPACE, "wiring": "macro"}, "task": TASK})
    supernet = SupernetFactory(spec.build_space)()
    modules = [module for module in supernet.modules() if hasattr(module, "_arch_alpha")]
    alphas = {edge: alpha for module in modules for edge, alpha in module._arch_alpha.items()}
    assert sorted(alphas) == ["normal/1_0", "normal/2_0", "normal/2_1"]  # nodes 1 and 2 of one cell kind
    with torch.no_grad():  # operations: conv_3x3, relu, tanh, skip_connect, then "no edge"
        alphas["normal/1_0"].copy_(torch.tensor([0.0, 0.1, 0.2, 0.0, 0.0]))  # unclear
        alphas["normal/2_0"].copy_(torch.tensor([4.0, 0.0, 0.0, 0.0, 0.0]))  # clearly conv_3x3
        alphas["normal/2_1"].copy_(torch.tensor([0.0, 0.0, 0.0, 3.5, 0.0]))  # clearly skip_connect
    selection = SequentialSelection(supernet, DartsOptions(selection="sequential", decided_by=0.5, arch_warmup=0.1))
    assert selection.due_at == pytest.approx([0.3, 0.5])
    assert not selection.due(0.29) and selection.due(0.31)
    first = selection.decide(100)
    assert first["node"] == "normal/2" and first["inputs"] == ["conv_3x3@0", "skip_connect@1"]
    weights = operation_weights(supernet)
    assert weights["normal/2_0"]["conv_3x3"] == pytest.approx(1.0)
    assert weights["normal/2_1"]["skip_connect"] == pytest.approx(1.0)
    assert not alphas["normal/2_0"].requires_grad and alphas["normal/1_0"].requires_grad
    second = selection.decide(200)
    assert second["node"] == "normal/1" and second["inputs"] == ["tanh@0", "relu@0"], "its two strongest, in order"
    weights = operation_weights(supernet)
    assert weights["normal/1_0"]["tanh"] + weights["normal/1_0"]["relu"] == pytest.approx(1.0)
    assert weights["normal/1_0"]["tanh"] > weights["normal/1_0"]["relu"]
    assert not selection.due(1.0), "every node decided"
    assert (
        spec.build_space().architecture_name(discretise(weights)) == "normal[tanh@0,relu@0|conv_3x3@0,skip_connect@1]"
    )


@pytest.mark.parametrize("selection", ["sequential", "perturbation"])
def test_a_search_that_selects_as_it_goes_decides_every_node_by_decided_by_and_keeps_its_genotype_after(
    selection, tmp_path
):
    spec = parse_class_args(
        {
            "space": SPACE,
            "task": {**TASK, "report_every": 64, "n_envs": 4, "hyperparameters": {"n_steps": 16, "batch_size": 64}},
        }
    )
    settings = DartsOptions(search_timesteps=256, selection=selection, decided_by=0.5, arch_learning_rate=0.3)
    result = run_darts_search(spec.task, spec.build_space(), spec.build_space, settings, tmp_path, "cpu")
    record = json.loads((tmp_path / "darts_search.json").read_text())
    decisions = record["decisions"]
    assert result["decisions"] == decisions
    nodes = [decision["node"] for decision in decisions]
    if selection == "perturbation":
        assert nodes == ["normal/1", "normal/2", "reduce/1", "reduce/2"], "in order"
        assert all(decision["divergence"] and "clarity" not in decision for decision in decisions)
    assert sorted(nodes) == ["normal/1", "normal/2", "reduce/1", "reduce/2"]
    assert [decision["env_steps"] for decision in decisions] == [32, 64, 96, 128], "an eighth of the search apart"
    assert all(point["genotype"] == result["derived"] for point in record["curve"] if point["env_steps"] >= 128)
    assert result["genotype_settled_at"] <= 128


def test_perturbation_selection_keeps_the_operations_whose_removal_changes_the_policy_most():
    spec = parse_class_args(
        {"space": {**SPACE, "wiring": "macro"}, "task": {**TASK, "n_envs": 4, "hyperparameters": {"n_steps": 64}}}
    )
    agent = build_agent(spec.task, SupernetFactory(spec.build_space), "cpu")
    agent.learn(256)  # a rollout buffer of real observations
    supernet = algorithm("ppo").encoder(agent)
    modules = [module for module in supernet.modules() if hasattr(module, "_arch_alpha")]
    alphas = {edge: alpha for module in modules for edge, alpha in module._arch_alpha.items()}
    with torch.no_grad():
        for alpha in alphas.values():
            alpha.copy_(torch.randn(alpha.shape, generator=torch.Generator().manual_seed(0)))
    before = operation_weights(supernet)
    selection = PerturbationSelection(supernet, DartsOptions(selection="perturbation", decided_by=0.5), agent)
    observations = selection.probe_observations()
    assert observations.shape == (256, 4, 10, 10) and observations.abs().sum() > 0

    def divergence_without(edge: str, index: int) -> float:  # by hand: the operation's weight set to 0
        full = agent.policy.get_distribution(observations).distribution.probs
        saved = alphas[edge].detach().clone()
        with torch.no_grad():
            alphas[edge][index] = -1e4
            perturbed = agent.policy.get_distribution(observations).distribution.probs
            alphas[edge].copy_(saved)
        return float((full * (full.log() - perturbed.log())).sum(-1).mean())

    agent.policy.set_training_mode(False)
    with torch.no_grad():
        by_hand = {
            (edge, op): divergence_without(edge, index)
            for edge in ("normal/1_0",)
            for index, op in enumerate(RL_DARTS_OPS)
            if op != ZERO
        }
    agent.policy.set_training_mode(True)
    first = selection.decide(100)
    assert first["node"] == "normal/1", "the nodes in order"
    measured = {
        (f"normal/1_{key.split('@')[1]}", key.split("@")[0]): value for key, value in first["divergence"].items()
    }
    assert measured == pytest.approx(by_hand, rel=1e-3)  # recorded to 4 significant digits
    strongest = sorted(by_hand, key=by_hand.get, reverse=True)[:2]
    assert first["inputs"] == [f"{op}@0" for _, op in strongest], "node 1 keeps its edge's two most telling"
    after = operation_weights(supernet)
    assert after["normal/2_0"] == pytest.approx(before["normal/2_0"]), "probing restores the weights"
    assert sum(after["normal/1_0"][op] for _, op in strongest) == pytest.approx(1.0)
    second = selection.decide(200)
    assert second["node"] == "normal/2" and len(second["divergence"]) == 2 * (len(RL_DARTS_OPS) - 1)
    assert not selection.due(1.0)


def test_search_trials_first_then_each_derived_genotype_once():
    darts = DartsStrategy(space=SPACE, task=TASK, seed=3, searches=2)
    first, second = darts.ask(0), darts.ask(1)
    assert (first["phase"], first["search_seed"], first["architecture"]) == ("search", 3, "DARTS search 3")
    assert second["search_seed"] == 4
    with pytest.raises(NothingToPropose):
        darts.ask(2)
    names = [
        darts.space.architecture_name({label: values[pick] for label, values in darts.choices.items()})
        for pick in (0, -1)
    ]
    darts.tell(0, first, {"default": 1.0, "top_k": [names[0]]})
    darts.tell(1, second, {"default": 2.0, "top_k": [names[0]]})  # the same genotype again
    assert darts.ask(3)["architecture"] == names[0]
    with pytest.raises(NothingToPropose):
        darts.ask(4)


@pytest.mark.parametrize(
    "space, task, options, message",
    [
        ({"family": "mlp"}, {"env": "CartPole-v1", "algorithm": "ppo"}, {}, "RlNasDarts searches DARTS cells"),
        (SPACE, {"env": "MinAtar/Breakout-v1", "algorithm": "sac"}, {}, "'sac' acts in Box action spaces"),
        (SPACE, TASK, {"arch_learning_rate": 0}, "tuner.classArgs.arch_learning_rate: got 0"),
        (
            SPACE,
            {**TASK, "algorithm": "dqn"},
            {"selection": "perturbation"},
            "which task.algorithm 'dqn' does not give; fix: algorithm ppo, or selection sequential",
        ),
        (SPACE, TASK, {"searches": 0}, "tuner.classArgs.searches: got 0"),
        (SPACE, TASK, {"temperature": 0}, "tuner.classArgs.temperature: got 0"),
        (SPACE, TASK, {"auxiliary_skip": -0.5}, "tuner.classArgs.auxiliary_skip: got -0.5"),
        (SPACE, TASK, {"temperature": -1.0}, "tuner.classArgs.temperature: got -1.0"),
        (
            SPACE,
            TASK,
            {"arch_learning_rate_schedule": "cosine"},
            "tuner.classArgs.arch_learning_rate_schedule: got 'cosine'; fix: one of ['constant', 'linear']",
        ),
        (SPACE, TASK, {"arch_warmup": 1.0}, "tuner.classArgs.arch_warmup: got 1.0; fix: a fraction from 0"),
        (SPACE, TASK, {"selection": "greedy"}, "tuner.classArgs.selection: got 'greedy'; fix: one of ['weights', "),
        (
            SPACE,
            TASK,
            {"decided_by": 1.5},
            "tuner.classArgs.decided_by: got 1.5; fix: a fraction after the warmup (0.0)",
        ),
        (
            SPACE,
            TASK,
            {"arch_warmup": 0.5, "decided_by": 0.5},
            "tuner.classArgs.decided_by: got 0.5; fix: a fraction after",
        ),
    ],
)
def test_bad_darts_setups_are_refused(space, task, options, message):
    with pytest.raises(ConfigError, match="fix") as error:
        DartsStrategy(space=space, task=task, **options)
    assert message in str(error.value)


def test_importing_the_darts_search_first_leaves_nnis_one_shot_strategies_whole():
    # nni.nas.strategy binds a stub for every one-shot strategy when its module is half imported
    import subprocess
    import sys

    code = (
        "import nni_rl_nas.oneshot.darts\nfrom nni.nas.strategy import RandomOneShot\n"
        "assert RandomOneShot.__name__ == 'RandomOneShot', RandomOneShot"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
