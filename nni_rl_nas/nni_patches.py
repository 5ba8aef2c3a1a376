"""The fixes ``nni-rl-nas setup`` makes to NNI 3.0's installed files, and the check that they are in.

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

**Tuner failures reach the experiment's status.** NNI 3.0's dispatcher logs an exception that
the tuner raises while handling a command and stops reading commands, but tells the NNI manager
nothing, so the experiment sits at RUNNING with no trials; and when the tuner does report an
error, the manager replaces its text by "Dispatcher stream error, tuner may have crashed.". The
fix reports the exception to the manager, which puts its last line (``ConfigError: ...``) into
the experiment's status (ERROR), shown by ``nnictl`` and the web UI and in the REST API's
``check-status``.

**Trials end when the experiment fails.** When the experiment enters ERROR (a tuner that fails,
for example on a resume whose saved state is unreadable), NNI 3.0 stops polling its trials: those
running, and those a resume queued to run again, stay RUNNING in its records forever, even after
``nnictl stop``. Nothing can receive their results any more, so the fix cancels them once the
manager's trial loop has ended and records each as SYS_CANCELED.

**A finished tuner ends the experiment DONE.** NNI 3.0 marks an experiment DONE only once
``maxTrialNumber`` trials have run; a tuner that proposes fewer (a race whose trial count depends
on the scores) leaves it at TUNER_NO_MORE_TRIAL forever, with every trial ended. The fix lets a
tuner say that it has finished (its ``finished`` attribute, sent with its "no more trials"), and
the manager then ends the experiment DONE once the trials it submitted have ended.

**The web UI listens on loopback.** NNI 3.0's web server, and with it the REST API that can
read the logs, stop the experiment, kill trials and change the search space, listens on every
interface with no login. The fix binds it to 127.0.0.1 unless the environment of ``nnictl``
names another address in ``NNI_RL_NAS_WEB_HOST`` (``0.0.0.0``: every interface, as NNI did;
needed when trials on other machines report to this one).

**Validation at ``nnictl create``.** NNI 3.0 never calls the ``ClassArgsValidator`` that a
registered algorithm names. The fix makes ``nnictl create`` call it, with the config file,
before anything starts: a bad config is refused with the validator's message and exit status 1,
and no experiment is created.

**Configs read strictly at ``nnictl create``.** NNI 3.0 reads the YAML before anything checks it:
a file that is not UTF-8 text ends in a ``UnicodeDecodeError`` traceback, and an empty one, or
one holding a list, in an ``AttributeError``. The fix refuses each in one line naming the file
and the fix, exit status 1; our validator then refuses a key given twice.

Each fix replaces exact snippets of NNI 3.0's file; any other content is left alone and
reported, so a different NNI version fails loudly instead of being mis-patched.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from .files import write_atomically

logger = logging.getLogger(__name__)


class NniInstallationError(RuntimeError):
    """The installed NNI is not the one this project can fix, or a fix is missing."""


@dataclass(frozen=True)
class SourcePatch:
    """Exact replacements in one file of NNI's Node code, recognised afterwards by a marker comment."""

    name: str
    relative_path: str  # under the installed package ``package``
    marker: str
    replacements: tuple[tuple[str, str], ...]
    package: str = "nni_node"

    def path(self) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or spec.origin is None:
            raise NniInstallationError(f"{self.package} is not installed; fix: pip install nni==3.0")
        return Path(spec.origin).parent / self.relative_path

    def is_applied(self, path: Path | None = None) -> bool:
        return self.marker in (path or self.path()).read_text()

    def apply(self, path: Path | None = None) -> bool:
        """Patch the file in place (atomically). Returns False when it was already patched."""
        path = path or self.path()
        source = path.read_text()
        if self.marker in source:
            return False
        if any(source.count(original) != 1 for original, _ in self.replacements):
            raise NniInstallationError(
                f"{path} is not NNI 3.0's; the {self.name} fix only knows that version. fix: pip install nni==3.0"
            )
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
        (
            """        if (trialId === null) {
            this.parameters.push(form.hyperParameters.value);
        }""",
            f"""        {_DISPATCH_MARKER}
        const newTrialId = (0, require("common/utils").uniqueString)(5);
        if (trialId === null) {{
            this.allocatedParameters.set(newTrialId, form.hyperParameters.value);
        }}""",
        ),
        (
            """trialId = await this.v3.createTrial(envId, this.config.trialCommand, 'trial_code', form.sequenceId);""",
            """trialId = await this.v3.createTrial(envId, this.config.trialCommand, 'trial_code', form.sequenceId, newTrialId);""",
        ),
    ),
)

