"""The web UI (and its REST API, which has no login) listens on loopback unless asked otherwise."""

import psutil
import pytest

from nni_rl_nas.errors import ConfigError
from nni_rl_nas.experiment import check_web_host
from tests.experiments import rest, start_experiment


def listening_addresses(port: int) -> set[str]:
    """The addresses a TCP socket listens on at ``port``, read from the machine's sockets."""
    return {
        connection.laddr.ip
        for connection in psutil.net_connections("tcp")
        if connection.laddr.port == port and connection.status == psutil.CONN_LISTEN
    }


def one_short_trial(raw: dict) -> None:
    raw["maxTrialNumber"] = 1
    raw["tuner"]["classArgs"]["task"].update(total_timesteps=1000, report_every=1000)


@pytest.mark.parametrize(
    "environment, expected",
    [({}, {"127.0.0.1"}), ({"NNI_RL_NAS_WEB_HOST": "0.0.0.0"}, {"0.0.0.0"})],
    ids=["loopback by default", "where asked"],
)
def test_the_web_server_listens_on_loopback_unless_the_environment_names_an_address(tmp_path, environment, expected):
    with start_experiment(tmp_path, "quick_cartpole.yml", one_short_trial, env=environment) as (_, port, _root):
        assert rest(port, "check-status")["status"] in ("RUNNING", "DONE", "NO_MORE_TRIAL", "TUNER_NO_MORE_TRIAL")
        assert listening_addresses(port) == expected


def test_a_remote_training_service_needs_an_address_its_workers_can_reach():
    remote = {"trainingService": {"platform": "remote", "machineList": []}, "nniManagerIp": "10.0.0.5"}
    with pytest.raises(
        ConfigError,
        match=r"trainingService: remote trials report back to 10.0.0.5, but the web "
        r"server listens on 127.0.0.1 only .* fix: run nnictl with "
        r"NNI_RL_NAS_WEB_HOST=0.0.0.0",
    ):
        check_web_host(remote, environment={})
    check_web_host(remote, environment={"NNI_RL_NAS_WEB_HOST": "10.0.0.5"})
    check_web_host({**remote, "nniManagerIp": "127.0.0.1"}, environment={})  # workers on this machine
    check_web_host({"trainingService": {"platform": "local"}}, environment={})
