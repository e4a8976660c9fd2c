"""Stand-in huggingface_hub.file_download."""
import re

from .utils import _Offline

REGEX_COMMIT_HASH = re.compile(r"^[0-9a-f]{40}$")
http_get = _Offline("http_get")
_create_relative_symlink = _Offline("_create_relative_symlink")


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _Offline(name)