_TIMEOUT_MARKER = "/* nni-rl-nas: tuner start-up allowance */"
TUNER_CONNECT_TIMEOUT = SourcePatch(
    name="tuner start-up time",
    relative_path="core/tuner_command_channel.js",
    marker=_TIMEOUT_MARKER,
    replacements=(
        (
            "const msg = 'Tuner did not connect in 10 seconds. Please check tuner (dispatcher) log.';",
            "const msg = 'Tuner did not connect in 120 seconds. Please check tuner (dispatcher) log.';",
        ),
        (
            "            }, 10000);\n            return this.connect.promise;",
            f"            }}, 120000); {_TIMEOUT_MARKER}\n            return this.connect.promise;",
        ),
    ),
)
_END_STATUS_MARKER = "/* nni-rl-nas: stops flagged before they are sent */"
TRIAL_END_STATUS = SourcePatch(
    name="trial end status",
    relative_path="training_service/v3/compat.js",
    marker=_END_STATUS_MARKER,
    replacements=(
        (
            """    async cancelTrialJob(trialJobId, isEarlyStopped) {
        try {""",
            f"""    async cancelTrialJob(trialJobId, isEarlyStopped) {{
        {_END_STATUS_MARKER}
        this.trialJobs[trialJobId].isEarlyStopped = Boolean(isEarlyStopped);
        this.trialJobs[trialJobId].stopRequested = true;
        try {{""",
        ),
        (
            """    async cleanUp() {
        try {""",
            """    async cleanUp() {
        this.stopping = true;
        try {""",
        ),
        (
            """            else {
                trial.status = 'USER_CANCELED';
            }""",
            """            else if (trial.stopRequested || this.stopping) {
                trial.status = 'USER_CANCELED';
            }
            else {
                trial.status = 'FAILED';
            }""",
        ),
    ),
)
_TUNER_ERROR_MARKER = "/* nni-rl-nas: the tuner's error in the experiment status */"
TUNER_ERROR_STATUS = SourcePatch(
    name="tuner error in the experiment status",
    relative_path="core/nnimanager.js",
    marker=_TUNER_ERROR_MARKER,
    replacements=(
        (
            """            this.criticalError(new Error('Dispatcher stream error, tuner may have crashed.'));""",
            f"""            {_TUNER_ERROR_MARKER}
            const lines = String(error.message || '').trim().split('\\n');
            this.criticalError(new Error('Tuner failed: ' + (lines[lines.length - 1] || 'it may have crashed')));""",
        ),
    ),
)
_FAILED_EXPERIMENT_MARKER = "/* nni-rl-nas: trials end when the experiment fails */"
TRIALS_END_ON_ERROR = SourcePatch(
    name="trials end when the experiment fails",
    relative_path="core/nnimanager.js",
    marker=_FAILED_EXPERIMENT_MARKER,
    replacements=(
        (
            """            await (0, utils_1.delay)(1000 * this.pollInterval);
        }
    }
    storeExperimentProfile() {""",
            f"""            await (0, utils_1.delay)(1000 * this.pollInterval);
        }}
        if (this.status.status === 'ERROR') {{
            await this.endTrialsOfFailedExperiment();
        }}
    }}
    async endTrialsOfFailedExperiment() {{
        {_FAILED_EXPERIMENT_MARKER}
        const reason = this.status.errors.join('; ');
        for (const [trialJobId, detail] of Array.from(this.trialJobs.entries())) {{
            this.log.info(`Trial job ${{trialJobId}} canceled: the experiment failed: ${{reason}}`);
            try {{
                await this.trainingService.cancelTrialJob(trialJobId);
            }}
            catch (error) {{
                this.log.error(`Cannot cancel trial job ${{trialJobId}}: ${{error}}`);
            }}
            this.trialJobs.delete(trialJobId);
            await this.dataStore.storeTrialJobEvent('SYS_CANCELED', trialJobId, undefined,
                Object.assign({{}}, detail, {{ status: 'SYS_CANCELED', endTime: Date.now() }}));
        }}
        for (const form of this.waitingTrials.splice(0)) {{
            if (form.id !== undefined) {{
                this.log.info(`Trial job ${{form.id}} canceled before it ran again: the experiment failed: ${{reason}}`);
                await this.dataStore.storeTrialJobEvent('SYS_CANCELED', form.id, undefined);
            }}
        }}
    }}
    storeExperimentProfile() {{""",
        ),
    ),
)
_WORKER_ERROR_MARKER = "# nni-rl-nas: a tuner's exception is reported to the NNI manager"
DISPATCHER_REPORTS_ERRORS = SourcePatch(
    name="dispatcher reports tuner errors",
    relative_path="runtime/msg_dispatcher_base.py",
    package="nni",
    marker=_WORKER_ERROR_MARKER,
    replacements=(
        (
            """                except Exception as e:
                    _logger.exception(e)
                    self.worker_exceptions.append(e)
                    break""",
            f"""                except Exception as e:
                    _logger.exception(e)
                    self.worker_exceptions.append(e)
                    self.report_error(__import__('traceback').format_exc())  {_WORKER_ERROR_MARKER}
                    break""",
        ),
    ),
)
_CREATE_MARKER = "# nni-rl-nas: the registered ClassArgsValidator checks the config before anything starts"
VALIDATION_AT_CREATE = SourcePatch(
    name="validation at nnictl create",
    relative_path="tools/nnictl/launcher.py",
    package="nni",
    marker=_CREATE_MARKER,
    replacements=(
        (
            """    else:
        config = ExperimentConfig.load(config_file)
""",
            f"""    else:
        _validate_with_registered_validator(config_file)  {_CREATE_MARKER}
        config = ExperimentConfig.load(config_file)
""",
        ),
        (
            """def resume_experiment(args):""",
            f"""def _validate_with_registered_validator(config_file):
    {_CREATE_MARKER}: the tuner's meta is found by
    # its name or its className; a validator with validate_experiment_file(path) reads the whole file.
    import importlib
    from nni.tools.package_utils import get_all_algo_meta
    try:
        tuner = yaml.safe_load(config_file.read_text(encoding='utf_8')).get('tuner') or {{}}
        name, class_name = str(tuner.get('name') or '').lower(), tuner.get('className')
    except Exception:
        return  # NNI's own loading reports what is wrong with the file
    for meta in get_all_algo_meta():
        if meta.validator_class_name and (meta.name.lower() == name or meta.class_name == class_name):
            module, _, validator_class = meta.validator_class_name.rpartition('.')
            validator = getattr(importlib.import_module(module), validator_class)()
            try:
                if hasattr(validator, 'validate_experiment_file'):
                    validator.validate_experiment_file(config_file)
                else:
                    validator.validate_class_args(**(tuner.get('classArgs') or {{}}))
            except Exception as error:
                _logger.error(f'{{config_file}}: {{error}}')
                exit(1)
            return


def resume_experiment(args):""",
        ),
    ),
)
_FINISHED_MARKER = "nni-rl-nas: a finished tuner ends the experiment"
FINISHED_TUNER_SAYS_SO = SourcePatch(
    name="a finished tuner says so",
    relative_path="runtime/msg_dispatcher.py",
    package="nni",
    marker=_FINISHED_MARKER,
    replacements=(
        (
            """            self.send(CommandType.NoMoreTrialJobs, _pack_parameter(ids[0], ''))""",
            f"""            finished = 'finished' if getattr(self.tuner, 'finished', False) is True else ''  # {_FINISHED_MARKER}
            self.send(CommandType.NoMoreTrialJobs, _pack_parameter(ids[0], finished))""",
        ),
    ),
)
FINISHED_TUNER_ENDS_EXPERIMENT = SourcePatch(
    name="a finished tuner ends the experiment",
    relative_path="core/nnimanager.js",
    marker=f"/* {_FINISHED_MARKER} */",
    replacements=(
        (
            """            case commands_1.NO_MORE_TRIAL_JOBS: {
                if (!['ERROR', 'STOPPING', 'STOPPED'].includes(this.status.status)) {
                    this.setStatus('TUNER_NO_MORE_TRIAL');
                }
                break;
            }""",
            f"""            case commands_1.NO_MORE_TRIAL_JOBS: {{
                if (!['ERROR', 'STOPPING', 'STOPPED'].includes(this.status.status)) {{
                    this.setStatus('TUNER_NO_MORE_TRIAL');
                }}
                /* {_FINISHED_MARKER} */
                try {{
                    this.tunerFinished = this.tunerFinished === true || JSON.parse(content).parameters === 'finished';
                }}
                catch (error) {{
                    this.log.warning(`Unreadable no-more-trials command: ${{content}}`);
                }}
                break;
            }}""",
        ),
        (
            """            if (this.experimentProfile.execDuration > this.maxDuration ||
                this.currSubmittedTrialNum >= this.maxTrialNum) {""",
            """            if (this.experimentProfile.execDuration > this.maxDuration ||
                this.currSubmittedTrialNum >= this.maxTrialNum ||
                (this.tunerFinished === true && this.waitingTrials.length === 0)) {""",
        ),
    ),
)
_STRICT_READ_MARKER = "# nni-rl-nas: a config that is not UTF-8 text or not a mapping is refused in one line"
CONFIGS_READ_STRICTLY = SourcePatch(
    name="configs read strictly at nnictl create",
    relative_path="tools/nnictl/launcher.py",
    package="nni",
    marker=_STRICT_READ_MARKER,
    replacements=(
        (
            """    with config_file.open(encoding='utf_8') as config:
        config_content = yaml.safe_load(config)
""",
            """    config_content = _read_config_strictly(config_file)
""",
        ),
        (
            """def resume_experiment(args):""",
            f"""def _read_config_strictly(config_file):
    {_STRICT_READ_MARKER}
    def refuse(problem):
        _logger.error(f'{{config_file}}: {{problem}}')
        exit(1)
    data = config_file.read_bytes()
    if data.startswith((b'\\xff\\xfe', b'\\xfe\\xff')):
        refuse('saved as UTF-16, not UTF-8 text; fix: save it as UTF-8')
    try:
        content = yaml.safe_load(data.decode('utf_8'))
    except UnicodeDecodeError as error:
        refuse(f'not UTF-8 text (byte {{error.start}} is {{data[error.start:error.start + 1]!r}}); fix: save it as UTF-8')
    except yaml.YAMLError as error:
        refuse(f'not valid YAML: {{" ".join(str(error).split())}}; fix: correct the YAML there')
    if content is None:
        refuse('empty; fix: an experiment YAML')
    if not isinstance(content, dict):
        refuse(f'holds a {{type(content).__name__}}, not a mapping of experiment fields; fix: an experiment YAML')
    return content


def resume_experiment(args):""",
        ),
    ),
)
WEB_HOST_VARIABLE, DEFAULT_WEB_HOST = "NNI_RL_NAS_WEB_HOST", "127.0.0.1"
_LOOPBACK_MARKER = "/* nni-rl-nas: the web server listens on loopback unless asked */"
WEB_UI_ON_LOOPBACK = SourcePatch(
    name="web UI on loopback",
    relative_path="rest_server/index.js",
    marker=_LOOPBACK_MARKER,
    replacements=(
        (
            """        this.server = app.listen(this.port);""",
            f"""        {_LOOPBACK_MARKER}
        this.server = app.listen(this.port, process.env.{WEB_HOST_VARIABLE} || '{DEFAULT_WEB_HOST}');""",
        ),
    ),
)
NNI_FIXES = (
    PARAMETER_DISPATCH,
    TUNER_CONNECT_TIMEOUT,
    TRIAL_END_STATUS,
    TUNER_ERROR_STATUS,
    TRIALS_END_ON_ERROR,
    DISPATCHER_REPORTS_ERRORS,
    VALIDATION_AT_CREATE,
    FINISHED_TUNER_SAYS_SO,
    FINISHED_TUNER_ENDS_EXPERIMENT,
    WEB_UI_ON_LOOPBACK,
    CONFIGS_READ_STRICTLY,
)


def require_nni_fixes() -> None:
    """Our tuners refuse to run on an unfixed NNI: trials could train the wrong architecture."""
    missing = [fix.name for fix in NNI_FIXES if not fix.is_applied()]
    if missing:
        raise NniInstallationError(
            f"NNI is not set up for nni-rl-nas in this Python environment (missing: {', '.join(missing)}); without "
            "it, trials running at the same time could train each other's architectures; fix: run "
            "`nni-rl-nas setup` once, then create the experiment again"
        )
