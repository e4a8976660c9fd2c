"""Stand-in tokenizers (scripts/golden_shim): only so that modules importing its names at load time import.
It has no dist-info, so transformers' is_tokenizers_available() stays False and its pure-Python paths run;
anything here raises when used."""
import sys
import types


class _Unavailable:
    def __init__(self, *a, **k):
        raise RuntimeError(f"tokenizers stand-in (scripts/golden_shim): {type(self).__name__} is not available")


def _stand_in(name):
    return type(name, (_Unavailable,), {})


class _Namespace(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _stand_in(name)


decoders, normalizers, pre_tokenizers, processors, models, trainers = (
    _Namespace(f"tokenizers.{n}") for n in ("decoders", "normalizers", "pre_tokenizers", "processors", "models",
                                             "trainers"))
for _m in (decoders, normalizers, pre_tokenizers, processors, models, trainers):
    sys.modules[_m.__name__] = _m  # `from tokenizers.models import BPE` finds the submodule


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _stand_in(name)
