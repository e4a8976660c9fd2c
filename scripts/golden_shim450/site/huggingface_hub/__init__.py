"""Offline stand-in for huggingface_hub, for running transformers v4.50 from source with no network
(scripts/golden_shim450). Nothing here talks to a hub: every name transformers imports exists, the constants have
their real defaults with HF_HUB_OFFLINE on, exception names are Exception subclasses, decorators pass the function
through, and every other function raises when called (see _offline_standin.py). Any submodule
(huggingface_hub.utils._deprecation, ...) is made the same way on first import."""
import os
import re

import _offline_standin

__version__ = "0.26.0"
OfflineStandIn = _offline_standin.OfflineStandIn


def _decorator_factory(*args, **kwargs):
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda fn: fn

_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "huggingface", "hub")
_KNOWN = {
    "HF_HUB_OFFLINE": True, "HF_HUB_DISABLE_TELEMETRY": True, "HF_HUB_CACHE": _CACHE, "HUGGINGFACE_HUB_CACHE": _CACHE,
    "HF_HOME": os.path.dirname(_CACHE), "HF_HUB_ENABLE_HF_TRANSFER": False, "HF_HUB_ETAG_TIMEOUT": 10,
    "HF_HUB_DOWNLOAD_TIMEOUT": 10, "ENDPOINT": "https://offline.invalid", "HUGGINGFACE_CO_RESOLVE_ENDPOINT":
    "https://offline.invalid", "REPO_TYPES": ["model", "dataset", "space"], "REPO_TYPES_URL_PREFIXES": {},
    "REPO_ID_SEPARATOR": "--", "DEFAULT_REVISION": "main", "REGEX_COMMIT_HASH": re.compile(r"^[0-9a-f]{40}$"),
    "SAFETENSORS_SINGLE_FILE": "model.safetensors", "SAFETENSORS_INDEX_FILE": "model.safetensors.index.json",
    "CONFIG_NAME": "config.json", "PYTORCH_WEIGHTS_NAME": "pytorch_model.bin", "_CACHED_NO_EXIST": object(),
    "is_torch_available": lambda: True, "is_tf_available": lambda: False, "is_jinja_available": lambda: False,
    "_deprecate_method": _decorator_factory, "_deprecate_arguments": _decorator_factory,
    "validate_hf_hub_args": _decorator_factory, "experimental": _decorator_factory,
    "are_progress_bars_disabled": lambda *a: True, "disable_progress_bars": lambda *a: None,
    "enable_progress_bars": lambda *a: None,
}

_offline_standin.install(__name__, _KNOWN)
