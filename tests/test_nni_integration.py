import shutil

import pytest

from nni_rl_nas import nni_patches
from nni_rl_nas.nni_patches import (
    DISPATCHER_REPORTS_ERRORS,
    PARAMETER_DISPATCH,
    TRIAL_END_STATUS,
    TUNER_CONNECT_TIMEOUT,
    TUNER_ERROR_STATUS,
    VALIDATION_AT_CREATE,
    NniInstallationError,
)
from nni_rl_nas.strategies import RandomStrategy
from nni_rl_nas.tuner import TUNERS

ORIGINAL = (
    "    async submitTrialJob(form) {\n"
    "        if (trialId === null) {\n"
    "            this.parameters.push(form.hyperParameters.value);\n"
    "        }\n"
    "        while (trialId === null) {\n"
    "                trialId = await this.v3.createTrial(envId, this.config.trialCommand, 'trial_code', form.sequenceId);\n"
    "        }\n"
)


def test_fix_files_parameters_under_a_trial_id_chosen_before_the_trial_starts(tmp_path):
    compat = tmp_path / "compat.js"
    compat.write_text(ORIGINAL)
    assert PARAMETER_DISPATCH.apply(compat)
    fixed = compat.read_text()
    assert "this.parameters.push" not in fixed
    assert "this.allocatedParameters.set(newTrialId, form.hyperParameters.value);" in fixed
    assert "form.sequenceId, newTrialId);" in fixed
    assert PARAMETER_DISPATCH.is_applied(compat)
    assert not PARAMETER_DISPATCH.apply(compat)  # idempotent
    assert compat.read_text() == fixed


def test_fix_refuses_a_compat_js_it_does_not_know(tmp_path):
    compat = tmp_path / "compat.js"
    compat.write_text("// some other NNI version\n")
    with pytest.raises(NniInstallationError, match="pip install nni==3.0"):
        PARAMETER_DISPATCH.apply(compat)
    assert compat.read_text() == "// some other NNI version\n"


END_STATUS_ORIGINAL = """    async cancelTrialJob(trialJobId, isEarlyStopped) {
        try {
            await this.v3.stopTrial(trialJobId);
        }
    async cleanUp() {
        try {
            await this.v3.stop();
        }
            else if (trial.isEarlyStopped) {
                trial.status = 'EARLY_STOPPED';
            }
            else {
                trial.status = 'USER_CANCELED';
            }
"""


def test_end_status_fix_flags_stops_before_sending_them_and_fails_unexplained_signals(tmp_path):
    compat = tmp_path / "compat.js"
    compat.write_text(END_STATUS_ORIGINAL)
    assert TRIAL_END_STATUS.apply(compat)
    fixed = compat.read_text()
    flagged, sent = fixed.index("stopRequested = true"), fixed.index("await this.v3.stopTrial")
    assert flagged < sent, "the flag is set before the trial can end"
    assert fixed.index("this.stopping = true") < fixed.index("await this.v3.stop()")
    assert "else if (trial.stopRequested || this.stopping) {\n                trial.status = 'USER_CANCELED';" in fixed
    assert fixed.rstrip().endswith("trial.status = 'FAILED';\n            }")


def test_installed_nni_has_the_fixes_and_tuners_refuse_to_run_without_them(tmp_path, monkeypatch):
    assert all(fix.is_applied() for fix in nni_patches.NNI_FIXES), "run `nni-rl-nas setup` in this environment"
    unfixed = tmp_path / "compat.js"
    unfixed.write_text(ORIGINAL)
    monkeypatch.setattr(nni_patches.SourcePatch, "path", lambda self: unfixed)
    with pytest.raises(NniInstallationError, match="run `nni-rl-nas setup`"):
        TUNERS["RlNasRandom"](space={"family": "mlp"}, task={"env": "CartPole-v1"})
    shutil.copy(unfixed, tmp_path / "kept.js")
    # the NNI-free strategy itself needs no fix: benchmarks and tests drive it without NNI
    assert RandomStrategy(space={"family": "mlp"}, task={"env": "CartPole-v1"}).ask(0)


def test_a_tuner_that_cannot_start_fails_at_its_first_command_with_the_reason_on_one_line():
    tuner = TUNERS["RlNasRandom"](space={"family": "mlp"}, task={"env": "CartPole-v1"}, seed=-1)
    with pytest.raises(RuntimeError, match=r"^ConfigError: tuner.classArgs.seed: got -1; fix: a whole number >= 0$"):
        tuner.update_search_space({})


def test_a_search_space_that_disagrees_with_the_space_fails_the_tuner_with_the_fix():
    tuner = TUNERS["RlNasRandom"](space={"family": "mlp", "widths": [16]}, task={"env": "CartPole-v1"})
    with pytest.raises(RuntimeError, match=r"ConfigError: searchSpace: does not match .* fix: replace it with "):
        tuner.update_search_space({"layer1_width": {"_type": "choice", "_value": [32]}})


def test_the_installed_nni_reports_tuner_errors_into_the_experiment_status():
    manager = TUNER_ERROR_STATUS.path().read_text()
    assert "'Tuner failed: ' + (lines[lines.length - 1]" in manager
    assert "Dispatcher stream error, tuner may have crashed." not in manager
    dispatcher = DISPATCHER_REPORTS_ERRORS.path().read_text()
    assert "self.report_error(__import__('traceback').format_exc())" in dispatcher
    launcher = VALIDATION_AT_CREATE.path().read_text()
    assert launcher.index("_validate_with_registered_validator(config_file)") < launcher.index(
        "config = ExperimentConfig.load(config_file)\n\n    if config.use_annotation"
    )


def test_the_installed_tuner_channel_waits_120_s_for_the_tuner():
    source = TUNER_CONNECT_TIMEOUT.path().read_text()
    assert "}, 120000);" in source and "}, 10000);" not in source
