"""What ``nni-rl-nas setup`` does to the NNI installation: three fixes to NNI 3.0's Node code, and
registering the strategies.

**Parameter dispatch (NNI issues 5726, 5693).** NNI 3.0's training-service adapter
(``nni_node/training_service/v3/compat.js``) queues each submitted trial's parameters in one
first-in-first-out list and hands the head of that list to whichever trial process asks first.
With more than one trial running, a trial can train another trial's architecture while the web
UI, the REST API and ``trial_end`` attribute it to the trial NNI submitted it for. The same file
already keys parameters by trial id when it resumes a trial; the fix uses that path for new
trials too: it chooses the trial id before creating the trial and files the parameters under it.

**Tuner start-up time.** NNI 3.0 gives the tuner process 10 s to connect
(``nni_node/core/tuner_command_channel.js``) and fails the experiment otherwise. Our tuner
imports torch and NNI's NAS package (about 5 s on an idle 2-core machine, measured 14 s while
trials loaded both cores), so the limit becomes 120 s.

**Trial end status.** The same adapter labels every trial whose process died by a signal
USER_CANCELED, as if someone had canceled it: a trial SIGKILLed by the out-of-memory killer, and
one NNI stops for running past ``maxTrialDuration`` (NNI asks for EARLY_STOPPED there, but sets
the flag only after the trial has already ended). The fix flags a stop NNI asks for before
sending it, so: a stop NNI asked for as early stopping (``maxTrialDuration``, an assessor) is
EARLY_STOPPED; a cancel from the web UI, nnictl or the experiment's stop is USER_CANCELED; a
signal nobody in NNI sent is FAILED.

Each fix replaces exact snippets of NNI 3.0's file; any other content is left alone and
reported, so a different NNI version fails loudly instead of being mis-patched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .evaluator.artifacts import write_atomically

logger = logging.getLogger(__name__)


class NNIInstallationError(RuntimeError):
    """The installed NNI is not the one this project can fix, or a fix is missing."""


@dataclass(frozen=True)
class SourcePatch:
    """Exact replacements in one file of NNI's Node code, recognised afterwards by a marker comment."""

    name: str
    relative_path: str  # under the nni_node package
    marker: str
    replacements: tuple[tuple[str, str], ...]

    def path(self) -> Path:
        import nni_node

        return Path(nni_node.__file__).parent / self.relative_path

    def is_applied(self, path: Path | None = None) -> bool:
        return self.marker in (path or self.path()).read_text()

    def apply(self, path: Path | None = None) -> bool:
        """Patch the file in place (atomically). Returns False when it was already patched."""
        path = path or self.path()
        source = path.read_text()
        if self.marker in source:
            return False
        if any(source.count(original) != 1 for original, _ in self.replacements):
            raise NNIInstallationError(f"{path} is not NNI 3.0's; the {self.name} fix only knows that version. "
                                       "fix: pip install nni==3.0")
        for original, fixed in self.replacements:
            source = source.replace(original, fixed)
        write_atomically(path, lambda target: target.write_text(source))
        logger.info("applied the %s fix to %s", self.name, path)
        return True


_DISPATCH_MARKER = "/* nni-rl-nas: parameters keyed by trial id */"
PARAMETER_DISPATCH = SourcePatch(
    name="trial parameter dispatch",
    relative_path="training_service/v3/compat.js",
    marker=_DISPATCH_MARKER,
    replacements=(
        ("""        if (trialId === null) {
            this.parameters.push(form.hyperParameters.value);
        }""", f"""        {_DISPATCH_MARKER}
        const newTrialId = (0, require("common/utils").uniqueString)(5);
        if (trialId === null) {{
            this.allocatedParameters.set(newTrialId, form.hyperParameters.value);
        }}"""),
        ("""trialId = await this.v3.createTrial(envId, this.config.trialCommand, 'trial_code', form.sequenceId);""",
         """trialId = await this.v3.createTrial(envId, this.config.trialCommand, 'trial_code', form.sequenceId, newTrialId);"""),
    ),
)

_TIMEOUT_MARKER = "/* nni-rl-nas: tuner start-up allowance */"
TUNER_CONNECT_TIMEOUT = SourcePatch(
    name="tuner start-up time",
    relative_path="core/tuner_command_channel.js",
    marker=_TIMEOUT_MARKER,
    replacements=(
        ("const msg = 'Tuner did not connect in 10 seconds. Please check tuner (dispatcher) log.';",
         "const msg = 'Tuner did not connect in 120 seconds. Please check tuner (dispatcher) log.';"),
        ("            }, 10000);\n            return this.connect.promise;",
         f"            }}, 120000); {_TIMEOUT_MARKER}\n            return this.connect.promise;"),
    ),
)
_END_STATUS_MARKER = "/* nni-rl-nas: stops flagged before they are sent */"
TRIAL_END_STATUS = SourcePatch(
    name="trial end status",
    relative_path="training_service/v3/compat.js",
    marker=_END_STATUS_MARKER,
    replacements=(
        ("""    async cancelTrialJob(trialJobId, isEarlyStopped) {
        try {""", f"""    async cancelTrialJob(trialJobId, isEarlyStopped) {{
        {_END_STATUS_MARKER}
        this.trialJobs[trialJobId].isEarlyStopped = Boolean(isEarlyStopped);
        this.trialJobs[trialJobId].stopRequested = true;
        try {{"""),
        ("""    async cleanUp() {
        try {""", """    async cleanUp() {
        this.stopping = true;
        try {"""),
        ("""            else {
                trial.status = 'USER_CANCELED';
            }""", """            else if (trial.stopRequested || this.stopping) {
                trial.status = 'USER_CANCELED';
            }
            else {
                trial.status = 'FAILED';
            }"""),
    ),
)
NNI_FIXES = (PARAMETER_DISPATCH, TUNER_CONNECT_TIMEOUT, TRIAL_END_STATUS)


def require_parameter_dispatch_fix() -> None:
    """Strategies refuse to run on an unfixed NNI: trials could train the wrong architecture."""
    if not PARAMETER_DISPATCH.is_applied():
        raise NNIInstallationError(
            "NNI's trial parameter dispatch is not fixed in this environment, so trials running at the same time "
            "could train each other's architectures; fix: run `nni-rl-nas setup` once, then create the experiment again"
        )


def register_strategies() -> list[str]:
    """Register every strategy under its short name for ``tuner: {name: ...}`` in this Python environment."""
    from nni.tools.package_utils import register_algo_meta
    from nni.tools.package_utils.common import AlgoMeta

    from .strategies import STRATEGIES

    for name, strategy in STRATEGIES.items():
        register_algo_meta(AlgoMeta(name=name, alias=None, class_name=f"{strategy.__module__}.{strategy.__qualname__}",
                                    accept_class_args=True, class_args=None, validator_class_name=None,
                                    algo_type="tuner", is_advisor=False, is_builtin=False, nni_version="3.0"))
    return list(STRATEGIES)
