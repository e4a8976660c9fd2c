"""`pip install` of python/ into a fresh virtual environment, offline, with Debian's python3: the installed package
holds libgroundlmm.so and the toy model and runs from anywhere, with no GROUNDLMM_LIB and no source tree.

Run by CTest (python-pip-install) with GROUNDLMM_LIB = the build's libgroundlmm.so (what setup.py copies),
GLM_SOURCE = the source tree, GLM_TOY_DIR = models/toy, GLM_WORK = a scratch folder. The package is copied out of
the source tree first, so that building it writes nothing there.
"""
import os
import shutil
import subprocess
import sys
import unittest

SOURCE = os.environ["GLM_SOURCE"]
WORK = os.environ["GLM_WORK"]

CHECK = r"""
import json, os, sys
import groundlmm
here = os.path.dirname(groundlmm.__file__)
assert here.startswith(sys.prefix), (here, sys.prefix)
assert groundlmm.lib_path == os.path.join(here, "libgroundlmm.so"), groundlmm.lib_path
with groundlmm.Model.toy(n_threads=2) as m:
    r = m.ground(groundlmm.toy_scene())
print(json.dumps({"answer": r.answer, "phrases": [p.text for p in r.phrases],
                  "masks": sum(p.mask is not None for p in r.phrases), "version": groundlmm.version()}))
"""


class PipInstall(unittest.TestCase):
    def test_offline_install_into_a_venv(self):
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(WORK)
        pkg = os.path.join(WORK, "python")
        shutil.copytree(os.path.join(SOURCE, "python"), pkg,
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "*.so", "toy"))
        venv = os.path.join(WORK, "venv")
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
        py = os.path.join(venv, "bin", "python")
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
                   GROUNDLMM_TOY_DIR=os.environ["GLM_TOY_DIR"])
        env.pop("PYTHONPATH", None)
        subprocess.run([py, "-m", "pip", "install", "--no-index", "--no-build-isolation", pkg], check=True, env=env,
                       cwd=WORK)
        # the installed module, from a folder with nothing of ours, without the build's library or toy paths
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GROUNDLMM_LIB", "GROUNDLMM_TOY_DIR")}
        out = subprocess.run([py, "-c", CHECK], check=True, env=env, cwd=WORK, stdout=subprocess.PIPE,
                             universal_newlines=True).stdout
        import json
        got = json.loads(out.strip().splitlines()[-1])
        self.assertTrue(got["answer"])
        self.assertGreater(len(got["phrases"]), 0)
        self.assertGreater(got["masks"], 0)
        self.assertTrue(got["version"])
        # and it can be uninstalled
        subprocess.run([py, "-m", "pip", "uninstall", "-y", "groundlmm"], check=True, env=env, cwd=WORK,
                       stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    unittest.main(verbosity=2)
