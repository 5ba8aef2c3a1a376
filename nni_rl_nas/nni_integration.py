"""What ``nni-rl-nas setup`` does to the NNI installation: fix trial parameter dispatch, register strategies.

**Parameter dispatch (NNI issues 5726, 5693).** NNI 3.0's training-service adapter
(``nni_node/training_service/v3/compat.js``) queues each submitted trial's parameters in one
first-in-first-out list and hands the head of that list to whichever trial process asks first.
With more than one trial running, a trial can train another trial's architecture while the web
UI, the REST API and ``trial_end`` attribute it to the trial NNI submitted it for. The same file
already keys parameters by trial id when it resumes a trial; the fix uses that path for new
trials too: it chooses the trial id before creating the trial and files the parameters under it.
The patch replaces two exact snippets of NNI 3.0's file; any other content is left alone and
reported, so a different NNI version fails loudly instead of being mis-patched.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .evaluator.artifacts import write_atomically

logger = logging.getLogger(__name__)

FIX_MARKER = "/* nni-rl-nas: parameters keyed by trial id */"

_QUEUE_ORIGINAL = """        if (trialId === null) {
            this.parameters.push(form.hyperParameters.value);
        }"""
_QUEUE_FIXED = f"""        {FIX_MARKER}
        const newTrialId = (0, require("common/utils").uniqueString)(5);
        if (trialId === null) {{
            this.allocatedParameters.set(newTrialId, form.hyperParameters.value);
        }}"""
_CREATE_ORIGINAL = """trialId = await this.v3.createTrial(envId, this.config.trialCommand, 'trial_code', form.sequenceId);"""
_CREATE_FIXED = """trialId = await this.v3.createTrial(envId, this.config.trialCommand, 'trial_code', form.sequenceId, newTrialId);"""


class NNIInstallationError(RuntimeError):
    """The installed NNI is not the one this project can fix, or the fix is missing."""


def compat_js_path() -> Path:
    import nni_node

    return Path(nni_node.__file__).parent / "training_service" / "v3" / "compat.js"


def parameter_dispatch_fixed(path: Path | None = None) -> bool:
    return FIX_MARKER in (path or compat_js_path()).read_text()


def fix_parameter_dispatch(path: Path | None = None) -> bool:
    """Patch compat.js in place (atomically). Returns False when it was already fixed."""
    path = path or compat_js_path()
    source = path.read_text()
    if FIX_MARKER in source:
        return False
    if source.count(_QUEUE_ORIGINAL) != 1 or source.count(_CREATE_ORIGINAL) != 1:
        raise NNIInstallationError(
            f"{path} is not NNI 3.0's compat.js; the parameter-dispatch fix only knows that version. "
            "fix: pip install nni==3.0"
        )
    fixed = source.replace(_QUEUE_ORIGINAL, _QUEUE_FIXED).replace(_CREATE_ORIGINAL, _CREATE_FIXED)
    write_atomically(path, lambda target: target.write_text(fixed))
    logger.info("fixed NNI's trial parameter dispatch in %s", path)
    return True


def require_parameter_dispatch_fix() -> None:
    """Strategies refuse to run on an unfixed NNI: trials could train the wrong architecture."""
    if not parameter_dispatch_fixed():
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
