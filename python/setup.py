"""setup.py: puts libgroundlmm.so and the toy model into the package when it is built (pip install ./python).

The library comes from $GROUNDLMM_LIB, else from the source tree's build/lib (cmake --build build --target
groundlmm-shared); the toy model from $GROUNDLMM_TOY_DIR, else the source tree's models/toy. Everything else is in
pyproject.toml. Offline install: docs/python.md.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOY_FILES = ("toy-llm.gguf", "toy-vit.gguf", "scene.png")


def _library():
    path = os.environ.get("GROUNDLMM_LIB") or os.path.join(ROOT, "build", "lib", "libgroundlmm.so")
    if not os.path.isfile(path):
        raise SystemExit("groundlmm: %s not found: build it first (cmake --build build --target groundlmm-shared) "
                         "or set GROUNDLMM_LIB to libgroundlmm.so" % path)
    return path


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        pkg = os.path.join(self.build_lib, "groundlmm")
        shutil.copy2(_library(), os.path.join(pkg, "libgroundlmm.so"))
        toy = os.environ.get("GROUNDLMM_TOY_DIR") or os.path.join(ROOT, "models", "toy")
        if all(os.path.isfile(os.path.join(toy, f)) for f in TOY_FILES):
            os.makedirs(os.path.join(pkg, "toy"), exist_ok=True)
            for f in TOY_FILES:
                shutil.copy2(os.path.join(toy, f), os.path.join(pkg, "toy", f))
        else:
            print("groundlmm: no toy model in %s: Model.toy() will need GROUNDLMM_TOY_DIR" % toy)


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # a platform wheel: the package holds a native library
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
