"""The machinery of the offline stand-in packages in this folder (scripts/golden_shim450/site): a module whose
unknown attributes are made on first use (known values from a table; names ending in Error/Exception/Warning:
exception classes; CamelCase names: classes that raise when built; UPPER names: None; other names: functions that
raise when called) and a finder that makes any submodule of the package the same way."""
import importlib.abc
import importlib.machinery
import sys
import types


class OfflineStandIn(RuntimeError):
    pass


def _fail(pkg, name):
    def f(*args, **kwargs):
        raise OfflineStandIn(f"{pkg}.{name}: not available (offline stand-in, scripts/golden_shim450)")
    f.__name__ = name
    return f


def install(module_name, known):
    class _Module(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            if name in known:
                v = known[name]
            elif name.endswith("Error") or name.endswith("Exception") or name.endswith("Warning"):
                v = type(name, (OfflineStandIn,), {})
            elif name[:1].isupper() and not name.isupper():
                v = type(name, (), {"__init__": _fail(module_name, name)})
            elif name.isupper():
                v = None
            else:
                v = _fail(module_name, name)
            setattr(self, name, v)
            return v

    class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path=None, target=None):
            if fullname.startswith(module_name + "."):
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            m = _Module(spec.name)
            m.__path__ = []
            return m

        def exec_module(self, module):
            parent, _, child = module.__name__.rpartition(".")
            setattr(sys.modules[parent], child, module)

    sys.meta_path.insert(0, _Finder())
    sys.modules[module_name].__class__ = _Module
