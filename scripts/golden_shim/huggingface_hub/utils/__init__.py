"""Stand-in huggingface_hub.utils: error classes, progress-bar switches, offline callables."""
import requests


class _Offline:
    """A function of huggingface_hub that would reach the network: importable, raises when called."""

    def __init__(self, name):
        self.__name__ = name

    def __call__(self, *a, **k):
        raise RuntimeError(f"huggingface_hub stand-in (scripts/golden_shim): {self.__name__}() needs the network")


class HfHubHTTPError(requests.HTTPError):
    pass


class RepositoryNotFoundError(HfHubHTTPError):
    pass


class GatedRepoError(RepositoryNotFoundError):
    pass


class RevisionNotFoundError(HfHubHTTPError):
    pass


class EntryNotFoundError(HfHubHTTPError):
    pass


class LocalEntryNotFoundError(EntryNotFoundError, FileNotFoundError, ValueError):
    pass


class OfflineModeIsEnabled(ConnectionError):
    pass


class HFValidationError(ValueError):
    pass


_bars_disabled = True


def are_progress_bars_disabled(name=None):
    return _bars_disabled


def enable_progress_bars(name=None):
    global _bars_disabled
    _bars_disabled = False


def disable_progress_bars(name=None):
    global _bars_disabled
    _bars_disabled = True


def build_hf_headers(*a, **k):
    return {}


get_session = _Offline("get_session")
hf_raise_for_status = _Offline("hf_raise_for_status")


def send_telemetry(*a, **k):
    return None


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _Offline(name)
