"""Stand-in for huggingface_hub (scripts/golden_shim): the names transformers imports at load time; nothing
here reaches a network. Any other attribute is a function that raises when called."""
from . import constants, file_download, utils  # noqa: F401
from .utils import _Offline

__version__ = "0.24.6"
_CACHED_NO_EXIST = object()


class ModelCard:
    def __init__(self, *a, **k):
        raise RuntimeError("huggingface_hub stand-in: ModelCard is not available offline")


class ModelCardData(dict):
    pass


class CommitOperationAdd:
    def __init__(self, *a, **k):
        raise RuntimeError("huggingface_hub stand-in: commits are not available offline")


def try_to_load_from_cache(*a, **k):
    return None  # "not cached": callers then look at local paths only


class _StateDictSplit:
    def __init__(self, filename, names):
        self.is_sharded = False
        self.metadata = {}
        self.filename_to_tensors = {filename: list(names)}
        self.tensor_to_filename = {n: filename for n in names}


def split_torch_state_dict_into_shards(state_dict, *, filename_pattern="model{suffix}.safetensors",
                                       max_shard_size=None):
    """One shard always (the goldens' models are tiny): {filename_pattern with suffix ""} holds every tensor."""
    return _StateDictSplit(filename_pattern.format(suffix=""), state_dict.keys())


def get_full_repo_name(model_id, organization=None, token=None):
    return model_id if organization is None else f"{organization}/{model_id}"


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _Offline(name)
